// The SDK's error taxonomy for the transport: one base class, HTTP status errors built by one
// factory, and connection/timeout/abort/stream errors. Messages name method and path, never a
// secret: URLs are stored with userinfo and credential query parameters removed, and what a
// server sends back (bodies, headers) reaches an error only through the transport's scrubber.

export type ErrorHeaders = Record<string, string>;

export abstract class OpencodeError extends Error {
  abstract override readonly name: string;
  /** Whether repeating the same operation later may succeed. */
  abstract readonly retryable: boolean;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }

  /** Keeps `JSON.stringify(error)` useful (Error's own fields are not enumerable). */
  toJSON(): Record<string, unknown> {
    const { cause: _cause, stack: _stack, ...own } = this as unknown as Record<string, unknown>;
    return { ...own, name: this.name, message: this.message };
  }
}

interface APIErrorInit {
  status: number;
  headers: ErrorHeaders;
  body: unknown;
  method: string;
  url: string;
  cause?: unknown;
  /** Who the request said it was, so a 401/403 can say what to fix (never the password itself). */
  auth?: { username: string; passwordSent: boolean };
}

/** A response with a non-2xx status. `APIError.generate` picks the subclass. */
export class APIError extends OpencodeError {
  override readonly name: string = "APIError";
  readonly status: number;
  readonly headers: ErrorHeaders;
  readonly body: unknown;
  readonly method: string;
  readonly url: string;
  /** The id the server logged this failure under (`err_…`), when it gave one. */
  readonly ref: string | undefined;

  constructor(init: APIErrorInit, message = APIError.describe(init)) {
    super(message, { cause: init.cause });
    this.status = init.status;
    this.headers = init.headers;
    this.body = init.body;
    this.method = init.method;
    this.url = init.url;
    this.ref = serverRef(init.body);
  }

  get retryable(): boolean {
    return this.status === 408 || this.status === 429 || this.status >= 500;
  }

  static generate(init: APIErrorInit): APIError {
    switch (init.status) {
      case 400: return new BadRequestError(init);
      case 401: return new AuthenticationError(init);
      case 403: return new PermissionDeniedError(init);
      case 404: return new NotFoundError(init);
      case 409: return new ConflictError(init);
      case 422: return new UnprocessableEntityError(init);
      case 429: return new TooManyRequestsError(init);
      default:
        if (init.status === 0 || (init.status >= 300 && init.status < 400)) return new RedirectError(init);
 return init.status >= 500 ? new InternalServerError(init) : new APIError(init);
    }
  }

  private static describe(init: APIErrorInit): string {
    const detail = serverMessage(init.body);
    const failed = `${init.method} ${pathOf(init.url)} failed with ${init.status}${detail ? `: ${detail}` : ""}`;
    return init.auth && (init.status === 401 || init.status === 403) ? `${failed}. ${credentialsAdvice(init.url, init.auth)}` : failed;
  }
}

/** What to do about a refused login: set the password, or check the one that was sent. */
function credentialsAdvice(url: string, auth: { username: string; passwordSent: boolean }): string {
  const server = `the opencode server at ${originOf(url)}`;
  return auth.passwordSent
    ? `${server} rejected the username "${auth.username}" and the password sent: check the password option / OPENCODE_SERVER_PASSWORD ` +
        "(and the username option / OPENCODE_SERVER_USERNAME) against the server's"
    : `${server} wants a username and password: set the password option or OPENCODE_SERVER_PASSWORD to the server's ` +
        `(and the username option / OPENCODE_SERVER_USERNAME if it is not "${auth.username}")`;
}

export class BadRequestError extends APIError { override readonly name = "BadRequestError" as const; }
/** 401: the server wants (other) basic-auth credentials. Never retried. */
export class AuthenticationError extends APIError { override readonly name = "AuthenticationError" as const; }
export class PermissionDeniedError extends APIError { override readonly name = "PermissionDeniedError" as const; }
export class NotFoundError extends APIError { override readonly name = "NotFoundError" as const; }
export class ConflictError extends APIError { override readonly name = "ConflictError" as const; }
export class UnprocessableEntityError extends APIError { override readonly name = "UnprocessableEntityError" as const; }
/** HTTP 429 from the opencode server itself (a provider's 429 is a turn's `RateLimitError`). */
export class TooManyRequestsError extends APIError { override readonly name = "TooManyRequestsError" as const; }
export class InternalServerError extends APIError { override readonly name = "InternalServerError" as const; }

