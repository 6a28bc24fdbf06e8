// Browser-side reader of a re-broadcast turn (`opencode-serve-client/browser`): turns the SSE
// response of `toSSEResponse` / `pipeTurnToNodeResponse` back into replies, and reconnects with
// Last-Event-ID when the stream drops, so no reply is lost or repeated. No Node imports.

import { createParser, type EventSourceMessage } from "eventsource-parser";
import type { ConnectionState } from "../events/types.js";
import { StreamError } from "../http/errors.js";
import { backoffMs } from "../http/retry.js";
import type { WireReply, WireState } from "./wire.js";

export type { WireReply, WireError, WireState, FramePosition } from "./wire.js";
export { parseFrameId, frameId } from "./wire.js";
export type { TextCursor } from "./wire.js";
export type { ConnectionState } from "../events/types.js";
export { OpencodeError, StreamError } from "../http/errors.js";

export interface ReadRepliesOptions {
  /**
   * Called with the server-side event stream's state, and with "reconnecting" / "open" while this
   * reader itself reconnects after its stream to the app server dropped.
   */
  onState?: (state: ConnectionState) => void;
  signal?: AbortSignal;
  /**
   * Where to reconnect (GET with `Last-Event-ID`) when the stream drops before the turn ended: a
   * URL, or a function making the request. Default: the response's `opencode-resume` header
   * (`SSEOptions.resumeUrl`); without either, a dropped stream is an error.
   */
  resume?: string | URL | ((lastEventId: string, signal: AbortSignal | undefined) => Promise<Response>);
  /**
   * Called with the turn's ids when its stream names it (first of all frames). A page that keeps
   * them (e.g. in `sessionStorage`) can show the whole turn again after a reload: a GET to the
   * resume URL with `Last-Event-ID: frameId({ sessionID, messageID, seq: 0 })` answers every reply
   * from the start, then live — from any app process.
   */
  onTurn?: (turn: { sessionID: string; messageID: string }) => void;
  /** Reconnect attempts in a row before giving up. Default 8. */
  maxReconnects?: number;
  /** First wait before reconnecting; doubles per failed attempt (with jitter), capped at 5 s. Default 250 ms. */
  reconnectDelayMs?: number;
}

/** The app server has no resumable turn for this stream any more (unknown, or its frames were dropped). */
export class ResumeError extends StreamError {
  override readonly name = "ResumeError";
  constructor(message: string, readonly status?: number) {
    super(message);
  }
}

function check(source: Response): ReadableStream<Uint8Array> {
  if (!source.ok) throw new ResumeError(`reply stream answered ${source.status}`, source.status);
  const type = source.headers.get("content-type") ?? "";
  if (!type.includes("text/event-stream")) throw new StreamError(`reply stream has content-type ${type || "none"}, not text/event-stream`);
  if (!source.body) throw new StreamError("reply stream has no body");
  return source.body;
}

/**
 * Yields the replies of a re-broadcast turn in order, ending after the terminal one. Reconnects by
 * itself when the stream drops (see `resume`). Throws if the response is not a successful event
 * stream, or the stream cannot be resumed.
 */
export async function* readReplies(
  source: Response | ReadableStream<Uint8Array>,
  options: ReadRepliesOptions = {},
): AsyncGenerator<WireReply, void, undefined> {
  const signal = options.signal;
  let body = source instanceof ReadableStream ? source : check(source);
  const header = source instanceof Response ? source.headers.get("opencode-resume") : null;
  const resume = options.resume ?? header ?? undefined;
  let lastEventId: string | undefined;
  let failures = 0;

  for (;;) {
    const pending: { id: string | undefined; reply: WireReply }[] = [];
    let gone: string | undefined;
    const parser = createParser({
      onEvent(message: EventSourceMessage) {
        if (message.event === "state") {
          options.onState?.((JSON.parse(message.data) as WireState).state);
        } else if (message.event === "reply") {
          pending.push({ id: message.id, reply: JSON.parse(message.data) as WireReply });
        } else if (message.event === "turn") {
          lastEventId = message.id ?? lastEventId;
          options.onTurn?.(JSON.parse(message.data) as { sessionID: string; messageID: string });
        } else if (message.event === "gone") {
          gone = (JSON.parse(message.data) as { message?: string }).message ?? "the turn can no longer be resumed";
        }
      },
    });
    const reader = body.getReader();
    const decoder = new TextDecoder();
    const onAbort = () => void reader.cancel(signal?.reason).catch(() => {});
    signal?.addEventListener("abort", onAbort, { once: true });
    let dropped: unknown;
    try {
      for (;;) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch (error) {
          dropped = error;
          break;
        }
        const { done, value } = chunk;
        parser.feed(decoder.decode(value, { stream: !done }));
        while (pending.length) {
          // One chunk can carry several replies: none is handed out after the caller aborted.
          if (signal?.aborted) return;
          const { id, reply } = pending.shift()!;
          // Only a frame the caller has seen counts as delivered: a reconnect resumes after it.
          lastEventId = id ?? lastEventId;
          failures = 0;
          yield reply;
          if (reply.kind === "final" || reply.kind === "error" || signal?.aborted) return;
        }
        if (gone) throw new ResumeError(gone, 410);
        if (done) break;
      }
    } finally {
      signal?.removeEventListener("abort", onAbort);
      await reader.cancel().catch(() => {});
    }
    // Our own signal aborted the fetch: that is a stop, not a failure.
    if (signal?.aborted) return;
    if (resume === undefined || lastEventId === undefined) {
      throw dropped === undefined
        ? new StreamError("reply stream ended before the turn did")
        : new StreamError("reply stream failed while reading", false, { cause: dropped });
    }
    body = await reconnect(resume, lastEventId, options, () => failures++);
    if (signal?.aborted) return;
  }
}

/** Reconnects with backoff; 404/410 (nothing to resume) end it at once. */
async function reconnect(
  resume: NonNullable<ReadRepliesOptions["resume"]>,
  lastEventId: string,
  options: ReadRepliesOptions,
  fail: () => number,
): Promise<ReadableStream<Uint8Array>> {
  const signal = options.signal;
  options.onState?.("reconnecting");
  for (;;) {
    const attempt = fail();
    if (attempt >= (options.maxReconnects ?? 8)) throw new ResumeError(`could not resume the reply stream after ${attempt} attempts`);
    const wait = backoffMs(attempt, { initialMs: options.reconnectDelayMs ?? 250, maxMs: 5_000 });
    await new Promise((resolve) => setTimeout(resolve, wait));
    if (signal?.aborted) return new ReadableStream();
    try {
      const response =
        typeof resume === "function"
          ? await resume(lastEventId, signal)
          : await fetch(resume, { headers: { "last-event-id": lastEventId }, signal: signal ?? null });
      if (response.status === 404 || response.status === 410) {
        throw new ResumeError(`the reply stream cannot be resumed (${response.status}: ${(await response.text()).slice(0, 200)})`, response.status);
      }
      const body = check(response);
      options.onState?.("open");
      return body;
    } catch (error) {
      if (error instanceof ResumeError && (error.status === 404 || error.status === 410)) throw error;
      if (signal?.aborted) return new ReadableStream();
      // Network still down, or the app server restarting: try again.
    }
  }
}
export { approvalsAnswered, type ApprovalMessageLike } from "./ai-sdk.js";
