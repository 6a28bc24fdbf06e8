// Stored (or viewed) session messages as AI SDK v7 `UIMessage`s: each prompt a user message, each
// turn's answer one assistant message with the id, parts and text `toUIMessageStream` streamed for
// that turn, so `useChat({ messages: toUIMessages(view.get().messages) })` after a reload shows
// what the stream showed. Plain objects: `ai` is not needed at run time.

import type { components } from "../../generated/opencode.js";
import type { StoredMessage } from "../session/session.js";
import { assistantMessageId, type OpencodeUIMetadata } from "./ai-sdk.js";

type Part = components["schemas"]["Part"];

/** The parts `toUIMessages` builds (a subset of `ai`'s `UIMessagePart`). */
export type OpencodeUIPart =
  | { type: "step-start" }
  | { type: "text"; text: string; state: "done" }
  | { type: "reasoning"; text: string; state: "done" }
  | { type: "file"; mediaType: string; url: string; filename?: string }
  | ({ type: "dynamic-tool"; toolName: string; toolCallId: string; title?: string } & (
      | { state: "input-streaming"; input: unknown }
      | { state: "input-available"; input: unknown }
      | { state: "output-available"; input: unknown; output: unknown }
      | { state: "output-error"; input: unknown; errorText: string }
    ));

/** Shaped like `ai`'s `UIMessage<OpencodeUIMetadata>`, so it can be handed to `useChat` as is. */
export interface OpencodeUIMessage {
  id: string;
  role: "user" | "assistant";
  metadata?: OpencodeUIMetadata;
  parts: OpencodeUIPart[];
}

/**
 * Converts messages (oldest first) to UI messages. A user message a person sent starts a turn;
 * every assistant message after it (several steps, a compaction's summary and continuation) joins
 * that turn's one assistant UI message, `<userMessageID>-reply` as `assistantMessageId` names it.
 * Tool parts that `interrupted` names (a view's `snapshot.interrupted`) are shown as failed.
 */
export function toUIMessages(messages: readonly StoredMessage[], options: { interrupted?: ReadonlySet<string> } = {}): OpencodeUIMessage[] {
  const out: OpencodeUIMessage[] = [];
  let reply: OpencodeUIMessage | undefined;
  let turnID: string | undefined;
  for (const { info, parts } of messages) {
    if (info.role === "user") {
      if (!spokenByPerson(parts)) continue;
      turnID = info.id;
      reply = undefined;
      out.push({ id: info.id, role: "user", parts: parts.flatMap(userPart) });
      continue;
    }
    if (turnID === undefined || info.summary === true) continue;
    const shown = lastAttempts(parts).flatMap((part) => assistantPart(part, options.interrupted));
    if (reply === undefined) {
      reply = { id: assistantMessageId({ messageID: turnID }), role: "assistant", metadata: { sessionID: info.sessionID, turnMessageID: turnID }, parts: [] };
      out.push(reply);
    }
    // Each assistant message that shows something is one step, as the stream makes it.
    if (shown.length > 0) reply.parts.push({ type: "step-start" }, ...shown);
    const usage = reply.metadata!.usage ?? { input: 0, output: 0, reasoning: 0, cacheRead: 0, cacheWrite: 0, cost: 0 };
    reply.metadata = {
      ...reply.metadata!,
      assistantMessageID: info.id,
      ...(info.finish ? { finish: info.finish } : {}),
      usage: {
        input: usage.input + info.tokens.input,
        output: usage.output + info.tokens.output,
        reasoning: usage.reasoning + info.tokens.reasoning,
        cacheRead: usage.cacheRead + info.tokens.cache.read,
        cacheWrite: usage.cacheWrite + info.tokens.cache.write,
        cost: usage.cost + (info.cost ?? 0),
      },
    };
  }
  return out;
}

/**
 * A provider retry starts the step again inside the same message: the failed attempt is the run of
 * parts from a `step-start` to the next `step-start` with no `step-finish` between. The stream
 * retracts it (`reset-step`), so it is left out here too.
 */
function lastAttempts(parts: readonly Part[]): Part[] {
  const kept: Part[] = [];
  let attempt: Part[] = [];
  for (const part of parts) {
    if (part.type === "step-start") attempt = [];
    else if (part.type === "step-finish") {
      kept.push(...attempt);
      attempt = [];
    } else attempt.push(part);
  }
  return [...kept, ...attempt];
}

/** A prompt, not a compaction or the synthetic continuation the server adds after one. */
function spokenByPerson(parts: readonly Part[]): boolean {
  return !parts.some((p) => p.type === "compaction") && parts.some((p) => (p.type === "text" && !p.synthetic) || p.type === "file");
}

function userPart(part: Part): OpencodeUIPart[] {
  if (part.type === "text" && !part.synthetic) return [{ type: "text", text: part.text, state: "done" }];
  if (part.type === "file") return [{ type: "file", mediaType: part.mime, url: part.url, ...(part.filename ? { filename: part.filename } : {}) }];
  return [];
}

function assistantPart(part: Part, interrupted: ReadonlySet<string> | undefined): OpencodeUIPart[] {
  // The stream opens a text block on its first delta: an empty part never shows.
  if (part.type === "text" || part.type === "reasoning") return part.text ? [{ type: part.type, text: part.text, state: "done" }] : [];
  if (part.type !== "tool") return [];
  const base = { type: "dynamic-tool" as const, toolName: part.tool || "unknown", toolCallId: part.callID ?? part.id };
  const state = part.state;
  if (interrupted?.has(part.id) && (state.status === "pending" || state.status === "running")) {
    return [{ ...base, state: "output-error", input: state.input, errorText: "interrupted" }];
  }
  switch (state.status) {
    case "pending":
      return [{ ...base, state: "input-streaming", input: undefined }];
    case "running":
      return [{ ...base, state: "input-available", input: state.input }];
    case "completed":
      return [{ ...base, state: "output-available", input: state.input, output: state.output }];
    case "error":
      return [{ ...base, state: "output-error", input: state.input, errorText: state.error }];
  }
}
