// One attempt at the `/event` stream: opens it through the transport (so auth and `directory`
// travel as on requests), decodes bytes as UTF-8 across chunk boundaries, splits SSE frames with
// eventsource-parser and watches for silence. It reports each frame's data and, once, how it
// ended; the hub decides what happens next.

import { createParser, type ParseError } from "eventsource-parser";
import type { Readable } from "node:stream";
import { APIConnectionError, APITimeoutError, OpencodeError, StreamError } from "../http/errors.js";
import type { Logger } from "../http/logger.js";
import type { Transport } from "../http/transport.js";

export type ConnectionEnd =
  /** The server finished the response (e.g. after `server.instance.disposed`, or a restart). */
  | { kind: "ended" }
  /** No bytes for `idleTimeoutMs`, before or after the response headers. */
  | { kind: "stalled"; error: APITimeoutError }
  /** We closed it: the last subscriber left, or the client closed. */
  | { kind: "released" }
  | { kind: "failed"; error: OpencodeError };

export interface FrameSink {
  /** The data of one SSE frame; frames without `data:` lines are never reported. */
  onFrame(data: string): void;
}

export const EVENT_PATH = "/event";

/** A frame longer than this (UTF-16 units) is a broken stream, not something to keep buffering. */
const MAX_FRAME_CHARS = 64 * 1024 * 1024;

export class EventConnection {
  private readonly controller = new AbortController();
  private end: ConnectionEnd | undefined;
  private watchdog: ReturnType<typeof setTimeout> | undefined;
  private body: Readable | undefined;

  constructor(
    private readonly transport: Transport,
    private readonly url: string,
    private readonly idleTimeoutMs: number,
    private readonly logger: Logger,
    private readonly sink: FrameSink,
  ) {}

  /** Connects and reads until the stream ends, fails, stalls or is stopped. Never rejects. */
  async run(): Promise<ConnectionEnd> {
    this.watchdog = setTimeout(() => this.stop({ kind: "stalled", error: this.stallError() }), this.idleTimeoutMs);
    let body: Readable;
    try {
      // timeoutMs 0: the transport's connect timeout would also cut the body; the watchdog covers connecting.
      const response = await this.transport.openStream(EVENT_PATH, { signal: this.controller.signal, timeoutMs: 0 });
      body = response.body;
      const contentType = response.headers["content-type"];
      if (contentType !== undefined && !/^text\/event-stream\b/i.test(contentType)) {
        discard(body);
        const error = new StreamError(`GET ${EVENT_PATH} answered ${response.status} with ${contentType}, not an event stream`);
        return this.finish({ kind: "failed", error });
      }
    } catch (error) {
      return this.finish({ kind: "failed", error: asOpencodeError(error, this.url) });
    }
    if (this.end !== undefined) {
      discard(body);
      return this.finish(this.end);
    }
    this.body = body;
    return new Promise<ConnectionEnd>((resolve) => this.read(body, resolve));
  }

  /** Ends the connection now; `run()` resolves with `end` (the first stop wins). */
  stop(end: ConnectionEnd): void {
    if (this.end !== undefined) return;
    this.end = end;
    clearTimeout(this.watchdog);
    this.controller.abort();
    this.body?.destroy();
  }

  private read(body: Readable, resolve: (end: ConnectionEnd) => void): void {
    const decoder = new TextDecoder();
    const sink = this.sink;
    const parser = createParser({
      onEvent: (message) => {
        if (this.end === undefined) sink.onFrame(message.data);
      },
      onError: (error: ParseError) => {
        if (error.type === "max-buffer-size-exceeded") {
          this.stop({ kind: "failed", error: new StreamError(`an event frame exceeded ${MAX_FRAME_CHARS} characters`, true) });
        } else {
          this.logger.warn?.(`skipped a malformed SSE line: ${error.message}`, { line: error.line?.slice(0, 200) });
        }
      },
      maxBufferSize: MAX_FRAME_CHARS,
    });
    const watchdog = this.watchdog!;
    let settled = false;
    const settle = (end: ConnectionEnd) => {
      if (settled) return;
      settled = true;
      clearTimeout(watchdog);
      resolve(this.end ?? end);
    };
    body.on("data", (chunk: Uint8Array) => {
      watchdog.refresh();
      if (this.end === undefined) parser.feed(decoder.decode(chunk, { stream: true }));
    });
    body.once("end", () => {
      // An unterminated last frame is dropped, as the SSE spec says; the flush only completes a split character.
      if (this.end === undefined) parser.feed(decoder.decode());
      settle({ kind: "ended" });
    });
    body.once("error", (error) => settle({ kind: "failed", error: asOpencodeError(error, this.url) }));
    body.once("close", () =>
      settle({ kind: "failed", error: new APIConnectionError("GET", this.url, new Error("the event stream closed early")) }),
    );
  }

  private finish(end: ConnectionEnd): ConnectionEnd {
    clearTimeout(this.watchdog);
    return this.end ?? end;
  }

  private stallError(): APITimeoutError {
    const error = new APITimeoutError("GET", this.url, this.idleTimeoutMs);
    error.message = `GET ${EVENT_PATH}: no bytes from the server for ${this.idleTimeoutMs} ms`;
    return error;
  }
}

/** Destroying an unread undici body emits an abort error; nobody is waiting for it. */
function discard(body: Readable): void {
  body.on("error", () => {});
  body.destroy();
}

function asOpencodeError(error: unknown, url: string): OpencodeError {
  return error instanceof OpencodeError ? error : new APIConnectionError("GET", url, error);
}