/**
 * A 3xx answer. The client never follows redirects, on any engine: a redirect to another origin
 * would carry the basic-auth header there, and the engines disagree on following them. `location`
 * is where the server pointed (credentials removed); undefined where the runtime hides it (a
 * browser's `fetch` reports such an answer as status 0).
 */
export class RedirectError extends APIError {
  override readonly name = "RedirectError" as const;
  readonly location: string | undefined;
  constructor(init: APIErrorInit) {
    const location = init.headers["location"];
    super(init, `${init.method} ${pathOf(init.url)} was redirected (${init.status || "opaque"})${location ? ` to ${location}` : ""}; the client does not follow redirects: point baseUrl at the final address`);
    this.location = location;
  }
}

export interface InvalidResponseInit {
  /** The operation as the spec names its route, e.g. `GET /session/{sessionID}`. */
  operation: string;
  method: string;
  url: string;
  status: number;
  contentType: string;
  /** The start of the body (scrubbed), for telling a proxy's login page from a truncated answer. */
  snippet: string;
  /** What was wrong, e.g. `with text/html where JSON was expected`. */
  problem: string;
  cause?: unknown;
}

/** The server answered 2xx, but not with what the operation promises (HTML from a proxy, bad JSON, an empty body, `null`). */
export class InvalidResponseError extends OpencodeError {
  override readonly name = "InvalidResponseError" as const;
  readonly retryable = false;
  readonly operation: string;
  readonly method: string;
  readonly url: string;
  readonly status: number;
  readonly contentType: string;
  readonly snippet: string;
  constructor(init: InvalidResponseInit) {
    super(`${init.method} ${pathOf(init.url)} answered ${init.status} ${init.problem}: ${JSON.stringify(init.snippet)}`, { cause: init.cause });
    this.operation = init.operation;
    this.method = init.method;
    this.url = init.url;
    this.status = init.status;
    this.contentType = init.contentType;
    this.snippet = init.snippet;
  }
}

/**
 * A response body (or one event frame of the stream) exceeded its bound: the client stopped
 * reading and closed the connection instead of holding it all in memory. Raise `maxResponseBytes`
 * (per client or per call) or `events.maxFrameChars` when such answers are expected.
 */
export class ResponseTooLargeError extends OpencodeError {
  override readonly name = "ResponseTooLargeError" as const;
  constructor(
    readonly method: string,
    readonly url: string,
    /** The bound that was exceeded: bytes of a body, or characters of an event frame. */
    readonly limit: number,
    readonly unit: "bytes" | "characters",
    /** Whether trying again may work: a stream reconnects (the frame is gone); the same request would get the same body. */
    readonly retryable = false,
  ) {
    super(`${method} ${pathOf(url)}: the ${unit === "bytes" ? "response body" : "event frame"} exceeded ${limit} ${unit}; the connection was closed`);
  }
}

/** No HTTP answer at all: refused, reset, DNS, TLS. */
export class APIConnectionError extends OpencodeError {
  override readonly name: string = "APIConnectionError";
  readonly retryable: boolean = true;
  /** The system error code (`ECONNREFUSED`, `ENOTFOUND`…) when there is one. */
  readonly code: string | undefined;
  constructor(readonly method: string, readonly url: string, cause?: unknown) {
    super(`${method} ${pathOf(url)}: could not reach the opencode server at ${originOf(url)} (${unreachable(cause)})`, { cause });
    this.code = systemCode(cause);
  }
}

export class APITimeoutError extends APIConnectionError {
  override readonly name = "APITimeoutError" as const;
  constructor(method: string, url: string, readonly timeoutMs: number, cause?: unknown) {
    super(method, url, cause);
    this.message = `${method} ${pathOf(url)} timed out after ${timeoutMs} ms`;
  }
}

