// A turn as the AI SDK's UI message stream (the protocol `useChat` from `@ai-sdk/react` reads):
// text and reasoning blocks, opencode's tools as dynamic tools, permission requests as tool
// approval requests, questions / sub-agents / compaction / retries as typed data parts, usage and
// cost as message metadata. The chunks are plain JSON we build ourselves: `ai` is not needed at run time.

import type { PermissionResponse, Session } from "../session/session.js";
import type { Turn } from "../turn/turn.js";
import type { FilePartInput } from "../session/attachments.js";
import type { QuestionItem, Reply, SubagentReply, Usage } from "../turn/replies.js";
import { AbortedError } from "../turn/errors.js";
import { browserSafeMessage, filterToolReply, frameId, parseFrameId, toWireError, type WireError, type WireOptions } from "../browser/wire.js";
import { TurnReplays, type ReplayOptions, type TurnReplay } from "./replay.js";
import { abandonOnLeave, sseWebBody, type LeaveOptions, type SSEProducer } from "./sse-body.js";

/** Marks the parts a sub-agent (child session) produced: `part.providerMetadata.opencode.sessionID`. */
// A type alias, not an interface: only those are assignable to ai's index-signature JSON types.
export type OpencodeProviderMetadata = {
  opencode: { sessionID: string; parentSessionID?: string };
};

export interface QuestionData {
  /**
   * The request id, to answer it with. `toUIMessages` leaves it out of a question answered before
   * the reload: storage keeps the question's tool call, not its request id.
   */
  id?: string;
  sessionID: string;
  parentSessionID?: string;
  questions: QuestionItem[];
  /** The `question` tool call it belongs to. */
  callID?: string;
  status: "asked" | "answered" | "rejected";
  answers?: string[][];
}

export interface SubagentData {
  sessionID: string;
  parentSessionID: string;
  agent?: string;
  description?: string;
  status: SubagentReply["status"];
  callID?: string;
  error?: WireError;
}

export interface CompactionData {
  sessionID: string;
  messageID: string;
  auto: boolean;
}

export interface RetryData {
  attempt: number;
  message: string;
  /** Epoch ms of the next attempt. */
  next: number;
}

/** The data parts this adapter sends (`data-question`, …): the DATA_TYPES of `UIMessage` (an alias, so it fits ai's record type). */
export type OpencodeUIDataTypes = {
  question: QuestionData;
  subagent: SubagentData;
  compaction: CompactionData;
  retry: RetryData;
};

/** The METADATA of `UIMessage`: filled at `start`, completed at `finish` (or on error). */
export interface OpencodeUIMetadata {
  sessionID: string;
  /** The turn's user message in opencode. */
  turnMessageID: string;
  /** opencode's id of the turn's last assistant message. */
  assistantMessageID?: string;
  finish?: string;
  /** Summed over the root session's assistant messages of the turn. */
  usage?: Usage;
  /** Summed over every sub-agent's assistant messages. */
  subagentUsage?: Usage;
  /** USD: `usage.cost + subagentUsage.cost`. */
  cost?: number;
  error?: WireError;
  [key: string]: unknown;
}

type Data<K extends "question" | "subagent" | "compaction" | "retry"> = { type: `data-${K}`; id: string; data: OpencodeUIDataTypes[K] };

// One definition of each data part, for the stream and for `toUIMessages`: same ids, same fields.

/** A question's part, keyed by `key`: its tool call's id (which storage keeps, unlike the request id) when it has one. */
export function questionPart(key: string, data: QuestionData): Data<"question"> {
  return { type: "data-question", id: key, data };
}

