// The engine over WHATWG `fetch` and `ReadableStream`: what the client uses in browsers, Deno,
// Bun and workers, and on Node when a `fetch` is injected. No Node API anywhere in here.

import type { ErrorHeaders } from "./errors.js";
import type { EngineRequest, EngineResponse, HttpEngine } from "./engine.js";

/** The subset of `fetch` the engine calls, so wrapped or polyfilled fetches fit. */
export type FetchFunction = (input: string, init: RequestInit) => Promise<Response>;

export function fetchEngine(fetchFunction: FetchFunction): HttpEngine {
  return {
    async send(request: EngineRequest): Promise<EngineResponse> {
      const init: RequestInit = { method: request.method, headers: request.headers };
      if (request.body !== undefined) init.body = request.body;
      if (request.signal !== undefined) init.signal = request.signal;
      return new FetchResponse(await fetchFunction(request.url.href, init));
    },
    close: () => Promise.resolve(),
  };
}

class FetchResponse implements EngineResponse {
  readonly status: number;
  readonly headers: ErrorHeaders;
  private reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  private cancelled = false;

  constructor(private readonly response: Response) {
    this.status = response.status;
    const headers: ErrorHeaders = {};
    // Headers already joins repeated values with ", " and lower-cases names.
    response.headers.forEach((value, key) => (headers[key] = value));
    this.headers = headers;
  }

  text(): Promise<string> {
    return this.response.text();
  }

  async stream(onChunk: (chunk: Uint8Array) => void): Promise<void> {
    const body = this.response.body;
    if (body === null || this.cancelled) return;
    const reader = body.getReader();
    this.reader = reader;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      onChunk(value);
    }
  }

  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    // A pending read resolves done; nobody waits for the cancel itself, and an aborted fetch rejects it.
    const cancelling = this.reader !== undefined ? this.reader.cancel() : this.response.body?.cancel();
    cancelling?.catch(() => {});
  }
}
