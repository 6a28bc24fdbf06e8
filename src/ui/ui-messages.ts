// Stored (or viewed) session messages as AI SDK v7 `UIMessage`s: each prompt a user message, each
// turn's answer one assistant message with the id, parts and text `toUIMessageStream` streamed for
// that turn, so `useChat({ messages: toUIMessages(view.get().messages) })` after a reload shows
// what the stream showed: text, reasoning, tools, steps, and the question / sub-agent / compaction
// data parts, built by the same helpers the stream uses. Plain objects: `ai` is not needed at run time.

import type { components } from "../../generated/opencode.js";
import type { StoredMessage } from "../session/session.js";
import { addUsage, assistantUsage, contextTokens, questionItems, ZERO_USAGE } from "../turn/map-event.js";
import type { Usage } from "../turn/replies.js";
import type { PendingRequest } from "../views/session-state.js";
import {
  approvalDescriptor,
  assistantMessageId,
  compactionPart,
  permissionInput,
  questionPart,
  subagentMarker,
  subagentPart,
  type OpencodeProviderMetadata,
  type OpencodeUIDataTypes,
  type OpencodeUIMetadata,
} from "./ai-sdk.js";

type Part = components["schemas"]["Part"];
type ToolPart = components["schemas"]["ToolPart"];

/** The parts `toUIMessages` builds (a subset of `ai`'s `UIMessagePart`). */
export type OpencodeUIPart =
  | { type: "step-start" }
  | { type: "text"; text: string; state: "done" }
  | { type: "reasoning"; id: string; text: string; state: "done" }
  | { type: "file"; mediaType: string; url: string; filename?: string }
  | ({ type: "dynamic-tool"; toolName: string; toolCallId: string; title?: string; callProviderMetadata?: OpencodeProviderMetadata } & (
      | { state: "input-streaming"; input: unknown }
      | { state: "input-available"; input: unknown }
      | { state: "approval-requested"; input: unknown; approval: { id: string; descriptor: { permission: string; patterns: string[] } } }
      | { state: "output-available"; input: unknown; output: unknown }
      | { state: "output-error"; input: unknown; errorText: string }
    ))
  | { [K in keyof OpencodeUIDataTypes]: { type: `data-${K}`; id: string; data: OpencodeUIDataTypes[K] } }["question" | "subagent" | "compaction"];

/** Shaped like `ai`'s `UIMessage<OpencodeUIMetadata>`, so it can be handed to `useChat` as is. */
export interface OpencodeUIMessage {
  id: string;
  role: "user" | "assistant";
  metadata?: OpencodeUIMetadata;
  parts: OpencodeUIPart[];
}

export interface ToUIMessagesOptions {
  /** Tool parts left pending or running by a run that ended (a view's `snapshot.interrupted`): shown as failed. */
  interrupted?: ReadonlySet<string>;
  /**
   * Open permission and question requests (a view's `snapshot.pending`): shown as the stream shows
   * them, an approval request on their tool call (or a part of its own) and an asked `data-question`
   * carrying the request id to answer.
   */
  pending?: readonly PendingRequest[];
}

/**
 * Converts messages (oldest first) to UI messages. A user message a person sent starts a turn;
 * every assistant message after it (several steps, a compaction's summary and continuation) joins
 * that turn's one assistant UI message, `<userMessageID>-reply` as `assistantMessageId` names it.
 */