/** A sub-agent's part, keyed by its session and updated in place as it runs. */
export function subagentPart(
  reply: Pick<SubagentReply, "sessionID" | "parentSessionID" | "agent" | "description" | "status" | "callID"> & { error?: SubagentReply["error"] },
): Data<"subagent"> {
  return {
    type: "data-subagent",
    id: reply.sessionID,
    data: {
      sessionID: reply.sessionID,
      parentSessionID: reply.parentSessionID,
      ...(reply.agent !== undefined ? { agent: reply.agent } : {}),
      ...(reply.description !== undefined ? { description: reply.description } : {}),
      status: reply.status,
      ...(reply.callID !== undefined ? { callID: reply.callID } : {}),
      ...(reply.error ? { error: toWireError(reply.error) } : {}),
    },
  };
}

/** What a tool approval shows of a permission request. */
export function approvalDescriptor(request: { permission: string; patterns: string[] }): { permission: string; patterns: string[] } {
  return { permission: request.permission, patterns: request.patterns };
}

/** The input of the part of its own a permission gets when no tool call shown carries it. */
export function permissionInput(request: { patterns: string[]; metadata?: Record<string, unknown> }): { patterns: string[]; metadata: Record<string, unknown> } {
  return { patterns: request.patterns, metadata: request.metadata ?? {} };
}

/** A compaction's part, keyed by its compaction user message. */
export function compactionPart(data: CompactionData): Data<"compaction"> {
  return { type: "data-compaction", id: data.messageID, data: { sessionID: data.sessionID, messageID: data.messageID, auto: data.auto } };
}

/** The chunks of the AI SDK v7 UI message stream this adapter emits (a subset of `ai`'s `UIMessageChunk`). */
export type OpencodeUIChunk =
  | { type: "start"; messageId?: string; messageMetadata?: OpencodeUIMetadata }
  | { type: "start-step" }
  | { type: "finish-step" }
  | { type: "reset-step" }
  | { type: "text-start"; id: string; providerMetadata?: OpencodeProviderMetadata }
  | { type: "reasoning-start"; id: string; providerMetadata?: OpencodeProviderMetadata }
  | { type: "text-delta"; id: string; delta: string }
  | { type: "reasoning-delta"; id: string; delta: string }
  | { type: "text-end"; id: string }
  | { type: "reasoning-end"; id: string }
  | { type: "tool-input-start"; toolCallId: string; toolName: string; dynamic: true; title?: string; providerMetadata?: OpencodeProviderMetadata }
  | {
      type: "tool-input-available";
      toolCallId: string;
      toolName: string;
      input: unknown;
      dynamic: true;
      title?: string;
      providerMetadata?: OpencodeProviderMetadata;
    }
  | { type: "tool-approval-request"; approvalId: string; toolCallId: string; approvalDescriptor?: { permission: string; patterns: string[] } }
  | { type: "tool-approval-response"; approvalId: string; approved: boolean }
  | { type: "tool-output-available"; toolCallId: string; output: unknown; dynamic: true }
  | { type: "tool-output-error"; toolCallId: string; errorText: string; dynamic: true }
  | { type: "tool-output-denied"; toolCallId: string }
  | Data<"question">
  | Data<"subagent">
  | Data<"compaction">
  | Data<"retry">
  | { type: "message-metadata"; messageMetadata: Partial<OpencodeUIMetadata> }
  | { type: "finish"; finishReason?: "stop" | "length" | "content-filter" | "tool-calls" | "error" | "other"; messageMetadata?: Partial<OpencodeUIMetadata> }
  | { type: "abort"; reason?: string }
  | { type: "error"; errorText: string };

/** The headers of the UI message stream protocol (as `ai`'s `UI_MESSAGE_STREAM_HEADERS`). */
export const UI_MESSAGE_STREAM_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "text/event-stream",
  "cache-control": "no-cache",
  connection: "keep-alive",
  "x-vercel-ai-ui-message-stream": "v1",
  "x-accel-buffering": "no",
};

const FINISH_REASONS = new Set(["stop", "length", "content-filter", "tool-calls", "error"]);

