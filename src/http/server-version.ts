// Which opencode the client talks to (`client.server`): the version from `GET /global/health`
// (opencode 1.x), or from `GET /api/info` on a server without it (OpenCode 2, whose `/api/*`
// protocol this SDK does not speak yet). Session requests and turns wait for this check once, so a
// 2.x server fails fast with `UnsupportedServerError` instead of odd failures mid-turn.

import { AbortError, InvalidResponseError, NotFoundError, OpencodeError } from "./errors.js";
import type { CallOptions, ResponseData, TypedRequest } from "./paths.js";
import type { Transport } from "./transport.js";

/** What `GET /global/health` answers: `{ healthy: true, version }`. */
export type ServerHealth = ResponseData<"get", "/global/health">;

/** The server speaks an API this client does not (OpenCode 2 and later). */
export class UnsupportedServerError extends OpencodeError {
  override readonly name = "UnsupportedServerError" as const;
  readonly retryable = false;
  constructor(readonly version: string) {
    super(
      `opencode ${version} is not supported: this client speaks the opencode 1.x API ` +
        "(/event, /session/:id/prompt_async); OpenCode 2 serves /api/* instead",
    );
  }
}

/** The base URL answers, but not as an opencode server does: an HTML page, another API. */
export class NotOpencodeError extends OpencodeError {
  override readonly name = "NotOpencodeError" as const;
  readonly retryable = false;
  constructor(readonly baseUrl: string, answer: string, cause?: unknown) {
    super(
      `${baseUrl} is not an opencode server: GET /global/health ${answer}. ` +
        "Is the base URL the address `opencode serve` printed (with its path prefix, behind a proxy)?",
      { cause },
    );
  }
}

/** The first major version whose API this client does not speak. */
const FIRST_UNSUPPORTED_MAJOR = 2;

export class ServerInfo {
  private checked: Promise<ServerHealth> | undefined;

  constructor(private readonly transport: Transport) {}


  /** `GET /global/health`; rejects with `UnsupportedServerError` on an OpenCode 2 server. */
  async health(init: CallOptions = {}): Promise<ServerHealth> {
    let health: ServerHealth;
    try {
      health = (await this.transport.request("get", "/global/health", init)) as ServerHealth;
    } catch (error) {
      // OpenCode 2 has no /global/health; a single-page app fallback may answer HTML instead of 404.
      if (!(error instanceof NotFoundError || error instanceof InvalidResponseError)) throw error;
      const info = await this.transport.request("get", "/api/info", init).catch(() => undefined);
      const version = (info as { version?: unknown } | undefined)?.version;
      if (typeof version !== "string") throw this.#notOpencode(error);
      health = { healthy: true, version };
    }
    // Another JSON API (or a catch-all route) answers 200 too, without opencode's health.
    if (typeof (health as { version?: unknown } | undefined)?.version !== "string") {
      throw new NotOpencodeError(this.#baseUrl(), "answered JSON without a version");
    }
    if (typeof health?.version === "string" && majorOf(health.version) >= FIRST_UNSUPPORTED_MAJOR) {
      throw new UnsupportedServerError(health.version);
    }
    return health;
  }

  #notOpencode(error: NotFoundError | InvalidResponseError): NotOpencodeError {
    const answer =
      error instanceof NotFoundError
        ? "answered 404"
        : /html/i.test(error.contentType)
          ? "answered an HTML page"
          : /\bjson\b/i.test(error.contentType)
            ? "answered JSON without a version"
          : `answered ${error.contentType || "a body without a content-type"}, not JSON`;
    return new NotOpencodeError(this.#baseUrl(), answer, error);
  }

  #baseUrl(): string {
    return this.transport.displayUrl(this.transport.options.baseUrl).href;
  }

  /** The server's version, e.g. "1.18.33". */
  async version(init: CallOptions = {}): Promise<string> {
    return (await this.health(init)).version;
  }

  /**
   * Resolves once the server is known to speak the 1.x API; the answer is kept. A server found
   * unsupported stays so; any other failure (unreachable, 401…) is the caller's error and the
   * next call asks again.
   */
  check(signal?: AbortSignal): Promise<ServerHealth> {
    const checked = (this.checked ??= this.health().catch((error: unknown) => {
      if (!(error instanceof UnsupportedServerError)) this.checked = undefined;
      throw error;
    }));
    return signal ? abortable(checked, signal) : checked;
  }
}

/**
 * `request` that first waits for `server.check()`: what session handles and turns use, so the
 * first of them on an OpenCode 2 server fails with `UnsupportedServerError`.
 */
export function checkedRequest(request: TypedRequest, server: ServerInfo): TypedRequest {
  return async (method, path, ...init) => {
    await server.check((init[0] as { signal?: AbortSignal } | undefined)?.signal);
    return request(method, path, ...init);
  };
}

function majorOf(version: string): number {
  const major = Number.parseInt(version, 10);
  return Number.isFinite(major) ? major : 0;
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new AbortError("aborted while checking the server version", { cause: signal.reason }));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new AbortError("aborted while checking the server version", { cause: signal.reason }));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
