// Helpers for the AI SDK adapter tests: a recorded fixture as a TurnLike, and a Response read the
// way useChat's default transport reads it (ai's own SSE parser, chunk schema and message reader).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createParser } from "eventsource-parser";
import { parseJsonEventStream, readUIMessageStream, uiMessageChunkSchema, type UIMessage, type UIMessageChunk } from "ai";
import { expect } from "vitest";
import type { OpencodeUIMessage } from "../../src/ui/ui-messages.js";
import { initialTurnState, mapEvent } from "../../src/turn/map-event.js";
import type { Reply } from "../../src/turn/replies.js";
import type { TurnLike } from "../../src/ui/ai-sdk.js";

const DIR = fileURLToPath(new URL("../fixtures/", import.meta.url));

/** The replies the codec makes of a recorded turn. */
export function fixtureReplies(name: string): { sessionID: string; messageID: string; replies: Reply[] } {
  const meta = JSON.parse(readFileSync(`${DIR}${name}.json`, "utf8")) as { sessionID: string; userMessageID: string };
  let state = initialTurnState({ sessionID: meta.sessionID, userMessageID: meta.userMessageID });
  const replies: Reply[] = [];
  const parser = createParser({
    onEvent(message) {
      const result = mapEvent(state, JSON.parse(message.data));
      state = result.state;
      replies.push(...result.replies);
    },
  });
  parser.feed(readFileSync(`${DIR}${name}.sse`, "utf8"));
  return { sessionID: meta.sessionID, messageID: meta.userMessageID, replies };
}

export function turnOf(sessionID: string, messageID: string, replies: Reply[]): TurnLike & { aborted: number } {
  return {
    sessionID,
    messageID,
    aborted: 0,
    async abort() {
      this.aborted++;
    },
    async *[Symbol.asyncIterator]() {
      for (const reply of replies) {
        await new Promise((resolve) => setTimeout(resolve, 0));
        yield reply;
      }
    },
  };
}

/** Chunks of a UI message stream Response, parsed and validated with ai's own schema (as DefaultChatTransport does). */
export async function chunksOfResponse(response: Response): Promise<UIMessageChunk[]> {
  const out: UIMessageChunk[] = [];
  const reader = parseJsonEventStream({ stream: response.body!, schema: uiMessageChunkSchema }).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return out;
    if (!value.success) throw value.error;
    out.push(value.value);
  }
}

/** The final UIMessage ai's reader builds from the chunks, plus every error it reported. */
export async function messageOf(chunks: UIMessageChunk[], message?: UIMessage): Promise<{ message: UIMessage | undefined; errors: string[] }> {
  const errors: string[] = [];
  const stream = new ReadableStream<UIMessageChunk>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
  let last: UIMessage | undefined;
  for await (const m of readUIMessageStream({ stream, ...(message ? { message } : {}), onError: (e) => errors.push(String(e)) })) last = m;
  return { message: last, errors };
}

/**
 * The streamed message less what storage does not keep (docs/uis.md, "What a reload cannot show"):
 * retry notices, answered permission approvals (their request ids and answers, so a denial shows
 * as the tool's stored error; a sub-agent's permission is a part of its own), an answered
 * question's request id. Open requests stay: a
 * view's `pending` shows them.
 */
function reloadable(parts: readonly UIMessage["parts"][number][]): unknown[] {
  return parts.flatMap((part): unknown[] => {
    if (part.type === "data-retry") return [];
    if (part.type === "dynamic-tool" && part.approval && part.state !== "approval-requested") {
      if (part.approval.id === part.toolCallId) return [];
      const { approval: _approval, ...rest } = part;
      // Denied: storage has the tool's error, not the answer that caused it.
      return [rest.state === "output-denied" ? { ...rest, state: "output-error", errorText: expect.any(String) } : rest];
    }
    if (part.type === "data-question") {
      const { id: _id, ...data } = part.data as { id?: string; status: string };
      return [{ ...part, data: data.status === "asked" ? part.data : data }];
    }
    return [part];
  });
}

/**
 * `toUIMessages`' reply shows every part, id and text the stream showed, less what storage does not
 * keep. `trimsText`: the server (before 1.14) stores a text part without its trailing whitespace.
 */
export function expectReloadShows(reloaded: OpencodeUIMessage, streamed: UIMessage, options: { trimsText?: boolean } = {}): void {
  expect(reloaded.id).toBe(streamed.id);
  if (options.trimsText) streamed = { ...streamed, parts: streamed.parts.map((p) => (p.type === "text" ? { ...p, text: p.text.trimEnd() } : p)) };
  // A tool's title streams as it was when its input arrived; storage keeps its last one.
  const titled = new Set(streamed.parts.flatMap((p) => (p.type === "dynamic-tool" && p.title !== undefined ? [p.toolCallId] : [])));
  const parts = reloaded.parts.map((p) => (p.type === "dynamic-tool" && !titled.has(p.toolCallId) ? { ...p, title: undefined } : p));
  expect(parts).toEqual(reloadable(streamed.parts));
}