interface ToolState {
  toolName: string;
  /** tool-input-available was sent (and must not be sent again while an approval waits: it would reset it). */
  inputSent: boolean;
  /** It was sent with `{}` for an approval asked before the input arrived: the result brings the real input. */
  placeholder?: true;
}

/**
 * Reply → chunks, for one turn. Stateful: text and reasoning blocks open on a part's first delta
 * and close when that session moves on; each root assistant message is a step; a permission
 * becomes an approval request on its tool call.
 */
export class UIMessageChunks {
  private readonly openBlock = new Map<string, { id: string; kind: "text" | "reasoning" }>();
  private readonly tools = new Map<string, ToolState>();
  private readonly approvals = new Map<string, { toolCallId: string; synthetic: boolean }>();
  private readonly denied = new Set<string>();
  private readonly questions = new Map<string, Data<"question">>();
  private stepMessageID: string | undefined;

  constructor(
    private readonly rootSessionID: string,
    private readonly options: WireOptions = {},
  ) {}

  map(original: Reply): OpencodeUIChunk[] {
    const out: OpencodeUIChunk[] = [];
    // Tool input and output leave the process only as the app's filter lets them.
    const reply = (original.kind === "tool_call" || original.kind === "tool_result") && this.options.filterTool ? filterToolReply(original, this.options.filterTool) : original;
    switch (reply.kind) {
      case "delta":
      case "reasoning": {
        this.step(reply, out);
        const kind = reply.kind === "delta" ? "text" : "reasoning";
        const open = this.openBlock.get(reply.sessionID);
        if (open?.id !== reply.partID) {
          this.close(reply.sessionID, out);
          const marker = this.marker(reply);
          out.push(marker ? { type: `${kind}-start`, id: reply.partID, providerMetadata: marker } : { type: `${kind}-start`, id: reply.partID });
          this.openBlock.set(reply.sessionID, { id: reply.partID, kind });
        }
        out.push({ type: `${kind}-delta`, id: reply.partID, delta: reply.text });
        break;
      }
      case "tool_call": {
        this.step(reply, out);
        this.close(reply.sessionID, out);
        const marker = this.marker(reply);
        const known = this.tools.get(reply.callID);
        const title = reply.title ? { title: reply.title } : {};
        if (!known) {
          this.tools.set(reply.callID, { toolName: reply.tool, inputSent: false });
          if (reply.status === "pending") {
            out.push({ type: "tool-input-start", toolCallId: reply.callID, toolName: reply.tool, dynamic: true, ...title, ...(marker ? { providerMetadata: marker } : {}) });
          }
        }
        if (reply.status === "running") this.input(reply.callID, reply.tool, reply.input, reply.title, marker, out);
        break;
      }
      case "tool_result": {
        this.step(reply, out);
        this.close(reply.sessionID, out);
        const known = this.tools.get(reply.callID);
        // The approval is answered by now (the tool ran or was denied): the input can replace the placeholder.
        if (known?.placeholder) {
          known.inputSent = false;
          delete known.placeholder;
        }
        this.input(reply.callID, reply.tool, reply.input, reply.title, this.marker(reply), out);
        if (reply.status === "completed") out.push({ type: "tool-output-available", toolCallId: reply.callID, output: reply.output ?? "", dynamic: true });
        else if (this.denied.has(reply.callID)) out.push({ type: "tool-output-denied", toolCallId: reply.callID });
        else out.push({ type: "tool-output-error", toolCallId: reply.callID, errorText: reply.error ?? "the tool failed", dynamic: true });
        break;
      }
      case "permission": {
        this.close(reply.sessionID, out);
        const callID = reply.tool?.callID;
        const onTool = callID !== undefined && this.tools.has(callID);
        const toolCallId = onTool ? callID : reply.id;
        if (onTool) {
          const state = this.tools.get(callID)!;
          // Asked before the tool's input arrived: the approval needs an input-available part to sit on.
          if (!state.inputSent) {
            this.input(callID, state.toolName, {}, undefined, this.marker(reply), out);
            state.placeholder = true;
          }
        } else {
          // Not tied to a tool call we showed (e.g. a sub-agent's external_directory): a part of its own.
          this.input(reply.id, reply.permission, permissionInput(reply), undefined, this.marker(reply), out);
        }
        this.approvals.set(reply.id, { toolCallId, synthetic: !onTool });
        out.push({ type: "tool-approval-request", approvalId: reply.id, toolCallId, approvalDescriptor: approvalDescriptor(reply) });
        break;
      }
      case "permission_replied": {
        const approval = this.approvals.get(reply.id);
        if (!approval) break;
        const approved = reply.reply !== "reject";
        out.push({ type: "tool-approval-response", approvalId: reply.id, approved });
        if (!approved) this.denied.add(approval.toolCallId);
        if (approval.synthetic) {
          out.push(approved ? { type: "tool-output-available", toolCallId: approval.toolCallId, output: reply.reply, dynamic: true } : { type: "tool-output-denied", toolCallId: approval.toolCallId });
        }
        break;
      }
      case "permission_policy":
        // The app's rules answered it: nothing for the user to approve; the tool's result follows.
        break;
      case "question": {
        this.close(reply.sessionID, out);
        const part = questionPart(reply.tool?.callID ?? reply.id, { id: reply.id, sessionID: reply.sessionID, ...parent(reply), questions: reply.questions, ...(reply.tool ? { callID: reply.tool.callID } : {}), status: "asked" });
        out.push(part);
        this.questions.set(reply.id, part);
        break;
      }
      case "question_replied": {
        const asked = this.questions.get(reply.id);
        if (!asked) break;
        out.push(questionPart(asked.id, { ...asked.data, status: reply.rejected ? "rejected" : "answered", ...(reply.answers ? { answers: reply.answers } : {}) }));
        break;
      }
      case "subagent":
        out.push(subagentPart(reply));
        break;
      case "compaction":
        this.close(reply.sessionID, out);
        out.push(compactionPart(reply));
        break;
      case "retry":
        if (reply.discarded.length > 0 && reply.sessionID === this.rootSessionID) {
          // The failed attempt's text is retracted: drop the step's parts, the retry streams anew.
          this.openBlock.delete(reply.sessionID);
          out.push({ type: "reset-step" });
        }
        out.push({ type: "data-retry", id: "retry", data: { attempt: reply.attempt, message: browserSafeMessage(reply.message), next: reply.next } });
        break;
      case "final": {
        this.closeAll(out);
        if (this.stepMessageID !== undefined) out.push({ type: "finish-step" });
        const finishReason = reply.finish && FINISH_REASONS.has(reply.finish) ? (reply.finish as "stop") : "other";
        out.push({
          type: "finish",
          finishReason,
          messageMetadata: {
            ...(reply.messageID ? { assistantMessageID: reply.messageID } : {}),
            ...(reply.finish ? { finish: reply.finish } : {}),
            usage: reply.usage,
            subagentUsage: reply.subagentUsage,
            cost: reply.usage.cost + reply.subagentUsage.cost,
          },
        });
        break;
      }
      case "error": {
        this.closeAll(out);
        const error = toWireError(reply.error);
        out.push({ type: "message-metadata", messageMetadata: { error } });
        if (reply.error instanceof AbortedError) out.push({ type: "abort", reason: error.message });
        else out.push({ type: "error", errorText: `${error.name}: ${error.message}` });
        out.push({ type: "finish", finishReason: reply.error instanceof AbortedError ? "other" : "error" });
        break;
      }
      default: {
        const unhandled: never = reply;
        void unhandled;
      }
    }
    return out;
  }

