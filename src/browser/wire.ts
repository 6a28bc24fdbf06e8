// The wire format a Turn is re-broadcast in to a browser: SSE frames `event: reply` (one Reply as
// JSON: an allowlist of fields per reply kind, errors reduced to a safe allowlist, tool input and
// output through the app's filter) with resumable `id:`s, `event: turn` first (its id names the
// turn), `event: state` (the server connection's state), and `event: gone` when a reconnect came
// too late to resume. No Node imports: the browser reader shares this file.

import type {
  CompactionReply,
  DeltaReply,
  DiscardedText,
  ErrorReply,
  FinalReply,
  PermissionPolicyReply,
  PermissionRepliedReply,
  PermissionReply,
  QuestionRepliedReply,
  QuestionReply,
  ReasoningReply,
  Reply,
  RetryReply,
  SubagentReply,
  ToolCallReply,
  ToolResultReply,
  Usage,
} from "../turn/replies.js";
import type { ConnectionState } from "../events/types.js";
import { redactPatterns } from "../http/redact.js";

/**
 * A typed error as it reaches a browser: only these fields, ever. Provider response headers and
 * bodies, request URLs, server directories, stderr tails and causes stay on the server.
 */
export interface WireError {
  name: string;
  /** The error's message with URLs, filesystem paths and query strings masked; first line only. */
  message: string;
  retryable: boolean;
  /** HTTP status: of the opencode server's answer, or the provider's (e.g. 429, 401). */
  status?: number;
  /** Epoch ms when a rate limit resets (`RateLimitError`). */
  resetAt?: number;
}

export type WireReply =
  | Exclude<Reply, ErrorReply | SubagentReply>
  | (Omit<ErrorReply, "error"> & { error: WireError })
  | (Omit<SubagentReply, "error"> & { error?: WireError });

export interface WireState {
  state: ConnectionState;
}

/**
 * How far a browser's text has got in one session of the turn: the text or reasoning part its
 * last delta belonged to, and that part's length so far (UTF-16 units of the part's stored text).
 */
export interface TextCursor {
  sessionID: string;
  partID: string;
  offset: number;
}

/**
 * Where a frame sits, so a reconnect can continue right after it — on this process or another.
 *
 * The resume rule. `seq` numbers the frames of one stream (`stream`, a random token per process
 * and turn), so only the process holding that stream can replay from `seq` exactly. Any other
 * process (or this one after a restart) rebuilds the turn from the opencode server
 * (`session.attach()`) and uses `cursor`, which is server state, not a per-process number: for
 * each session of the turn that streamed text, the part of its last delta and that part's length.
 * Within one session opencode streams text and reasoning parts one after another, and part ids
 * ascend in creation order, so the browser holds every earlier part of that session whole and the
 * cursor part up to `offset`: an attaching process drops exactly that text and sends the rest.
 * Tool, permission, question, sub-agent and compaction replies are states keyed by their ids
 * (`callID`, `id`, `sessionID`); an attaching process sends the current state of each again.
 */
export interface FramePosition {
  sessionID: string;
  messageID: string;
  seq: number;
  /** The stream `seq` counts in; absent in ids from before streams were named (then any stream). */
  stream?: string;
  /** The browser's text position per session; empty before the first delta. */
  cursor?: TextCursor[];
}

const ID = "[A-Za-z0-9_-]+";
const FRAME_ID = new RegExp(`^(${ID}):(${ID}):(?:(${ID})\\.)?(\\d{1,15})(?::((?:${ID}/${ID}/\\d{1,12})(?:,${ID}/${ID}/\\d{1,12})*))?$`);

/** `ses_…:msg_…:STREAM.7:ses_…/prt_…/120` (stream and cursor optional). opencode ids never contain ':', '/', '.' or ','. */
export function frameId(position: FramePosition): string {
  const head = `${position.sessionID}:${position.messageID}:${position.stream === undefined ? "" : `${position.stream}.`}${position.seq}`;
  const cursor = position.cursor?.map((c) => `${c.sessionID}/${c.partID}/${c.offset}`).join(",");
  return cursor ? `${head}:${cursor}` : head;
}

