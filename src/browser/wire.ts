// The wire format a Turn is re-broadcast in to a browser: SSE frames `event: reply` (one Reply as
// JSON, errors reduced to a safe allowlist) with resumable `id:`s, `event: turn` first (its id names
// the turn), `event: state` (the server connection's state), and `event: gone` when a reconnect
// came too late to resume. No Node imports: the browser reader shares this file.

import type { ErrorReply, Reply, SubagentReply } from "../turn/replies.js";
import type { ConnectionState } from "../events/types.js";

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

/** Where a reply frame sits: the turn (its session and user message) and the reply's index in it. */
export interface FramePosition {
  sessionID: string;
  messageID: string;
  seq: number;
}

/** `ses_…:msg_…:7`. opencode ids never contain ':'. */
export function frameId(position: FramePosition): string {
  return `${position.sessionID}:${position.messageID}:${position.seq}`;
}

/** The position a `Last-Event-ID` names, or undefined when it is not one of ours. */
export function parseFrameId(id: string | null | undefined): FramePosition | undefined {
  const match = /^([^:\s]+):([^:\s]+):(\d{1,15})$/.exec(id?.trim() ?? "");
  if (!match) return undefined;
  return { sessionID: match[1]!, messageID: match[2]!, seq: Number(match[3]) };
}

const MAX_MESSAGE = 300;

/**
 * Masks what a message may embed that a browser must not see: URLs (a provider endpoint, the
 * opencode server's origin), host names, query strings (`?directory=…`), absolute filesystem
 * paths, credential-shaped tokens. Only the
 * first line is kept: later lines are output tails (`ServerStartError`) or provider bodies.
 */
export function browserSafeMessage(message: string): string {
  // A quoted snippet at the end is a response body (`InvalidResponseError`): drop it.
  const first = (message.split(/\r?\n/, 1)[0] ?? "").replace(/: ".*"$/, "");
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

export function toWireReply(reply: Reply): WireReply {
  if (reply.kind === "error") return { ...reply, error: toWireError(reply.error) };
  if (reply.kind === "subagent") {
    const { error, ...rest } = reply;
    return error ? { ...rest, error: toWireError(error) } : rest;
  }
  return reply;
}

/** One SSE frame; JSON never contains a raw newline, so one `data:` line is enough. */
export function sseFrame(event: "turn" | "reply" | "state" | "gone", data: unknown, id?: string): string {
  return `${id === undefined ? "" : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