  /** Each root assistant message is one step. */
  private step(reply: { sessionID: string; parentSessionID?: string; messageID: string }, out: OpencodeUIChunk[]): void {
    if (reply.sessionID !== this.rootSessionID || reply.messageID === this.stepMessageID) return;
    this.close(reply.sessionID, out);
    if (this.stepMessageID !== undefined) out.push({ type: "finish-step" });
    out.push({ type: "start-step" });
    this.stepMessageID = reply.messageID;
  }

  private input(
    callID: string,
    toolName: string,
    input: unknown,
    title: string | undefined,
    marker: OpencodeProviderMetadata | undefined,
    out: OpencodeUIChunk[],
  ): void {
    let state = this.tools.get(callID);
    if (!state) this.tools.set(callID, (state = { toolName, inputSent: false }));
    if (state.inputSent) return;
    state.inputSent = true;
    out.push({ type: "tool-input-available", toolCallId: callID, toolName, input, dynamic: true, ...(title ? { title } : {}), ...(marker ? { providerMetadata: marker } : {}) });
  }

  private marker(reply: { sessionID: string; parentSessionID?: string }): OpencodeProviderMetadata | undefined {
    return subagentMarker(this.rootSessionID, reply);
  }

  private close(sessionID: string, out: OpencodeUIChunk[]): void {
    const open = this.openBlock.get(sessionID);
    if (!open) return;
    out.push({ type: `${open.kind}-end`, id: open.id });
    this.openBlock.delete(sessionID);
  }