/** The position a `Last-Event-ID` names, or undefined when it is not one of ours. */
export function parseFrameId(id: string | null | undefined): FramePosition | undefined {
  const match = FRAME_ID.exec(id?.trim() ?? "");
  if (!match) return undefined;
  const position: FramePosition = { sessionID: match[1]!, messageID: match[2]!, seq: Number(match[4]) };
  if (match[3] !== undefined) position.stream = match[3];
  if (match[5] !== undefined) {
    position.cursor = match[5].split(",").map((entry) => {
      const [sessionID, partID, offset] = entry.split("/") as [string, string, string];
      return { sessionID, partID, offset: Number(offset) };
    });
  }
  return position;
}

/** Follows the text a stream of replies has delivered, per session (see `FramePosition`). */
export class CursorTracker {
  private readonly bySession = new Map<string, TextCursor>();

  constructor(start: readonly TextCursor[] = []) {
    for (const cursor of start) this.bySession.set(cursor.sessionID, { ...cursor });
  }

  see(reply: WireReply): void {
    if (reply.kind !== "delta" && reply.kind !== "reasoning") return;
    const current = this.bySession.get(reply.sessionID);
    if (current?.partID === reply.partID) current.offset += reply.text.length;
    else this.bySession.set(reply.sessionID, { sessionID: reply.sessionID, partID: reply.partID, offset: reply.text.length });
  }

  get cursor(): TextCursor[] {
    return [...this.bySession.values()].map((c) => ({ ...c }));
  }
}

/**
 * The replies of a turn rebuilt from the server, minus the text a browser at `cursor` already
 * shows: per session, parts before the cursor part are dropped, the cursor part loses its first
 * `offset` units, later parts pass whole. Everything that is not text passes (see `FramePosition`).
 */
export async function* skipDelivered(replies: AsyncIterable<WireReply>, cursor: readonly TextCursor[] = []): AsyncGenerator<WireReply> {
  const bySession = new Map(cursor.map((c) => [c.sessionID, c]));
  /** Units of each cursor part still to drop. */
  const left = new Map(cursor.map((c) => [c.partID, c.offset]));
  for await (const reply of replies) {
    if (reply.kind !== "delta" && reply.kind !== "reasoning") {
      yield reply;
      continue;
    }
    const at = bySession.get(reply.sessionID);
    if (at === undefined || reply.partID > at.partID) {
      yield reply;
      continue;
    }
    if (reply.partID < at.partID) continue;
    const drop = left.get(reply.partID) ?? 0;
    if (drop >= reply.text.length) {
      left.set(reply.partID, drop - reply.text.length);
      continue;
    }
    left.set(reply.partID, 0);
    yield { ...reply, text: reply.text.slice(drop) };
  }
}

const MAX_MESSAGE = 300;

/**
 * Masks what a message may embed that a browser must not see: URLs (a provider endpoint, the
 * opencode server's origin), host names, query strings (`?directory=…`), absolute filesystem
 * paths, credential-shaped tokens. Only the
 * first line is kept: later lines are output tails (`ServerStartError`) or provider bodies.
 */
