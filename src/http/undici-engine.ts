// The Node default engine: undici's `dispatcher.request` over a client-owned keep-alive Agent,
// bodies read as Node streams. Faster on the event stream than undici's `fetch` and web streams,
// which is why Node keeps it; only the Node entry (`src/node.ts`) imports this file. Requests share
// a pool of at most `maxConnections` sockets per origin (the transport queues the rest); the event
// stream has an Agent of its own, so a full pool never delays it and it never takes a request's socket.

import { Agent, type Dispatcher } from "undici";
import type { ErrorHeaders } from "./errors.js";
import type { EngineRequest, EngineResponse, HttpEngine } from "./engine.js";
import type { ClientOptions } from "./options.js";

type Body = Dispatcher.ResponseData["body"];

export function undiciEngine(options: ClientOptions, maxConnections: number): HttpEngine {
  const owned = options.dispatcher === undefined;
  // Short keep-alive so a pooled socket is dropped before a server's idle timeout can race a POST.
  const requests = options.dispatcher ?? new Agent({ keepAliveTimeout: 4_000, keepAliveMaxTimeout: 30_000, connections: maxConnections });
  const streams = options.dispatcher ?? new Agent({ keepAliveTimeout: 4_000, keepAliveMaxTimeout: 30_000 });
  return {
    async send(request: EngineRequest): Promise<EngineResponse> {
      const dispatcher = request.stream === true ? streams : requests;
      const response = await dispatcher.request({
        origin: request.url.origin,
        path: request.url.pathname + request.url.search,
        method: request.method as Dispatcher.HttpMethod,
        headers: request.headers,
        body: request.body,
        signal: request.signal,
        // The transport bounds waits itself; the event stream must never hit a body timeout.
        headersTimeout: 0,
        bodyTimeout: 0,
      });
      return new UndiciResponse(response.statusCode, flattenHeaders(response.headers), response.body);
    },
    close: async () => {
      if (owned) await Promise.all([requests.close(), streams.close()]);
    },
  };
}

class UndiciResponse implements EngineResponse {
  constructor(
    readonly status: number,
    readonly headers: ErrorHeaders,
    private readonly body: Body,
  ) {}

  stream(onChunk: (chunk: Uint8Array) => void): Promise<void> {
    const body = this.body;
    return new Promise<void>((resolve, reject) => {
      // 'data' callbacks, not async iteration: one promise per chunk is measurable on the hot path.
      body.on("data", onChunk);
      body.once("end", () => resolve());
      body.once("error", reject);
      // After 'end' this is a no-op; before it, the socket went away without an error.
      body.once("close", () => reject(new Error("the response body closed early")));
    });
  }

  cancel(): void {
    // Destroying an unread body emits an abort error; nobody is waiting for it.
    this.body.on("error", () => {});
    this.body.destroy();
  }
}

function flattenHeaders(headers: Record<string, string | string[] | undefined>): ErrorHeaders {
  const flat: ErrorHeaders = {};
  for (const [key, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    flat[key.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value;
  }
  return flat;
}