  private closeAll(out: OpencodeUIChunk[]): void {
    for (const sessionID of [...this.openBlock.keys()]) this.close(sessionID, out);
  }
}

/** What marks a part a sub-agent produced; undefined for the root session's own. */
export function subagentMarker(rootSessionID: string, ref: { sessionID: string; parentSessionID?: string }): OpencodeProviderMetadata | undefined {
  if (ref.sessionID === rootSessionID && !ref.parentSessionID) return undefined;
  return { opencode: { sessionID: ref.sessionID, ...parent(ref) } };
}

function parent(reply: { parentSessionID?: string }): { parentSessionID?: string } {
  return reply.parentSessionID ? { parentSessionID: reply.parentSessionID } : {};
}

/** Sent before the turn's first chunk: by then a queued turn has its user message id. */
function startChunk(turn: TurnLike, messageId: string | undefined): OpencodeUIChunk {
  const turnMessageID = turn.messageID ?? "";
  return {
    type: "start",
    messageId: messageId ?? assistantMessageId({ messageID: turnMessageID }),
    messageMetadata: { sessionID: turn.sessionID, turnMessageID },
  };
}

/** The UI message id a turn's reply gets: stable, so a continuation or a replay updates the same message. */
export function assistantMessageId(turn: { messageID: string }): string {
  return `${turn.messageID}-reply`;
}

/** A `Turn`, or anything shaped like one (replies of a recorded turn, in tests). */
export interface TurnLike extends AsyncIterable<Reply> {
  readonly sessionID: string;
  /** The turn's user message; a queued turn has it by its first reply. */
  readonly messageID: string | undefined;
  abort?(): Promise<void>;
}

async function* chunksOf(turn: TurnLike, options: WireOptions): AsyncGenerator<OpencodeUIChunk> {
  const mapper = new UIMessageChunks(turn.sessionID, options);
  for await (const reply of turn) yield* mapper.map(reply);
}

export interface UIMessageStreamOptions extends WireOptions {
  /** The UI message id (`start.messageId`). Default: derived from the turn's user message id. */
  messageId?: string;
}

/**
 * The whole turn as UI message chunks: `start`, the turn's parts, `finish` (or `error`). Feed it to
 * `ai`'s `createUIMessageStreamResponse` / `readUIMessageStream`, or use `toUIMessageStreamResponse`.
 * Cancelling the stream stops reading, not the turn. Permission requests stay open in this stream:
 * answer them with `session.respond` (`toUIMessageStreamResponse` maps `addToolApprovalResponse`).
 */
