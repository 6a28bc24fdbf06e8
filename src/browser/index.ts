// Browser-side reader of a re-broadcast turn (`opencode-serve-client/browser`): turns the SSE
// response of `toSSEResponse` / `pipeTurnToNodeResponse` back into replies. No Node imports.

import { createParser, type EventSourceMessage } from "eventsource-parser";
import type { ConnectionState } from "../events/types.js";
import { StreamError } from "../http/errors.js";
import type { WireReply, WireState } from "./wire.js";

export type { WireReply, WireError, WireState } from "./wire.js";
export type { ConnectionState } from "../events/types.js";
export { OpencodeError, StreamError } from "../http/errors.js";

export interface ReadRepliesOptions {
  /** Called with the server-side event stream's state ("reconnecting" while it is down). */
  onState?: (state: ConnectionState) => void;
  signal?: AbortSignal;
}

/**
 * Yields the replies of a re-broadcast turn in order, ending after the terminal one.
 * Throws StreamError if the response is not a successful event stream or ends before a terminal reply.
 */
export async function* readReplies(
  source: Response | ReadableStream<Uint8Array>,
  options: ReadRepliesOptions = {},
): AsyncGenerator<WireReply, void, undefined> {
  let body: ReadableStream<Uint8Array> | null;
  if (source instanceof ReadableStream) body = source;
  else {
    if (!source.ok) throw new StreamError(`reply stream answered ${source.status}`);
    const type = source.headers.get("content-type") ?? "";
    if (!type.includes("text/event-stream")) throw new StreamError(`reply stream has content-type ${type || "none"}, not text/event-stream`);
    body = source.body;
  }
  if (!body) throw new StreamError("reply stream has no body");

  const pending: WireReply[] = [];
  let terminal = false;
  const parser = createParser({
    onEvent(message: EventSourceMessage) {
      if (message.event === "state") {
        const data = JSON.parse(message.data) as WireState;
        options.onState?.(data.state);
      } else if (message.event === "reply") {
        pending.push(JSON.parse(message.data) as WireReply);
      }
    },
  });

  const reader = body.getReader();
  const decoder = new TextDecoder();
  const onAbort = () => void reader.cancel(options.signal?.reason).catch(() => {});
  options.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    while (!terminal) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (error) {
        // Our own signal aborted the fetch: that is a stop, not a failure.
        if (options.signal?.aborted) return;
        throw new StreamError("reply stream failed while reading", false, { cause: error });
      }
      const { done, value } = chunk;
      parser.feed(decoder.decode(value, { stream: !done }));
      // One chunk can carry several replies: none is handed out after the caller aborted.
      while (pending.length) {
        if (options.signal?.aborted) return;
        const reply = pending.shift()!;
        yield reply;
        if (reply.kind === "final" || reply.kind === "error") {
          terminal = true;
          break;
        }
      }
      if (done) break;
    }
    if (!terminal) {
      if (options.signal?.aborted) return;
      throw new StreamError("reply stream ended before the turn did");
    }
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    await reader.cancel().catch(() => {});
  }
}
