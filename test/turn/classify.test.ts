// Provider error classification: the rules opencode wrappers use, one case each.
import { describe, expect, it } from "vitest";
import {
  AbortedError,
  BillingError,
  classifyProviderError,
  ContextOverflowError,
  OutputLengthError,
  ProviderAuthError,
  ProviderServerError,
  RateLimitError,
  UnknownProviderError,
} from "../../src/turn/errors.js";

const now = Date.UTC(2026, 10, 21, 12, 0, 0);
const ctx = { partialText: "so far", now };
const api = (statusCode: number | undefined, message: string, extra: Record<string, unknown> = {}) => ({
  name: "APIError",
  data: { message, isRetryable: false, ...(statusCode === undefined ? {} : { statusCode }), ...extra },
});

describe("classifyProviderError", () => {
  it.each([
    ["retry-after-ms", { "retry-after-ms": "1500" }, now + 1_500],
    ["retry-after seconds", { "Retry-After": "30" }, now + 30_000],
    ["retry-after date", { "retry-after": "Sat, 21 Nov 2026 12:05:00 GMT" }, Date.UTC(2026, 10, 21, 12, 5, 0)],
    ["no header: now + 60 s", {}, now + 60_000],
  ])("429 is a retryable RateLimitError with resetAt from %s", (_, responseHeaders, resetAt) => {
    const error = classifyProviderError(api(429, "slow down", { responseHeaders }), ctx);
    expect(error).toBeInstanceOf(RateLimitError);
    expect((error as RateLimitError).resetAt.getTime()).toBe(resetAt);
    expect(error.retryable).toBe(true);
  });

  it.each([
    [{ name: "ProviderAuthError", data: { providerID: "openai", message: "no key" } }],
    [api(401, "Incorrect API key")],
    [api(403, "forbidden")],
  ])("auth failures are ProviderAuthError, not retryable", (raw) => {
    const error = classifyProviderError(raw, ctx);
    expect(error).toBeInstanceOf(ProviderAuthError);
    expect(error.retryable).toBe(false);
  });

  it.each(["Your credit balance is too low", "insufficient_quota", "billing hard limit", "payment required", "upgrade your plan", "subscription expired"])(
    "an APIError about money (%s) is a BillingError",
    (message) => expect(classifyProviderError(api(400, message), ctx)).toBeInstanceOf(BillingError),
  );

  it("output length and context overflow keep the partial text", () => {
    const length = classifyProviderError({ name: "MessageOutputLengthError", data: {} }, ctx);
    expect(length).toBeInstanceOf(OutputLengthError);
    expect((length as OutputLengthError).partialText).toBe("so far");
    const overflow = classifyProviderError({ name: "ContextOverflowError", data: { message: "too long" } }, ctx);
    expect(overflow).toBeInstanceOf(ContextOverflowError);
    expect((overflow as ContextOverflowError).partialText).toBe("so far");
  });

  it.each([[api(500, "boom")], [api(503, "overloaded")], [api(undefined, "socket hang up", { isRetryable: true })]])(
    "server-side provider failures are a retryable ProviderServerError",
    (raw) => {
      const error = classifyProviderError(raw, ctx);
      expect(error).toBeInstanceOf(ProviderServerError);
      expect(error.retryable).toBe(true);
    },
  );

  it("MessageAbortedError is AbortedError", () => {
    expect(classifyProviderError({ name: "MessageAbortedError", data: { message: "Aborted" } }, ctx)).toBeInstanceOf(AbortedError);
  });

  it("anything else is UnknownProviderError carrying the raw error", () => {
    const raw = { name: "ContentFilterError", data: { message: "filtered" } };
    const error = classifyProviderError(raw, ctx);
    expect(error).toBeInstanceOf(UnknownProviderError);
    expect(error.raw).toBe(raw);
    expect(error.message).toContain("filtered");
    expect(classifyProviderError({}, ctx)).toBeInstanceOf(UnknownProviderError);
  });
});
