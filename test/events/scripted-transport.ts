// A Transport whose `/event` responses are scripted Readables instead of sockets, so tests can
// decide exactly which bytes arrive in which chunk.

import { Readable } from "node:stream";
import type { Logger } from "../../src/index.js";
import { Transport, type StreamResponse } from "../../src/http/transport.js";

export class ScriptedTransport extends Transport {
  opened = 0;

  constructor(
    private readonly body: (attempt: number) => Readable,
    logger: Logger = {},
  ) {
    super({ baseUrl: "http://127.0.0.1:9", logger });
  }

  override async openStream(): Promise<StreamResponse> {
    return { status: 200, headers: { "content-type": "text/event-stream" }, body: this.body(this.opened++) };
  }
}

/** A body that delivers `chunks` one `data` event each, then ends. */
export function chunked(chunks: readonly Uint8Array[]): Readable {
  return Readable.from(chunks.map((chunk) => Buffer.from(chunk)));
}
