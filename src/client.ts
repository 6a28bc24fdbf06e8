// `createClient`: the object apps hold. Owns the transport (and so the sockets); every
// operation of the server's spec is reachable through the typed `request`.

import type { ClientOptions } from "./http/options.js";
import type { HttpMethod, InitArgs, PathsWithMethod, ResponseData } from "./http/paths.js";
import { Transport, type RawRequest } from "./http/transport.js";

export class OpencodeClient {
  readonly transport: Transport;

  constructor(options: ClientOptions = {}) {
    this.transport = new Transport(options);
  }

  /**
   * Calls any operation of the opencode spec, typed over the generated `paths`:
   * `client.request("get", "/session/{sessionID}", { path: { sessionID } })`.
   */
  request<M extends HttpMethod, P extends PathsWithMethod<M>>(
    method: M,
    path: P,
    ...[init]: InitArgs<M, P>
  ): Promise<ResponseData<M, P>> {
    return this.transport.request(method, path, init as RawRequest | undefined) as Promise<ResponseData<M, P>>;
  }

  /** Closes the event stream and the client's sockets. Safe to call more than once. */
  async close(): Promise<void> {
    await this.transport.close();
  }
}

export function createClient(options: ClientOptions = {}): OpencodeClient {
  return new OpencodeClient(options);
}
