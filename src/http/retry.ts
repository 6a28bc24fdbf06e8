// When and how long to wait before repeating something: the one retry rule for requests, the one
// capped exponential backoff with jitter (requests, the event stream's reconnects, catch-up reads),
// and the one `retry-after-ms` / `Retry-After` reader (requests, a provider's rate limit).

import { APIConnectionError, APIError } from "./errors.js";

/** A server's Retry-After beyond this is not waited for: the request fails with its error instead. */
const MAX_RETRY_AFTER_MS = 60_000;

const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]);

/**
 * Whether a failed request may be sent again: idempotent methods (or a call marked safe to repeat)
 * after no answer at all, 408, 429 or 5xx. 400/401/403/404, redirects, invalid or oversized
 * answers never are: the same request gets the same answer.
 */
export function shouldRetry(method: string, error: unknown, idempotent = false): boolean {
  if (!idempotent && !IDEMPOTENT_METHODS.has(method.toUpperCase())) return false;
  return error instanceof APIConnectionError || (error instanceof APIError && isRetryableStatus(error.status));
}

/** Statuses worth repeating. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

export interface Backoff {
  /** The first delay. */
  initialMs: number;
  /** No delay is longer than this. */
  maxMs: number;
}

/** Requests: 0.5 s, 1 s, 2 s … capped at 8 s. */
export const REQUEST_BACKOFF: Backoff = { initialMs: 500, maxMs: 8_000 };

/**
 * `initialMs · 2^attempt`, capped at `maxMs`, minus up to 25 % jitter so many clients do not
 * retry (or reconnect) in lockstep against a server that is behind.
 */
export function backoffMs(attempt: number, backoff: Backoff = REQUEST_BACKOFF, random: () => number = Math.random): number {
  const base = Math.min(backoff.initialMs * 2 ** attempt, backoff.maxMs);
  return Math.round(base * (1 - random() * 0.25));
}

/**
 * Milliseconds the server asks to wait: `retry-after-ms`, else `Retry-After` (seconds, or an HTTP
 * date measured from `now`), never negative; undefined when absent or unreadable. Header names
 * are matched case-insensitively.
 */
export function retryAfterMs(headers: Readonly<Record<string, unknown>>, now: number = Date.now()): number | undefined {
  const header = (name: string): string | undefined => {
    for (const [key, value] of Object.entries(headers)) if (typeof value === "string" && key.toLowerCase() === name) return value.trim();
    return undefined;
  };
  const ms = Number.parseFloat(header("retry-after-ms") ?? "");
  if (Number.isFinite(ms)) return Math.max(0, ms);
  const after = header("retry-after");
  if (!after) return undefined;
  const seconds = Number(after);
  const value = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(after) - now;
  return Number.isFinite(value) ? Math.max(0, value) : undefined;
}

/** How long to wait before retry `attempt` (0-based): the server's Retry-After when sane, else the backoff. */
export function retryDelayMs(attempt: number, headers?: Readonly<Record<string, unknown>>): number {
  const asked = headers === undefined ? undefined : retryAfterMs(headers);
  return asked !== undefined && asked <= MAX_RETRY_AFTER_MS ? asked : backoffMs(attempt);
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
