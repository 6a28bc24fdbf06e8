// Every error class the SDK can end a turn with, carrying every kind of secret it can hold, goes
// through the browser wire (toWireReply → SSE frame → readReplies): only name, message, retryable,
// status and resetAt arrive, and no header, body, URL, directory, stderr or cause.
import { describe, expect, it } from "vitest";
import { OpencodeError } from "../../src/http/errors.js";
import { AbortedError, BillingError, ContextOverflowError, InterruptedError, OutputLengthError, ProviderAuthError, ProviderServerError, RateLimitError, UnknownProviderError } from "../../src/turn/errors.js";
import { ServerStartError } from "../../src/server/errors.js";
import { ALLOWED, NOW, SECRETS, errors } from "./error-zoo.js";
import { browserSafeMessage, sseFrame, toWireError, toWireReply } from "../../src/browser/wire.js";
import { readReplies, type WireReply } from "../../src/browser/index.js";

async function throughTheWire(error: OpencodeError): Promise<WireReply> {
  const frames =
    sseFrame("reply", toWireReply({ kind: "subagent", sessionID: "ses_c", parentSessionID: "ses_p", status: "error", error }), "ses_p:msg_1:1") +
    sseFrame("reply", toWireReply({ kind: "error", sessionID: "ses_p", error }), "ses_p:msg_1:2");
  const replies: WireReply[] = [];
  const response = new Response(frames, { headers: { "content-type": "text/event-stream" } });
  for await (const reply of readReplies(response)) replies.push(reply);
  expect(replies.map((r) => r.kind)).toEqual(["subagent", "error"]);
  expect(replies[0]).toMatchObject({ error: replies[1]!.kind === "error" ? replies[1]!.error : undefined });
  return replies[1]!;
}

describe("error frames a browser receives", () => {
  it("cover every error class of the SDK", () => {
    const names = new Set(errors.map((e) => e.constructor.name));
    for (const expected of [
      "BadRequestError", "AuthenticationError", "PermissionDeniedError", "NotFoundError", "ConflictError",
      "UnprocessableEntityError", "TooManyRequestsError", "InternalServerError", "APIError", "InvalidResponseError",
      "APIConnectionError", "APITimeoutError", "AbortError", "StreamError", "SubscriberOverflowError", "RedirectError", "ResponseTooLargeError",
      RateLimitError.name, ProviderAuthError.name, BillingError.name, OutputLengthError.name, ContextOverflowError.name,
      ProviderServerError.name, AbortedError.name, UnknownProviderError.name, InterruptedError.name,
      "BinaryNotFoundError", "ServerStartError",
    ]) {
      expect(names, expected).toContain(expected);
    }
  });

  it.each(errors.map((error) => [error.constructor.name, error] as const))("%s carries only the allowlist and no secret", async (_, error) => {
    const reply = await throughTheWire(error);
    if (reply.kind !== "error") throw new Error("expected an error reply");
    expect(Object.keys(reply.error).sort().every((key) => ALLOWED.includes(key)), JSON.stringify(reply.error)).toBe(true);
    expect(reply.error.name).toBe(error.name);
    expect(reply.error.retryable).toBe(error.retryable);
    expect(reply.error.message.length).toBeGreaterThan(0);
    const json = JSON.stringify(reply);
    for (const secret of SECRETS) expect(json, `${secret} in ${json}`).not.toContain(secret);
  });

  it("keeps what a UI needs: the status, the rate limit's reset time, the gist of the message", () => {
    const notFound = toWireError(errors[3]!);
    expect(notFound).toEqual({ name: "NotFoundError", status: 404, retryable: false, message: "GET [path] failed with 404: no such dir [path]" });
    const rateLimit = toWireError(errors.find((e) => e instanceof RateLimitError)!);
    expect(rateLimit).toMatchObject({ name: "RateLimitError", status: 429, retryable: true, resetAt: NOW + 30_000 });
    expect(rateLimit.message).toBe("APIError (429): Rate limited, see [url]");
    expect(toWireError(errors.find((e) => e instanceof ProviderAuthError)!).message).toContain("Incorrect API key");
    expect(toWireError(errors.find((e) => e.name === "APIConnectionError")!).message).toBe(
      "POST [path]: could not reach the opencode server at [url] (ECONNREFUSED: nothing listens there; is `opencode serve` running, and is the port in the base URL right?)",
    );
    expect(toWireError(errors.find((e) => e instanceof ServerStartError)!).message).toBe("opencode exited with code 1");
  });

  it("masks URLs, paths and query strings but leaves ordinary text alone", () => {
    expect(browserSafeMessage("input and/or output: 3/4 done, ratio 1/2")).toBe("input and/or output: 3/4 done, ratio 1/2");
    expect(browserSafeMessage("see https://x.example/a?b=c and /etc/passwd.")).toBe("see [url] and [path].");
    expect(browserSafeMessage("GET /session/x?directory=/srv/p: 404 from api.example.com at 10.0.0.2:80")).toBe("GET [path]: 404 from [host] at [host]");
    expect(browserSafeMessage("Incorrect API key sk-proj-abcdef123456 provided")).toBe("Incorrect API key [redacted] provided");
    expect(browserSafeMessage("read 'D:\\work\\secret.txt' failed")).toBe("read '[path]' failed");
    expect(browserSafeMessage("word ".repeat(200))).toHaveLength(300);
    expect(browserSafeMessage("first line\nsecond line /srv/x")).toBe("first line");
  });
});
