// The Reply union a Turn yields, in server order; exactly one `final` or `error` ends a turn.

import type { OpencodeError } from "../http/errors.js";
import type { PermissionRule } from "./permission-policy.js";

export interface Usage {
  input: number;
  output: number;
  reasoning: number;
  cacheRead: number;
  cacheWrite: number;
  /** Provider cost in USD as opencode computes it. */
  cost: number;
  /**
   * Tokens in the model's context at the latest step (its input, cache and output): with
   * `contextWindow`, a context meter. Set on the turn's own usage, not on `subagentUsage`.
   */
  contextUsed?: number;
  /** The answering model's context limit (`limit.context` of `GET /provider`), when the client knows it. */
  contextWindow?: number;
}

/** Who answered: the provider and model, and the agent, the server stored on the reply. */
export interface AnsweredBy {
  model: { providerID: string; modelID: string };
  agent?: string;
}

/**
 * Every reply names the session it comes from. Replies from a sub-agent (a child session the turn's
 * `task` tool started, at any depth) carry the child's `sessionID` and its parent's id in
 * `parentSessionID`; the root session's replies have no `parentSessionID`.
 */
interface SessionRef {
  sessionID: string;
  parentSessionID?: string;
}

interface PartRef extends SessionRef {
  messageID: string;
  partID: string;
}

/** Assistant text, as it streams. */
export interface DeltaReply extends PartRef {
  kind: "delta";
  text: string;
}

/** Assistant reasoning ("thinking"), never mixed into delta text. */
export interface ReasoningReply extends PartRef {
  kind: "reasoning";
  text: string;
}

export interface ToolCallReply extends PartRef {
  kind: "tool_call";
  callID: string;
  /** Tool name; "unknown" when the server sent none. */
  tool: string;
  input: Record<string, unknown>;
  status: "pending" | "running";
  title?: string;
  /**
   * The tool's progress while running, e.g. bash's `output` so far. Each update carries the whole
   * output (it can also shrink): show the latest, never append.
   */
  metadata?: Record<string, unknown>;
}

export interface ToolResultReply extends PartRef {
  kind: "tool_result";
  callID: string;
  tool: string;
  input: Record<string, unknown>;
  status: "completed" | "error";
  output?: string;
  error?: string;
  title?: string;
  metadata: Record<string, unknown>;
}

/** The agent asks to run something; answer with `session.respond(id, "once" | "always" | "reject")`. */
export interface PermissionReply extends SessionRef {
  kind: "permission";
  id: string;
  permission: string;
  patterns: string[];
  always: string[];
  metadata: Record<string, unknown>;
  tool?: { messageID: string; callID: string };
}

/** A permission request was answered (here or by another client): the UI can clear its prompt. */
export interface PermissionRepliedReply extends SessionRef {
  kind: "permission_replied";
  /** The `permission` reply's `id`. */
  id: string;
  reply: "once" | "always" | "reject";
}

/**
 * A permission request the permission policy answered (no `permission` reply is shown for it):
 * which request, the answer, and the rule that gave it — the audit trail.
 */
export interface PermissionPolicyReply extends SessionRef {
  kind: "permission_policy";
  /** The request's id. */
  id: string;
  permission: string;
  patterns: string[];
  reply: "once" | "always" | "reject";
  rule: PermissionRule;
  /** Set when an earlier answer of this turn (an "always", a "reject") covered it: the server applies that one, nothing more is sent. */
  coveredBy?: string;
}

export interface QuestionOption {
  label: string;
  description: string;
}

export interface QuestionItem {
  /** Very short label (the server caps it at 30 characters). */
  header: string;
  question: string;
  options: QuestionOption[];
  /** More than one option may be chosen. */
  multiple: boolean;
  /** A typed answer besides the options is allowed (the server's default: true). */
  custom: boolean;
}

/**
 * The agent asks the user (the `question` tool) and waits: answer with
 * `session.answer(id, [[label, …], …])` (one array per question) or `session.rejectQuestion(id)`.
 */
export interface QuestionReply extends SessionRef {
  kind: "question";
  id: string;
  questions: QuestionItem[];
  /** The `question` tool call this belongs to. */
  tool?: { messageID: string; callID: string };
}

/** A question was answered or rejected (here or by another client): the UI can clear it. */
export interface QuestionRepliedReply extends SessionRef {
  kind: "question_replied";
  id: string;
  /** The answers, one array of labels per question; absent when the question was rejected. */
  answers?: string[][];
  rejected: boolean;
}

/**
 * A sub-agent (child session started by the `task` tool) started, went idle, or failed. Its text,
 * tools and requests arrive as ordinary replies with its `sessionID` and `parentSessionID`.
 */
export interface SubagentReply {
  kind: "subagent";
  /** The child session. */
  sessionID: string;
  /** The session whose `task` tool started it. */
  parentSessionID: string;
  /** The sub-agent type (`subagent_type` of the task input, e.g. "general"), when known. */
  agent?: string;
  /** The task's description, when known. */
  description?: string;
  status: "started" | "idle" | "error";
  /** With status "error". */
  error?: OpencodeError;
  /** The parent's `task` tool call. */
  callID?: string;
}

/** The server compacted the session's context during the turn (a summary replaced the history). */
export interface CompactionReply extends SessionRef {
  kind: "compaction";
  /** True when the server did it on its own (context overflow); false when asked (`summarize`). */
  auto: boolean;
  /** The compaction user message. */
  messageID: string;
}

/** Text the turn had streamed that the server abandoned (a failed provider attempt it retries). */
export interface DiscardedText {
  messageID: string;
  partID: string;
  kind: "text" | "reasoning";
  text: string;
}

/** The server is retrying the provider itself. */
export interface RetryReply extends SessionRef {
  kind: "retry";
  attempt: number;
  message: string;
  /** Epoch ms of the next attempt. */
  next: number;
  /**
   * Text streamed by the failed attempt, now retracted from `turn.text` and the final: the retry
   * starts new parts and the failed ones stay empty in the server's storage.
   */
  discarded: DiscardedText[];
}

export interface FinalReply extends Partial<AnsweredBy> {
  kind: "final";
  sessionID: string;
  /** The turn's last assistant message (undefined if the turn produced none). */
  messageID: string | undefined;
  /** Text of the turn's last assistant message. */
  text: string;
  /** Finish reason of that message ("stop", "tool-calls", "length", …). */
  finish: string | undefined;
  /** Summed over all of the root session's assistant messages of the turn. */
  usage: Usage;
  /** Summed over every sub-agent's assistant messages (zero when the turn started none). */
  subagentUsage: Usage;
  /** Structured output, when the prompt asked for a JSON-schema format. */
  structured?: unknown;
}

export interface ErrorReply {
  kind: "error";
  sessionID: string;
  error: OpencodeError;
}

export type Reply =
  | DeltaReply
  | ReasoningReply
  | ToolCallReply
  | ToolResultReply
  | PermissionReply
  | PermissionRepliedReply
  | PermissionPolicyReply
  | QuestionReply
  | QuestionRepliedReply
  | SubagentReply
  | CompactionReply
  | RetryReply
  | FinalReply
  | ErrorReply;

export type ReplyKind = Reply["kind"];

export type TerminalReply = FinalReply | ErrorReply;
