// A Transport whose `/event` responses are scripted chunk lists instead of sockets, so tests can
// decide exactly which bytes arrive in which chunk.

import type { Logger } from "../../src/index.js";
import { Transport, type StreamResponse } from "../../src/http/transport.js";

export class ScriptedTransport extends Transport {
  opened = 0;

  constructor(
    private readonly body: (attempt: number) => StreamResponse,
    logger: Logger = {},
  ) {
    super({ baseUrl: "http://127.0.0.1:9", logger });
  }

  override async openStream(): Promise<StreamResponse> {
    return this.body(this.opened++);
  }
}

/** An event-stream response that delivers `chunks` in order, after the caller starts reading, then ends. */
export function chunked(chunks: readonly Uint8Array[]): StreamResponse {
  let cancelled = false;
  return {
    status: 200,
    headers: { "content-type": "text/event-stream" },
    async stream(onChunk) {
      await Promise.resolve();
      for (const chunk of chunks) {
        if (cancelled) return;
        onChunk(chunk);
      }
    },
    cancel() {
      cancelled = true;
    },
  };
}
