// One typed call of a spec operation over the transport: path, params and body are checked
// against the generated `paths` at compile time; event-stream routes are refused at run time.

import { EventStreamRouteError } from "./errors.js";
import { isEventStreamPath, type HttpMethod, type RequestInitArgs, type RequestPath, type ResponseData } from "./paths.js";
import type { RawRequest, Transport } from "./transport.js";

export function callOperation<M extends HttpMethod, P extends RequestPath<M>>(
  transport: Transport,
  method: M,
  path: P,
  ...[init]: RequestInitArgs<M, P>
): Promise<ResponseData<M, P>> {
  // A JSON request to an SSE route would sit on a body that never ends until its timeout.
  if (isEventStreamPath(path)) return Promise.reject(new EventStreamRouteError(method, path));
  return transport.request(method, path, init as RawRequest | undefined) as Promise<ResponseData<M, P>>;
}