export function browserSafeMessage(message: string): string {
  // A quoted snippet at the end is a response body (`InvalidResponseError`): drop it. Credentials
  // (`user:pass@`, `key=`/`token=` values, Basic/Bearer tokens) go first, wherever they stand.
  const first = redactPatterns(message.split(/\r?\n/, 1)[0] ?? "").replace(/: ".*"$/, "");
  const masked = first
    .replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>)]*/gi, "[url]")
    .replace(/\b[a-z]:\\[^\s"'<>)]*/gi, "[path]")
    // A path (with its query) ends before trailing punctuation: "GET /x?directory=/y: failed".
    .replace(/(^|[\s"'(=:])\/[^\s"'<>)]+/g, (match: string, lead: string) => `${lead}[path]${/[:,;.]*$/.exec(match)![0]}`)
    .replace(/\?[^\s"'<>)]*=[^\s"'<>)]*/g, "")
    .replace(/\b\d{1,3}(\.\d{1,3}){3}(:\d+)?\b/g, "[host]")
    .replace(/\b(?:[a-z0-9-]+\.){2,}[a-z]{2,}(:\d+)?\b|\b[a-z0-9-]+\.(?:com|net|org|io|ai|dev|app|cloud|example|internal|local)(:\d+)?\b/gi, "[host]")
    // Credential-shaped tokens a provider may echo back ("Incorrect API key sk-…").
    .replace(/\b(?:sk|pk|rk|ak)[-_][A-Za-z0-9_-]{6,}|\b(?:ghp|gho|xox[abp])[-_][A-Za-z0-9_-]{6,}|\bAKIA[A-Z0-9]{12,}|\b[A-Za-z0-9+/_-]{32,}={0,2}/g, "[redacted]");
  return masked.length > MAX_MESSAGE ? `${masked.slice(0, MAX_MESSAGE - 1)}…` : masked;
}

/** Reduces any error to the browser allowlist. */
export function toWireError(error: unknown): WireError {
  const record = (error && typeof error === "object" ? error : {}) as Record<string, unknown>;
  const wire: WireError = {
    name: typeof record["name"] === "string" ? record["name"] : "Error",
    message: browserSafeMessage(typeof record["message"] === "string" ? record["message"] : String(error)),
    retryable: record["retryable"] === true,
  };
  const status = statusOf(record);
  if (status !== undefined) wire.status = status;
  const resetAt = record["resetAt"];
  if (resetAt instanceof Date && Number.isFinite(resetAt.getTime())) wire.resetAt = resetAt.getTime();
  return wire;
}

function statusOf(record: Record<string, unknown>): number | undefined {
  if (typeof record["status"] === "number") return record["status"];
  // Provider errors keep the server's `{name, data}`; its statusCode is the provider's answer.
  const raw = record["raw"];
  const data = raw && typeof raw === "object" ? (raw as { data?: unknown }).data : undefined;
  const code = data && typeof data === "object" ? (data as { statusCode?: unknown }).statusCode : undefined;
  return typeof code === "number" ? code : undefined;
}

/** A tool reply as the app's `filterTool` gets it and returns it. */
export type ToolReply = ToolCallReply | ToolResultReply;

export interface WireOptions {
  /**
   * Sees every `tool_call` / `tool_result` before it leaves the server process and returns what
   * may (e.g. `input` without a file's content, `output` cut, `metadata` emptied). Only the
   * reply's own fields pass on from what it returns. Default: tool replies pass as they are.
   */
  filterTool?: (reply: ToolReply) => ToolReply;
}

/**
 * The fields each reply kind may carry to a browser: `true` passes, anything else never leaves.
 * A field added to a Reply type is a compile error here until it is decided on.
 */
const FIELDS = {
  delta: { kind: true, sessionID: true, parentSessionID: true, messageID: true, partID: true, text: true } satisfies Record<keyof DeltaReply, true>,
  reasoning: { kind: true, sessionID: true, parentSessionID: true, messageID: true, partID: true, text: true } satisfies Record<keyof ReasoningReply, true>,
  tool_call: {
    kind: true, sessionID: true, parentSessionID: true, messageID: true, partID: true, callID: true, tool: true, input: true, status: true, title: true,
    metadata: true,
  } satisfies Record<keyof ToolCallReply, true>,
  tool_result: {
    kind: true, sessionID: true, parentSessionID: true, messageID: true, partID: true, callID: true, tool: true, input: true, status: true,
    output: true, error: true, title: true, metadata: true,
  } satisfies Record<keyof ToolResultReply, true>,
  permission: {
    kind: true, sessionID: true, parentSessionID: true, id: true, permission: true, patterns: true, always: true, metadata: true, tool: true,
  } satisfies Record<keyof PermissionReply, true>,
  permission_policy: {
    kind: true, sessionID: true, parentSessionID: true, id: true, permission: true, patterns: true, reply: true, rule: true, coveredBy: true,
  } satisfies Record<keyof PermissionPolicyReply, true>,
  permission_replied: { kind: true, sessionID: true, parentSessionID: true, id: true, reply: true } satisfies Record<keyof PermissionRepliedReply, true>,
  question: { kind: true, sessionID: true, parentSessionID: true, id: true, questions: true, tool: true } satisfies Record<keyof QuestionReply, true>,
  question_replied: { kind: true, sessionID: true, parentSessionID: true, id: true, answers: true, rejected: true } satisfies Record<keyof QuestionRepliedReply, true>,
  subagent: { kind: true, sessionID: true, parentSessionID: true, agent: true, description: true, status: true, error: true, callID: true } satisfies Record<
    keyof SubagentReply,
    true
  >,
  compaction: { kind: true, sessionID: true, parentSessionID: true, auto: true, messageID: true } satisfies Record<keyof CompactionReply, true>,
  retry: { kind: true, sessionID: true, parentSessionID: true, attempt: true, message: true, next: true, discarded: true } satisfies Record<keyof RetryReply, true>,
  final: {
    kind: true, sessionID: true, messageID: true, text: true, finish: true, usage: true, subagentUsage: true, structured: true, model: true, agent: true,
  } satisfies Record<keyof FinalReply, true>,
  error: { kind: true, sessionID: true, error: true } satisfies Record<keyof ErrorReply, true>,
} as const;

const USAGE_FIELDS = { input: true, output: true, reasoning: true, cacheRead: true, cacheWrite: true, cost: true, contextUsed: true, contextWindow: true } satisfies Record<keyof Usage, true>;
const DISCARDED_FIELDS = { messageID: true, partID: true, kind: true, text: true } satisfies Record<keyof DiscardedText, true>;

/** A tool reply through the app's filter; the filter may not turn it into another kind or another call. */
export function filterToolReply(reply: ToolReply, filter: NonNullable<WireOptions["filterTool"]>): ToolReply {
  const filtered = filter(reply);
  return filtered.kind === reply.kind && filtered.callID === reply.callID && filtered.sessionID === reply.sessionID ? filtered : reply;
}

/** The listed fields of `value` that are present. */
function pick<T extends object>(value: T, fields: Partial<Record<keyof T, true>>): T {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(fields)) {
    const field = (value as Record<string, unknown>)[key];
    if (field !== undefined) out[key] = field;
  }
  return out as T;
}

/** The reply as a browser may see it: the kind's allowlist, the app's tool filter, errors and retry messages made safe. */
export function toWireReply(reply: Reply, options: WireOptions = {}): WireReply {
  switch (reply.kind) {
    case "tool_call":
    case "tool_result": {
      const filtered = options.filterTool ? filterToolReply(reply, options.filterTool) : reply;
      return pick(filtered, FIELDS[filtered.kind]) as WireReply;
    }
    case "retry":
      return {
        ...pick(reply, FIELDS.retry),
        message: browserSafeMessage(reply.message),
        discarded: reply.discarded.map((text) => pick(text, DISCARDED_FIELDS)),
      };
    case "final":
      return { ...pick(reply, FIELDS.final), usage: pick(reply.usage, USAGE_FIELDS), subagentUsage: pick(reply.subagentUsage, USAGE_FIELDS) };
    case "error":
      return { ...pick(reply, FIELDS.error), error: toWireError(reply.error) };
    case "subagent": {
      const { error, ...rest } = pick(reply, FIELDS.subagent);
      return error ? { ...rest, error: toWireError(error) } : rest;
    }
    case "delta":
      return pick(reply, FIELDS.delta);
    case "reasoning":
      return pick(reply, FIELDS.reasoning);
    case "permission":
      return pick(reply, FIELDS.permission);
    case "permission_policy":
      return pick(reply, FIELDS.permission_policy);
    case "permission_replied":
      return pick(reply, FIELDS.permission_replied);
    case "question":
      return pick(reply, FIELDS.question);
    case "question_replied":
      return pick(reply, FIELDS.question_replied);
    case "compaction":
      return pick(reply, FIELDS.compaction);
    default: {
      const unhandled: never = reply;
      return unhandled;
    }
  }
}

/** One SSE frame; JSON never contains a raw newline, so one `data:` line is enough. */
export function sseFrame(event: "turn" | "reply" | "state" | "gone", data: unknown, id?: string): string {
  return `${id === undefined ? "" : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