export function toUIMessages(messages: readonly StoredMessage[], options: ToUIMessagesOptions = {}): OpencodeUIMessage[] {
  const out: OpencodeUIMessage[] = [];
  let reply: OpencodeUIMessage | undefined;
  let turnID: string | undefined;
  let inTurnCompaction = false;
  const replyOf = (sessionID: string, turn: string): OpencodeUIMessage => {
    if (reply === undefined) {
      reply = { id: assistantMessageId({ messageID: turn }), role: "assistant", metadata: { sessionID, turnMessageID: turn }, parts: [] };
      out.push(reply);
    }
    return reply;
  };
  for (const { info, parts } of messages) {
    if (info.role === "user") {
      const compaction = parts.find((p) => p.type === "compaction");
      // The server compacting on its own mid-turn is part of the turn; a `summarize()` between turns is not.
      if (compaction) inTurnCompaction = compaction.auto && turnID !== undefined;
      if (compaction && inTurnCompaction) replyOf(info.sessionID, turnID!).parts.push(compactionPart({ sessionID: info.sessionID, messageID: info.id, auto: true }));
      if (!spokenByPerson(parts)) continue;
      turnID = info.id;
      reply = undefined;
      inTurnCompaction = false;
      out.push({ id: info.id, role: "user", parts: parts.flatMap(userPart) });
      continue;
    }
    // A summary's text never shows; the turn's usage counts it when the compaction was the turn's own.
    if (turnID === undefined || (info.summary === true && !inTurnCompaction)) continue;
    const message = replyOf(info.sessionID, turnID);
    if (info.summary !== true) {
      const shown = lastAttempts(parts).flatMap((part) => assistantPart(part, options.interrupted));
      // Each assistant message that shows something is one step, as the stream makes it.
      if (shown.length > 0) message.parts.push({ type: "step-start" }, ...shown);
    }
    // Summed as the stream's final sums it; the context is the latest step's (a summary's is not).
    const usage: Usage = { ...(message.metadata!.usage ?? ZERO_USAGE) };
    addUsage(usage, assistantUsage(info));
    if (info.summary !== true) usage.contextUsed = contextTokens(info.tokens);
    message.metadata = {
      ...message.metadata!,
      ...(info.summary !== true ? { assistantMessageID: info.id, ...(info.finish ? { finish: info.finish } : {}) } : {}),
      usage,
    };
  }
  const last = reply as OpencodeUIMessage | undefined;
  if (last && options.pending?.length) showPending(last, options.pending);
  return out;
}

/** Open requests belong to the running turn: the last reply. */
function showPending(reply: OpencodeUIMessage, pending: readonly PendingRequest[]): void {
  const root = reply.metadata!.sessionID;
  // Sub-agents started from the shown task calls: a request from one is marked with its parent.
  const parents = new Map(reply.parts.flatMap((p) => (p.type === "data-subagent" ? [[p.data.sessionID, p.data.parentSessionID] as const] : [])));
  const ref = (sessionID: string) => ({ sessionID, ...(parents.has(sessionID) ? { parentSessionID: parents.get(sessionID)! } : {}) });
  for (const request of pending) {
    const callID = request.tool?.callID;
    if (request.kind === "permission") {
      const approval = { id: request.id, descriptor: approvalDescriptor(request) };
      const at = reply.parts.findIndex((p) => p.type === "dynamic-tool" && p.toolCallId === callID && (p.state === "input-streaming" || p.state === "input-available"));
      const tool = reply.parts[at];
      if (tool?.type === "dynamic-tool") {
        // Asked before the input arrived, the stream shows the approval on an empty input.
        reply.parts[at] = { ...tool, state: "approval-requested", input: tool.input ?? {}, approval };
        continue;
      }
      const marker = subagentMarker(root, ref(request.sessionID));
      reply.parts.push({
        type: "dynamic-tool",
        toolName: request.permission,
        toolCallId: request.id,
        state: "approval-requested",
        input: permissionInput(request),
        approval,
        ...(marker ? { callProviderMetadata: marker } : {}),
      });
      continue;
    }
    const at = reply.parts.findIndex((p) => p.type === "data-question" && callID !== undefined && p.id === callID);
    const shown = reply.parts[at];
    const data = { ...ref(request.sessionID), id: request.id, questions: questionItems(request.questions), ...(callID !== undefined ? { callID } : {}), status: "asked" as const };
    const part = questionPart(callID ?? request.id, shown?.type === "data-question" ? { ...shown.data, id: request.id } : data);
    if (at >= 0) reply.parts[at] = part;
    else reply.parts.push(part);
  }
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
  // ai keeps a reasoning block's id on its part (the stream's id: the opencode part's), not a text block's.
  if (part.type === "text") return part.text ? [{ type: "text", text: part.text, state: "done" }] : [];
  if (part.type === "reasoning") return part.text ? [{ type: "reasoning", id: part.id, text: part.text, state: "done" }] : [];
  if (part.type !== "tool") return [];
  return [toolPart(part, interrupted), ...toolData(part, interrupted)];
}

