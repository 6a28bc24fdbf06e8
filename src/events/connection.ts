// One attempt at the `/event` stream: opens it through the transport (so auth and `directory`
// travel as on requests), decodes bytes as UTF-8 across chunk boundaries, splits SSE frames with
// eventsource-parser and watches the clock: the opening (headers and `server.connected`) must
// finish within `openTimeoutMs`, and once open the stream may not go silent for `idleTimeoutMs` —
// unless the server still answers requests: then it is slow, not gone, and the stream is kept (up
// to `maxSilenceMs`) instead of adding a reconnect and its catch-up to a server that is behind.
// It reports each frame's data and, once, how it ended; the hub decides what happens next.

import { createParser, type ParseError } from "eventsource-parser";
import { APIConnectionError, APITimeoutError, OpencodeError, ResponseTooLargeError, StreamError } from "../http/errors.js";
import type { Logger } from "../http/logger.js";
import type { StreamResponse, Transport } from "../http/transport.js";

export type ConnectionEnd =
  /** The server finished the response (e.g. after `server.instance.disposed`, or a restart). */
  | { kind: "ended" }
  /** The opening took longer than `openTimeoutMs`, or no bytes came for `idleTimeoutMs` once open. */
  | { kind: "stalled"; error: APITimeoutError }
  /** We closed it: the last subscriber left, or the client closed. */
  | { kind: "released" }
  | { kind: "failed"; error: OpencodeError };

export interface FrameSink {
  /** The data of one SSE frame; frames without `data:` lines are never reported. */
  onFrame(data: string): void;
}

export interface ConnectionLimits {
  /** From the request to the server's `server.connected` frame. */
  openTimeoutMs: number;
  /** Silence once open (heartbeats come every 10 s) after which the server is asked whether it is there. */
  idleTimeoutMs: number;
  /** A frame longer than this (UTF-16 units) is a broken stream, not something to keep buffering. */
  maxFrameChars: number;
  /** Longest silence kept while the server still answers requests. */
  maxSilenceMs: number;
}

/** Whether the server answered anything within the last `withinMs` (asking it if need be, bounded by that time). */
export type LivenessProbe = (withinMs: number) => Promise<boolean>;

export const EVENT_PATH = "/event";
/** Every project's events, each frame `{ directory, payload }`. */
export const GLOBAL_EVENT_PATH = "/global/event";

export class EventConnection {
  readonly #controller = new AbortController();
  #end: ConnectionEnd | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #response: StreamResponse | undefined;
  /** Until the hub sees `server.connected`: the opening deadline applies, not the silence one. */
  #opening = true;
  /** Set per chunk, read only when the timer fires: cheaper than re-arming a timer per chunk, and works without Node's `refresh()`. */
  #lastChunkAt = 0;

  readonly #transport: Transport;
  readonly #path: string;
  readonly #url: string;
  readonly #limits: ConnectionLimits;
  readonly #logger: Logger;
  readonly #sink: FrameSink;
  readonly #query: Record<string, string> | undefined;
  readonly #probe: LivenessProbe;

  /**
   * `path` is `/event` or `/global/event`; `query` scopes the stream (`{ directory }` for a project
   * other than the client's); `probe` asks whether a silent server is there.
   */
  constructor(transport: Transport, path: string, limits: ConnectionLimits, logger: Logger, sink: FrameSink, probe: LivenessProbe, query?: Record<string, string>) {
    this.#transport = transport;
    this.#path = path;
    this.#query = query;
    this.#url = transport.displayUrl(transport.url(path, undefined, query)).href;
    this.#limits = limits;
    this.#logger = logger;
    this.#sink = sink;
    this.#probe = probe;
  }

  /** Connects and reads until the stream ends, fails, stalls or is stopped. Never rejects. */
  async run(): Promise<ConnectionEnd> {
    this.#timer = setTimeout(() => this.#openTimedOut(), this.#limits.openTimeoutMs);
    let response: StreamResponse;
    try {
      // timeoutMs 0: the opening deadline here covers the headers (and the first frame after them).
      response = await this.#transport.openStream(this.#path, { signal: this.#controller.signal, timeoutMs: 0, query: this.#query });
    } catch (error) {
      return this.#finish({ kind: "failed", error: asOpencodeError(error, this.#url) });
    }
    if (this.#end !== undefined) {
      response.cancel();
      return this.#finish(this.#end);
    }
    const contentType = response.headers["content-type"];
    if (contentType !== undefined && !/^text\/event-stream\b/i.test(contentType)) {
      response.cancel();
      const error = new StreamError(`GET ${this.#path} answered ${response.status} with ${contentType}, not an event stream`);
      return this.#finish({ kind: "failed", error });
    }
    this.#response = response;
    return this.#read(response);
  }