export function toUIMessageStream(turn: TurnLike, options: UIMessageStreamOptions = {}): ReadableStream<OpencodeUIChunk> {
  const chunks = chunksOf(turn, options);
  let started = false;
  let cancelled = false;
  return new ReadableStream<OpencodeUIChunk>({
    async pull(controller) {
      const { done, value } = await chunks.next();
      if (cancelled) return;
      if (!started) {
        started = true;
        controller.enqueue(startChunk(turn, options.messageId));
      }
      if (done) controller.close();
      else controller.enqueue(value);
    },
    // Detaches: returning the chunks would end the turn's iterator, and leaving a Turn's loop stops
    // the turn. Left unread, the turn runs on; `turn.done` still settles.
    cancel() {
      cancelled = true;
    },
  });
}

// ---------------------------------------------------------------------------------------------
// useChat over HTTP: a response per request, resumable frames, approvals as continuation requests.

/** What a turn streamed to `useChat` keeps besides its frames. */
interface ChatTurn {
  turn: TurnLike;
  replay: TurnReplay<OpencodeUIChunk>;
  /** Approval ids and whether they are answered. */
  approvals: Map<string, boolean>;
  /** Where the last response stopped: at this approval request's frame. */
  pausedAt: number;
  /** Some response delivered the turn's end. */
  delivered: boolean;
  /** Block starts by id, to re-open a block in a response that did not see its start. */
  starts: Map<string, OpencodeUIChunk>;
}

export interface UIChatOptions extends ReplayOptions, WireOptions, LeaveOptions {
  /**
   * `client.session`: lets `resumeFromServer` pick up a turn this process never streamed (another
   * app process started it, or this one restarted) with `session.attach()`.
   */
  sessions?: { get(id: string): { attach(options: { signal?: AbortSignal }): Promise<Turn | undefined> } };
}

/** The body `useChat`'s default transport POSTs (only what we read of it). */
export interface ChatRequestBody {
  id?: string;
  messages: ChatMessageLike[];
  trigger?: string;
  messageId?: string;
}

/** A UI message as `useChat` sends it back (structurally: no `ai` import). */
export interface ChatMessageLike {
  id: string;
  role: "user" | "assistant" | "system";
  parts: {
    type: string;
    text?: string;
    state?: string;
    approval?: { id: string; approved?: boolean; reason?: string };
    /** File parts (`type: "file"`): what `useChat` sends for an attachment. */
    mediaType?: string;
    filename?: string;
    url?: string;
  }[];
}

/** A `useChat` message's file parts as prompt file parts (`mediaType` → `mime`). */
function filesOf(message: ChatMessageLike): FilePartInput[] {
  return message.parts.flatMap((part) =>
    part.type === "file" && typeof part.url === "string" && part.url
      ? [{ type: "file" as const, mime: part.mediaType || "application/octet-stream", url: part.url, ...(part.filename ? { filename: part.filename } : {}) }]
      : [],
  );
}

/**
 * The turns this process streams to `useChat`, by session: answers a chat POST (a new user message
 * starts a turn; approval responses from `addToolApprovalResponse` go to `session.respond` and the
 * same turn continues), and `useChat`'s resume GET. A response ends early at a permission request
 * nobody has answered yet, because `useChat` sends approvals only once its stream has finished.
 */
export class UIChats {
  private readonly replays: TurnReplays<OpencodeUIChunk>;
  private readonly bySession = new Map<string, ChatTurn>();
  private readonly options: UIChatOptions;

  constructor(options: UIChatOptions = {}) {
    this.options = options;
    this.replays = new TurnReplays<OpencodeUIChunk>(options);
  }