/** The tool's status as shown: one a run that ended left pending or running is an error. */
function shownStatus(part: ToolPart, interrupted: ReadonlySet<string> | undefined): ToolPart["state"]["status"] {
  const { status } = part.state;
  return interrupted?.has(part.id) && (status === "pending" || status === "running") ? "error" : status;
}

function toolPart(part: ToolPart, interrupted: ReadonlySet<string> | undefined): OpencodeUIPart {
  const state = part.state;
  const title = "title" in state && state.title ? { title: state.title } : {};
  const base = { type: "dynamic-tool" as const, toolName: part.tool || "unknown", toolCallId: part.callID ?? part.id, ...title };
  if (shownStatus(part, interrupted) !== state.status) return { ...base, state: "output-error", input: state.input, errorText: "interrupted" };
  switch (state.status) {
    case "pending":
      return { ...base, state: "input-streaming", input: undefined };
    case "running":
      return { ...base, state: "input-available", input: state.input };
    case "completed":
      return { ...base, state: "output-available", input: state.input, output: state.output };
    case "error":
      return { ...base, state: "output-error", input: state.input, errorText: state.error };
  }
}

/**
 * What the stream showed next to a tool part, as far as storage proves it: the question the
 * `question` tool asked (with the stored answers), the sub-agent a `task` call started. Interrupted,
 * a question can no longer be answered and a sub-agent has failed.
 */
function toolData(part: ToolPart, interrupted: ReadonlySet<string> | undefined): OpencodeUIPart[] {
  const { state } = part;
  const status = shownStatus(part, interrupted);
  const input: Record<string, unknown> = state.input ?? {};
  const metadata = "metadata" in state ? (state.metadata as Record<string, unknown> | undefined) : undefined;
  if (part.tool === "question" && status !== "pending" && isQuestionList(input["questions"])) {
    const answers = metadata?.["answers"];
    return [
      questionPart(part.callID, {
        sessionID: part.sessionID,
        questions: questionItems(input["questions"]),
        callID: part.callID,
        // A question rejected (or stopped) ends its tool with an error.
        status: status === "completed" ? "answered" : status === "error" ? "rejected" : "asked",
        ...(status === "completed" && isAnswerList(answers) ? { answers } : {}),
      }),
    ];
  }
  const child = metadata?.["sessionId"];
  if (part.tool === "task" && typeof child === "string") {
    return [
      subagentPart({
        sessionID: child,
        parentSessionID: part.sessionID,
        ...(typeof input["subagent_type"] === "string" ? { agent: input["subagent_type"] } : {}),
        ...(typeof input["description"] === "string" ? { description: input["description"] } : {}),
        status: status === "completed" ? "idle" : status === "error" ? "error" : "started",
        callID: part.callID,
      }),
    ];
  }
  return [];
}

type QuestionInfo = components["schemas"]["QuestionInfo"];

/** Stored tool input is whatever the model sent: only a well-formed question list is shown. */
function isQuestionList(value: unknown): value is QuestionInfo[] {
  return (
    Array.isArray(value) &&
    value.every(
      (q: Partial<Record<keyof QuestionInfo, unknown>> | null) =>
        typeof q === "object" &&
        q !== null &&
        typeof q.header === "string" &&
        typeof q.question === "string" &&
        (q.multiple === undefined || typeof q.multiple === "boolean") &&
        (q.custom === undefined || typeof q.custom === "boolean") &&
        Array.isArray(q.options) &&
        q.options.every((o: { label?: unknown; description?: unknown } | null) => typeof o === "object" && o !== null && typeof o.label === "string" && typeof o.description === "string"),
    )
  );
}

function isAnswerList(value: unknown): value is string[][] {
  return Array.isArray(value) && value.every((answer) => Array.isArray(answer) && answer.every((label) => typeof label === "string"));
}