  /** The hub saw this connection's `server.connected`: from now on only silence ends it. */
  opened(): void {
    if (!this.#opening || this.#end !== undefined) return;
    this.#opening = false;
    this.#lastChunkAt = Date.now();
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#checkSilence(), this.#limits.idleTimeoutMs);
  }

  /** Ends the connection now; `run()` resolves with `end` (the first stop wins). */
  stop(end: ConnectionEnd): void {
    if (this.#end !== undefined) return;
    this.#end = end;
    clearTimeout(this.#timer);
    this.#controller.abort();
    this.#response?.cancel();
  }

  async #read(response: StreamResponse): Promise<ConnectionEnd> {
    const decoder = new TextDecoder();
    const sink = this.#sink;
    const parser = createParser({
      onEvent: (message) => {
        if (this.#end === undefined) sink.onFrame(message.data);
      },
      onError: (error: ParseError) => {
        if (error.type === "max-buffer-size-exceeded") {
          // Retryable: the frame is gone once reconnected (the server does not replay).
          const tooLarge = new ResponseTooLargeError("GET", this.#url, this.#limits.maxFrameChars, "characters", true);
          this.stop({ kind: "failed", error: tooLarge });
        } else {
          this.#logger.warn?.(`skipped a malformed SSE line: ${error.message}`, { line: this.#transport.redact(error.line?.slice(0, 200) ?? "") });
        }
      },
      maxBufferSize: this.#limits.maxFrameChars,
    });
    // A chunk ending in CR may end a line on its own (legal SSE) or be the first half of a CRLF;
    // the parser waits for the next byte to tell, which holds a CR-terminated frame (the opening
    // `server.connected` included) until more bytes come. Such a chunk is fed with its lone CRs
    // as LFs (the same line ends), the last one included, and an LF that then starts the next
    // chunk is the rest of that CRLF, so it is dropped. opencode sends LF: this path is rare.
    let pendingCR = false;
    const feed = (text: string) => {
      if (text === "") return;
      if (pendingCR && text.startsWith("\n")) text = text.slice(1);
      pendingCR = text.endsWith("\r");
      parser.feed(pendingCR ? text.replace(/\r(?!\n)/g, "\n") : text);
    };
    try {
      await response.stream((chunk) => {
        this.#lastChunkAt = Date.now();
        if (this.#end === undefined) feed(decoder.decode(chunk, { stream: true }));
      });
      // An unterminated last frame is dropped, as the SSE spec says; the flush only completes a split character.
      if (this.#end === undefined) feed(decoder.decode());
      return this.#finish({ kind: "ended" });
    } catch (error) {
      return this.#finish({ kind: "failed", error: asOpencodeError(error, this.#url) });
    }
  }

  #finish(end: ConnectionEnd): ConnectionEnd {
    clearTimeout(this.#timer);
    return this.#end ?? end;
  }

  #openTimedOut(): void {
    const error = new APITimeoutError("GET", this.#url, this.#limits.openTimeoutMs);
    error.message = `GET ${this.#path}: the stream did not open (response headers and server.connected) within ${this.#limits.openTimeoutMs} ms`;
    this.stop({ kind: "stalled", error });
  }

  #checkSilence(): void {
    const idle = this.#limits.idleTimeoutMs;
    const quiet = Date.now() - this.#lastChunkAt;
    if (quiet < idle) {
      this.#timer = setTimeout(() => this.#checkSilence(), idle - quiet);
      return;
    }
    const max = this.#limits.maxSilenceMs;
    if (quiet >= max) return this.#stalled(quiet);
    void this.#probe(Math.min(idle, quiet)).then((alive) => {
      if (this.#end !== undefined) return;
      const silent = Date.now() - this.#lastChunkAt;
      if (!alive) return this.#stalled(silent);
      // Slow, not gone: look again after another idle period (or at the bound); a stream that spoke meanwhile restarts the count.
      if (silent >= idle) this.#logger.info?.(`event stream: silent for ${silent} ms but the server answers; waiting for it`);
      this.#timer = setTimeout(() => this.#checkSilence(), Math.max(0, Math.min(idle, max - silent)));
    });
  }

  #stalled(quiet: number): void {
    const error = new APITimeoutError("GET", this.#url, quiet);
    error.message = `GET ${this.#path}: no bytes from the server for ${quiet} ms`;
    this.stop({ kind: "stalled", error });
  }
}

function asOpencodeError(error: unknown, url: string): OpencodeError {
  return error instanceof OpencodeError ? error : new APIConnectionError("GET", url, error);
}
