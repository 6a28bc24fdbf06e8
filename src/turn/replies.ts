// The Reply union a Turn yields, in server order; exactly one `final` or `error` ends a turn.

import type { OpencodeError } from "../http/errors.js";

export interface Usage {
  input: number;
  output: number;
  reasoning: number;
  cacheRead: number;
  cacheWrite: number;
  /** Provider cost in USD as opencode computes it. */
  cost: number;
}

interface PartRef {
  sessionID: string;
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
export interface PermissionReply {
  kind: "permission";
  sessionID: string;
  id: string;
  permission: string;
  patterns: string[];
  always: string[];
  metadata: Record<string, unknown>;
  tool?: { messageID: string; callID: string };
}

/** The server is retrying the provider itself. */
export interface RetryReply {
  kind: "retry";
  sessionID: string;
  attempt: number;
  message: string;
  /** Epoch ms of the next attempt. */
  next: number;
}

export interface FinalReply {
  kind: "final";
  sessionID: string;
  /** The turn's last assistant message (undefined if the turn produced none). */
  messageID: string | undefined;
  /** Text of the turn's last assistant message. */
  text: string;
  /** Finish reason of that message ("stop", "tool-calls", "length", …). */
  finish: string | undefined;
  /** Summed over all assistant messages of the turn. */
  usage: Usage;
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
  | RetryReply
  | FinalReply
  | ErrorReply;

export type TerminalReply = FinalReply | ErrorReply;
