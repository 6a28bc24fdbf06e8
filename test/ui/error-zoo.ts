// Every error class the SDK can end a turn with, each carrying the secrets it can hold (headers,
// bodies, URLs, directories, stderr, causes): what browser-facing adapters must never pass on.
import {
  APIConnectionError,
  APIError,
  APITimeoutError,
  AbortError,
  InvalidResponseError,
  ResponseTooLargeError,
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

export const NOW = 1_800_000_000_000;
/** Strings that must never reach a browser; each error below carries some of them. */
export const SECRETS = [
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

export const errors: OpencodeError[] = [
  ...[400, 401, 403, 404, 409, 422, 429, 500, 503, 418].map((status) =>
    APIError.generate({ status, headers, body: { data: { message: "no such dir /srv/customer-project" } }, method: "GET", url, cause }),
  ),
  new InvalidResponseError({
    operation: "GET /session",
    method: "GET",
    url,
    status: 200,
    contentType: "text/html",
    snippet: "<html>provider-body-SECRET</html>",
    problem: "with text/html where JSON was expected",
    cause,
  }),
  APIError.generate({ status: 302, headers: { location: "https://login.example.com/sso?next=/srv/customer-project" }, body: "", method: "GET", url }),
  new ResponseTooLargeError("GET", url, 1024, "bytes"),
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

/** The only fields an error may have in a browser. */
export const ALLOWED = ["message", "name", "resetAt", "retryable", "status"];