/** The caller aborted (AbortSignal, `turn.abort()`, `client.close()`). */
export class AbortError extends OpencodeError {
  override readonly name = "AbortError" as const;
  readonly retryable = false;
  constructor(message = "The operation was aborted", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The `/event` stream failed in a way reconnecting cannot fix, or a subscriber fell too far behind. */
export class StreamError extends OpencodeError {
  override readonly name: string = "StreamError";
  constructor(message: string, readonly retryable = false, options?: { cause?: unknown }) {
    super(message, options);
  }
}

function serverMessage(body: unknown): string | undefined {
  if (typeof body === "string") return body.trim().slice(0, 300) || undefined;
  if (body === null || typeof body !== "object") return undefined;
  const record = body as Record<string, unknown>;
  const ref = serverRef(body);
  // opencode hides unexpected failures behind "Check server logs"; its `ref` is what finds them there.
  const withRef = (message: string) => (ref ? `${message} (ref ${ref})` : message);
  for (const candidate of [record["data"], record["error"], record]) {
    if (candidate && typeof candidate === "object") {
      const message = (candidate as Record<string, unknown>)["message"];
      if (typeof message === "string" && message) return withRef(message.slice(0, 300));
    }
  }
  // Schema validation failures come as `{ "_tag": "BadRequest" }`.
  for (const key of ["name", "_tag"]) {
    if (typeof record[key] === "string") return withRef(record[key]);
  }
  return undefined;
}

/** The id opencode logs an unexpected error under: `{ name: "UnknownError", data: { message, ref: "err_…" } }`. */
function serverRef(body: unknown): string | undefined {
  if (body === null || typeof body !== "object") return undefined;
  const record = body as Record<string, unknown>;
  for (const candidate of [record["data"], record["error"], record]) {
    if (candidate && typeof candidate === "object") {
      const ref = (candidate as Record<string, unknown>)["ref"];
      if (typeof ref === "string" && ref) return ref.slice(0, 100);
    }
  }
  return undefined;
}

function pathOf(url: string): string {
  try {
    const parsed = new URL(url);
    return parsed.pathname + parsed.search;
  } catch {
    return url;
  }
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return "the configured URL";
  }
}

/** Why a URL could not be reached, with what to check for the common causes. */
function unreachable(cause: unknown): string {
  const code = systemCode(cause);
  if (code === "ECONNREFUSED") return "ECONNREFUSED: nothing listens there; is `opencode serve` running, and is the port in the base URL right?";
  if (code === "ENOTFOUND") return "ENOTFOUND: no such host; check the base URL's host name";
  return code ?? causeMessage(cause) ?? "unknown error";
}

/** The first system error code down the cause chain (fetch wraps ECONNREFUSED in "fetch failed"). */
function systemCode(cause: unknown): string | undefined {
  for (let link = cause, depth = 0; link && typeof link === "object" && depth < 5; depth++) {
    const { code, cause: next } = link as { code?: unknown; cause?: unknown };
    if (typeof code === "string") return code;
    link = next;
  }
  return undefined;
}

function causeMessage(cause: unknown): string | undefined {
  for (let link = cause, depth = 0; link && typeof link === "object" && depth < 5; depth++) {
    const { message, cause: next } = link as { message?: unknown; cause?: unknown };
    if (typeof message === "string") return message;
    link = next;
  }
  return undefined;
}

/**
 * The client or a call was set up wrong: a base URL that is not an absolute http(s) URL, a model
 * string that is not "provider/model", a missing path parameter, `fetch` and `dispatcher` together,
 * a Turn read twice. Thrown at once, before any request; never retryable.
 */
export class ConfigurationError extends OpencodeError {
  override readonly name = "ConfigurationError" as const;
  readonly retryable = false;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * `request()` was called on a server-sent event route (`/event`, `/global/event`, …): a JSON
 * request would wait on a stream that never ends. Event streams are read with `client.events`.
 */
export class EventStreamRouteError extends OpencodeError {
  override readonly name = "EventStreamRouteError" as const;
  readonly retryable = false;
  constructor(readonly method: string, readonly path: string) {
    super(`${method.toUpperCase()} ${path} is a server-sent event stream, which request() cannot read: use client.events.subscribe() instead`);
  }
}
