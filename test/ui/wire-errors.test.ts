// Every error class the SDK can end a turn with, carrying every kind of secret it can hold, goes
// through the browser wire (toWireReply → SSE frame → readReplies): only name, message, retryable,
// status and resetAt arrive, and no header, body, URL, directory, stderr or cause.
import { describe, expect, it } from "vitest";
import {
  APIConnectionError,
  APIError,
  APITimeoutError,
  AbortError,
  InvalidResponseError,
  OpencodeError,
  StreamError,
} from "../../src/http/errors.js";
import { SubscriberOverflowError } from "../../src/events/errors.js";
import {
  AbortedError,
  BillingError,
  ContextOverflowError,
  InterruptedError,
  OutputLengthError,
  ProviderAuthError,
  ProviderServerError,
  RateLimitError,
  UnknownProviderError,
  classifyProviderError,
  type RawProviderError,
} from "../../src/turn/errors.js";
import { BinaryNotFoundError, ServerStartError } from "../../src/server/errors.js";
import { browserSafeMessage, sseFrame, toWireError, toWireReply } from "../../src/browser/wire.js";
import { readReplies, type WireReply } from "../../src/browser/index.js";

const NOW = 1_800_000_000_000;
/** Strings that must never reach a browser; each error below carries some of them. */
const SECRETS = [
  "sk-live-SECRET",
  "hunter2",
  "Basic b3Bl",
  "x-provider-request-id",
  "cf-ray",
  "provider-body-SECRET",
  "api.provider.example",
  "127.0.0.1:4096",
  "/srv/customer-project",
  "/home/alice",
  "C:\\Users\\alice",
  "directory=",
  "stderr-SECRET",
  "cause-SECRET",
  "http://",
  "https://",
];

const headers = {
  authorization: "Basic b3BlbmNvZGU6aHVudGVyMg==",
  "x-provider-request-id": "req_123",
  "set-cookie": "session=sk-live-SECRET",
};
const url = "http://opencode:hunter2@127.0.0.1:4096/session/ses_1/message?directory=/srv/customer-project";
const cause = new Error("cause-SECRET at /home/alice/.cache");

function raw(name: string, data: Record<string, unknown>): RawProviderError {
  return {
    name,
    data: {
      responseHeaders: { "cf-ray": "8f00", "x-provider-request-id": "abc", "retry-after": "30" },
      responseBody: '{"error":"provider-body-SECRET"}',
      url: "https://api.provider.example/v1/chat/completions",
      ...data,
    },
  };
}
const provider = (name: string, data: Record<string, unknown>) =>
  classifyProviderError(raw(name, data), { partialText: "partial at /home/alice/notes", now: NOW });

const errors: OpencodeError[] = [
  ...[400, 401, 403, 404, 409, 422, 429, 500, 503, 418].map((status) =>
    APIError.generate({ status, headers, body: { data: { message: "no such dir /srv/customer-project" } }, method: "GET", url, cause }),
  ),
  new InvalidResponseError("GET", url, 200, "text/html", "<html>provider-body-SECRET</html>", cause),
  new APIConnectionError("POST", url, Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:4096"), { code: "ECONNREFUSED" })),
  new APITimeoutError("GET", url, 60_000, cause),
  new AbortError("aborted", { cause }),
  new StreamError("the event stream at http://127.0.0.1:4096/event failed", true, { cause }),
  new SubscriberOverflowError(1000),
  provider("APIError", { statusCode: 429, message: "Rate limited, see https://api.provider.example/limits", isRetryable: true }),
  provider("ProviderAuthError", { providerID: "openai", message: "Incorrect API key sk-live-SECRET provided" }),
  provider("APIError", { statusCode: 402, message: "billing: quota exceeded for org at https://api.provider.example/billing" }),
  provider("MessageOutputLengthError", {}),
  provider("ContextOverflowError", { message: "context overflow reading /home/alice/big.txt" }),
  provider("APIError", { statusCode: 502, message: "Bad gateway from api.provider.example", isRetryable: true }),
  provider("MessageAbortedError", { message: "aborted" }),
  provider("UnknownError", { message: "EACCES: permission denied, open 'C:\\Users\\alice\\key.pem'" }),
  new InterruptedError("the server stopped before the turn finished", "partial text in /srv/customer-project"),
  new BinaryNotFoundError(["/home/alice/bin/opencode", "/srv/customer-project/node_modules/opencode-ai"]),
  new ServerStartError("opencode exited with code 1", "stderr-SECRET: cannot open /srv/customer-project/.opencode"),
];

const ALLOWED = ["message", "name", "resetAt", "retryable", "status"];

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
      "APIConnectionError", "APITimeoutError", "AbortError", "StreamError", "SubscriberOverflowError",
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
      "POST [path]: could not reach the opencode server at [url] (ECONNREFUSED)",
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
