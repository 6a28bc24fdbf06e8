// Provider and turn failures, classified from the server's `{name, data}` error objects with
// the rules opencode wrappers use. Pure: "now" comes from the caller, never from a clock.

import { OpencodeError } from "../http/errors.js";
import { retryAfterMs } from "../http/retry.js";

/** The server's error object as sent on `session.error` and assistant `info.error`. */
export interface RawProviderError {
  name?: string;
  data?: Record<string, unknown>;
  [key: string]: unknown;
}

export abstract class ProviderError extends OpencodeError {
  /** The server's `{name, data}`, untouched. */
  readonly raw: RawProviderError;
  constructor(message: string, raw: RawProviderError) {
    super(message);
    this.raw = raw;
  }
}

export class RateLimitError extends ProviderError {
  override readonly name = "RateLimitError" as const;
  readonly retryable = true;
  constructor(message: string, raw: RawProviderError, readonly resetAt: Date) {
    super(message, raw);
  }
}

export class ProviderAuthError extends ProviderError {
  override readonly name = "ProviderAuthError" as const;
  readonly retryable = false;
}

export class BillingError extends ProviderError {
  override readonly name = "BillingError" as const;
  readonly retryable = false;
}

export class OutputLengthError extends ProviderError {
  override readonly name = "OutputLengthError" as const;
  readonly retryable = false;
  constructor(message: string, raw: RawProviderError, readonly partialText: string) {
    super(message, raw);
  }
}

export class ContextOverflowError extends ProviderError {
  override readonly name = "ContextOverflowError" as const;
  readonly retryable = false;
  constructor(message: string, raw: RawProviderError, readonly partialText: string) {
    super(message, raw);
  }
}

export class ProviderServerError extends ProviderError {
  override readonly name = "ProviderServerError" as const;
  readonly retryable = true;
}

/** The turn was aborted (`turn.abort()`, the signal, or another client's abort). */
export class AbortedError extends ProviderError {
  override readonly name = "AbortedError" as const;
  readonly retryable = false;
}

export class UnknownProviderError extends ProviderError {
  override readonly name = "UnknownProviderError" as const;
  get retryable(): boolean {
    return this.raw.data?.["isRetryable"] === true;
  }
}

/** The server took the prompt (204) but refused what it named: an agent it does not have, a file it cannot read. */
export abstract class PromptRejectedError extends ProviderError {
  readonly retryable = false;
}

/** The prompt named an agent the server does not have. */
export class UnknownAgentError extends PromptRejectedError {
  override readonly name = "UnknownAgentError" as const;
  constructor(
    message: string,
    raw: RawProviderError,
    readonly agent: string,
    /** The agents the server has, when known. */
    readonly available?: string[],
  ) {
    super(message, raw);
  }
}

/** A `file://` part named a file the server cannot read. */
export class UnreadableFileError extends PromptRejectedError {
  override readonly name = "UnreadableFileError" as const;
  constructor(message: string, raw: RawProviderError, readonly path: string) {
    super(message, raw);
  }
}

/**
 * The server stopped (restart, crash) before the turn finished: it is idle, but the stored turn
 * has no end. `partialText` is what the turn's last assistant message had stored.
 */
export class InterruptedError extends OpencodeError {
  override readonly name = "InterruptedError" as const;
  readonly retryable = true;
  constructor(message: string, readonly partialText: string) {
    super(message);
  }
}

/**
 * The server stored the prompt and went idle without answering it (no assistant message). Servers
 * before 1.18 do this to a prompt whose id sorts before their last reply.
 */
export class UnansweredError extends OpencodeError {
  override readonly name = "UnansweredError" as const;
  readonly retryable = true;
}

/**
 * The turn's last step asked for tools, and the server went idle without answering: a rejected
 * permission or question stops its loop there. `partialText` is that step's text.
 */
export class StoppedAfterToolCallsError extends OpencodeError {
  override readonly name = "StoppedAfterToolCallsError" as const;
  readonly retryable = false;
  constructor(message: string, readonly partialText: string) {
    super(message);
  }
}

/**
 * The turn did not end within the `timeoutMs` its caller gave (the SDK sets no deadline of its own:
 * a server that is behind is waited for). The turn was stopped on the server.
 */
export class TurnTimeoutError extends OpencodeError {
  override readonly name = "TurnTimeoutError" as const;
  readonly retryable = true;
  constructor(
    message: string,
    readonly timeoutMs: number,
    /** The root's text streamed before the deadline. */
    readonly partialText: string,
  ) {
    super(message);
  }
}

/** A stop was asked for, but the server did not report the session idle within the bound. */
export class StopTimeoutError extends OpencodeError {
  override readonly name = "StopTimeoutError" as const;
  readonly retryable = false;
}

export interface ClassifyContext {
  /** Text the turn produced before the failure (for length/overflow errors). */
  partialText: string;
  /** Epoch ms to measure retry-after from. */
  now: number;
}

const BILLING = /billing|quota|payment|credit|subscription|\bplan\b/i;
const DEFAULT_RATE_LIMIT_MS = 60_000;

export function classifyProviderError(raw: RawProviderError, context: ClassifyContext): ProviderError {
  const name = typeof raw.name === "string" ? raw.name : "UnknownError";
  const data = raw.data && typeof raw.data === "object" ? raw.data : {};
  const status = typeof data["statusCode"] === "number" ? data["statusCode"] : undefined;
  const detail = typeof data["message"] === "string" && data["message"] ? data["message"] : name;
  const message = status === undefined ? `${name}: ${detail}` : `${name} (${status}): ${detail}`;

  if (status === 429) {
    return new RateLimitError(message, raw, new Date(resetAt(data, context.now)));
  }
  if (name === "ProviderAuthError" || status === 401 || status === 403) return new ProviderAuthError(message, raw);
  if (name === "APIError" && BILLING.test(detail)) return new BillingError(message, raw);
  if (name === "MessageOutputLengthError") return new OutputLengthError(message, raw, context.partialText);
  if (name === "ContextOverflowError") return new ContextOverflowError(message, raw, context.partialText);
  if (name === "APIError" && ((status !== undefined && status >= 500) || data["isRetryable"] === true)) {
    return new ProviderServerError(message, raw);
  }
  if (name === "MessageAbortedError") return new AbortedError(message, raw);
  // The server words these only in the message.
  const agent = /^Agent not found: "([^"]*)"/.exec(detail);
  if (agent) return new UnknownAgentError(message, raw, agent[1]!);
  const file = /^File not found: (.+)$/.exec(detail);
  if (file) return new UnreadableFileError(message, raw, file[1]!);
  return new UnknownProviderError(message, raw);
}

/** When the provider allows the next request: its `retry-after-ms` / `Retry-After`, else now + 60 s. */
function resetAt(data: Record<string, unknown>, now: number): number {
  const raw = data["responseHeaders"];
  const headers = raw && typeof raw === "object" ? (raw as Record<string, unknown>) : {};
  // The provider's own clock at the time of the error beats the last server timestamp the turn saw.
  const dateHeader = Object.entries(headers).find(([key]) => key.toLowerCase() === "date")?.[1];
  const stamped = typeof dateHeader === "string" ? Date.parse(dateHeader) : Number.NaN;
  if (Number.isFinite(stamped) && stamped > now) now = stamped;
  return now + (retryAfterMs(headers, now) ?? DEFAULT_RATE_LIMIT_MS);
}