  /** Streams `turn` (new) as the session's current chat turn. */
  start(turn: TurnLike, init: ResponseInit = {}): Response {
    const state: ChatTurn = {
      turn,
      replay: undefined as unknown as TurnReplay<OpencodeUIChunk>,
      approvals: new Map(),
      pausedAt: 0,
      delivered: false,
      starts: new Map(),
    };
    state.replay = this.replays.add(turn, this.observe(state, chunksOf(turn, this.options)));
    this.bySession.set(turn.sessionID, state);
    // An ended turn stays for resumes as long as its replay does, then goes.
    void state.replay.ended.then(() => {
      const timer = setTimeout(() => {
        if (this.bySession.get(turn.sessionID) === state) this.bySession.delete(turn.sessionID);
      }, this.options.keepMs ?? 60_000);
      timer.unref?.();
    });
    return this.respondFrom(state, 0, init);
  }

  /**
   * Answers a `useChat` POST for `session`: the last message is the user's (prompt it) or the
   * assistant's with approval responses (respond, then continue the turn). `prompt` makes the turn
   * from the message's text and its attachments (`useChat` file parts, as prompt file parts).
   */
  async handle(
    session: Session,
    body: ChatRequestBody,
    prompt: (text: string, files: FilePartInput[]) => Turn,
    init: ResponseInit = {},
  ): Promise<Response> {
    const last = body.messages.at(-1);
    if (!last) return new Response("no messages", { status: 400 });
    if (last.role === "user") {
      const text = last.parts.flatMap((part) => (part.type === "text" && part.text ? [part.text] : [])).join("\n");
      const files = filesOf(last);
      if (!text && files.length === 0) return new Response("the last user message has no text", { status: 400 });
      return this.start(prompt(text, files), init);
    }
    await this.answerApprovals(session, last);
    return this.continue(session.id, init);
  }

  /**
   * Maps `addToolApprovalResponse` answers in `message` to `session.respond(id, "once" | "reject")`,
   * each pending request once. Returns the ids answered now.
   */
  async answerApprovals(session: Session, message: ChatMessageLike): Promise<string[]> {
    const state = this.bySession.get(session.id);
    const answered: string[] = [];
    for (const part of message.parts) {
      const approval = part.approval;
      if (part.state !== "approval-responded" || !approval || approval.approved === undefined) continue;
      if (!state || state.approvals.get(approval.id) !== false) continue;
      const response: PermissionResponse = approval.approved ? "once" : "reject";
      await session.respond(approval.id, response, approval.approved ? undefined : approval.reason);
      state.approvals.set(approval.id, true);
      answered.push(approval.id);
    }
    return answered;
  }

  /** The session's current turn from where the last response paused (a continuation), or 204. */
  continue(sessionID: string, init: ResponseInit = {}): Response {
    const state = this.bySession.get(sessionID);
    if (!state || state.delivered) return new Response(null, { status: 204 });
    return this.respondFrom(state, state.pausedAt, init);
  }

  /**
   * `useChat`'s resume (GET `…/:chatId/stream`): the running turn replayed from its start, or after
   * `lastEventId` when given; 204 when the session has no turn in progress.
   */
  resume(sessionID: string, lastEventId?: string | null, init: ResponseInit = {}): Response {
    const state = this.bySession.get(sessionID);
    if (!state || state.delivered) return new Response(null, { status: 204 });
    const position = parseFrameId(lastEventId);
    const after = position && position.messageID === state.turn.messageID && state.replay.keeps(position.seq) ? position.seq : 0;
    return this.respondFrom(state, after, init);
  }

  /**
   * `resume` for an app with several processes: when this one has no turn for the session, the
   * turn the opencode server runs is attached (`options.sessions`) and streamed from its start,
   * as useChat's resume expects (it rebuilds the assistant message from the stream). The stored
   * text of closed parts comes at once; a part still streaming comes whole when it closes.
   * Frame numbers count per process, so a `lastEventId` from another process is not used.
   */
  async resumeFromServer(sessionID: string, lastEventId?: string | null, init: ResponseInit = {}): Promise<Response> {
    const state = this.bySession.get(sessionID);
    if ((state && !state.delivered) || !this.options.sessions) return this.resume(sessionID, lastEventId, init);
    const turn = await this.options.sessions.get(sessionID).attach({});
    if (!turn) return new Response(null, { status: 204 });
    // A turn followed here, not started here: leaving stops only this process's following.
    return this.start(turn, init);
  }

