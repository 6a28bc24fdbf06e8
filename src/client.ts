// `createClient`: the object apps hold. Owns the transport (and so the sockets) and the shared
// event stream; every operation of the server's spec is reachable through the typed `request`.

import type { ClientOptions } from "./http/options.js";
import type { HttpMethod, InitArgs, PathsWithMethod, ResponseData, TypedRequest } from "./http/paths.js";
import { Transport, type RawRequest } from "./http/transport.js";
import { EventHub, type EventHubOptions } from "./events/hub.js";
import { MessageIDs } from "./session/ids.js";
import { SessionMutex } from "./session/mutex.js";
import { Sessions } from "./session/session.js";

export interface OpencodeClientOptions extends ClientOptions {
  /** The `/event` stream: silence watchdog, subscriber queue bound, ready timeout, reconnect backoff. */
  events?: EventHubOptions;
}

export class OpencodeClient {
  readonly transport: Transport;
  /** The shared `/event` stream: `client.events.subscribe({ sessionID, types, signal })`. */
  readonly events: EventHub;
  /** `client.session.create({ title })`, `.get(id)`, `.list()`: handles that prompt and stream turns. */
  readonly session: Sessions;

  constructor(options: OpencodeClientOptions = {}) {
    this.transport = new Transport(options);
    this.events = new EventHub(this.transport, options.events);
    this.session = new Sessions({
      request: this.request.bind(this) as TypedRequest,
      events: this.events,
      mutex: new SessionMutex(),
      logger: this.transport.options.logger,
      ids: new MessageIDs(),
    });
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
    await this.events.close();
    await this.transport.close();
  }
}

export function createClient(options: OpencodeClientOptions = {}): OpencodeClient {
  return new OpencodeClient(options);
}
