// When and how long to wait before repeating a request: capped exponential backoff with
// jitter, overridden by the server's `retry-after-ms` / `Retry-After` when they are sane.

const MAX_RETRY_AFTER_MS = 60_000;

export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]);

/** Statuses worth repeating: 400/401/403/404 never are. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** 0.5 s · 2^attempt, capped at 8 s, minus up to 25 % jitter so clients do not retry in lockstep. */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(500 * 2 ** attempt, 8_000);
  return Math.round(base * (1 - random() * 0.25));
}

/** Reads `retry-after-ms`, then `Retry-After` (seconds or HTTP date); undefined when absent or > 60 s. */
export function retryAfterMs(headers: Record<string, string>, now: number = Date.now()): number | undefined {
  const ms = headers["retry-after-ms"];
  if (ms !== undefined) {
    const value = Number.parseFloat(ms);
    if (Number.isFinite(value) && value >= 0 && value <= MAX_RETRY_AFTER_MS) return value;
  }
  const after = headers["retry-after"];
  if (after === undefined) return undefined;
  const seconds = Number(after.trim());
  const value = after.trim() !== "" && Number.isFinite(seconds) ? seconds * 1000 : Date.parse(after) - now;
  return Number.isFinite(value) && value >= 0 && value <= MAX_RETRY_AFTER_MS ? value : undefined;
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