  /** Watches the chunks on their way into the replay: which approvals are pending, where blocks start. */
  private async *observe(state: ChatTurn, chunks: AsyncIterable<OpencodeUIChunk>): AsyncGenerator<OpencodeUIChunk> {
    for await (const chunk of chunks) {
      if (chunk.type === "tool-approval-request" && !state.approvals.has(chunk.approvalId)) state.approvals.set(chunk.approvalId, false);
      if (chunk.type === "tool-approval-response") state.approvals.set(chunk.approvalId, true);
      if (chunk.type === "text-start" || chunk.type === "reasoning-start") state.starts.set(chunk.id, chunk);
      yield chunk;
    }
  }

  private respondFrom(state: ChatTurn, after: number, init: ResponseInit): Response {
    const options = this.options;
    const produce: SSEProducer = ({ write, end }) => {
      const stop = new AbortController();
      let finished = false;
      const id = (seq: number) => frameId({ sessionID: state.turn.sessionID, messageID: state.turn.messageID ?? "", seq });
      const send = (chunk: OpencodeUIChunk, seq?: number) => write(`${seq === undefined ? "" : `id: ${id(seq)}\n`}data: ${JSON.stringify(chunk)}\n\n`);
      void (async () => {
        const blocks = new Set<string>();
        let started = false;
        try {
          for await (const { seq, item } of state.replay.read(after, stop.signal)) {
            if (!started) send(startChunk(state.turn, undefined));
            started = true;
            if (item.type === "text-delta" || item.type === "reasoning-delta") {
              // This response did not carry the block's start (it began after it): re-open the block.
              if (!blocks.has(item.id)) send(state.starts.get(item.id) ?? { type: item.type === "text-delta" ? "text-start" : "reasoning-start", id: item.id });
              blocks.add(item.id);
            } else if (item.type === "text-start" || item.type === "reasoning-start") {
              blocks.add(item.id);
            } else if (item.type === "text-end" || item.type === "reasoning-end") {
              if (!blocks.delete(item.id)) continue;
            }
            send(item, seq);
            if (item.type === "tool-approval-request" && state.approvals.get(item.approvalId) === false) {
              // useChat sends approvals only after this response finished: pause here.
              state.pausedAt = seq;
              for (const id of blocks) send({ type: state.starts.get(id)?.type === "reasoning-start" ? "reasoning-end" : "text-end", id });
              send({ type: "finish", finishReason: "tool-calls" });
              finished = true;
              break;
            }
          }
          if (!finished && !stop.signal.aborted) {
            finished = true;
            state.delivered = true;
          }
        } catch (error) {
          // Only a replay gap can land here: this reader is further behind than the frames kept.
          send({ type: "error", errorText: error instanceof Error ? error.message : String(error) });
          finished = true;
        } finally {
          if (!started && finished) send(startChunk(state.turn, undefined));
          if (finished) write("data: [DONE]\n\n");
          end();
        }
      })();
      return () => {
        stop.abort();
        if (!finished) abandonOnLeave(state.replay, options, () => void state.turn.abort?.());
      };
    };
    const headers = new Headers(init.headers);
    for (const [key, value] of Object.entries(UI_MESSAGE_STREAM_HEADERS)) headers.set(key, value);
    return new Response(sseWebBody(produce, options.heartbeatMs), { ...init, headers });
  }
}

const defaultChats = new UIChats();

/**
 * The turn as a `useChat` response (SSE frames with resumable ids, `data: [DONE]` at the end),
 * registered in `chats` (default: one per process) so approvals and resumes find it.
 */
export function toUIMessageStreamResponse(turn: TurnLike, options: { chats?: UIChats } & ResponseInit = {}): Response {
  const { chats = defaultChats, ...init } = options;
  return chats.start(turn, init);
}
