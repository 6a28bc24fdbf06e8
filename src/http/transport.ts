// The one HTTP transport every layer uses: basic auth, directory scoping, per-attempt timeouts,
// AbortSignal, retries and typed errors, over an engine — undici on Node, WHATWG fetch elsewhere
// or when one is injected — so both behave the same.

import { defaultEngineFactory, type EngineResponse, type HttpEngine } from "./engine.js";
import {
  AbortError,
  ConfigurationError,
  APIConnectionError,
  APIError,
  APITimeoutError,
  InvalidResponseError,
  OpencodeError,
  ResponseTooLargeError,
  type ErrorHeaders,
} from "./errors.js";
import { fetchEngine } from "./fetch-engine.js";
import { Limiter } from "./limiter.js";
import type { ClientOptions, ResolvedOptions } from "./options.js";
import { resolveOptions } from "./options.js";
import type { RequestOptions } from "./paths.js";
import { redactCause, redactHeaders, redactValue, SECRET_QUERY_KEY } from "./redact.js";
import { responseProblem } from "./response-shapes.js";
import { retryDelayMs, shouldRetry, sleep } from "./retry.js";

export type QueryValue = string | number | boolean | null | undefined | readonly (string | number | boolean)[];

export interface RawRequest extends RequestOptions {
  path?: Record<string, string | number> | undefined;
  query?: Record<string, unknown> | undefined;
  body?: unknown;
}

/** A 2xx answer whose body is still unread: `stream()` it, or `cancel()` it. */
export type StreamResponse = EngineResponse;

/** How much of a body an error quotes. */
const SNIPPET_CHARS = 200;

const USER_AGENT = "opencode-serve-client";

export class Transport {
  readonly options: ResolvedOptions;
  readonly engine: HttpEngine;
  /** When the server last answered a request (its response headers arrived), epoch ms; 0 before the first. */
  lastAnswerAt = 0;
  /**
   * Requests in flight, at most `maxConnections`; the rest wait here, in order, before their
   * timeout starts: a request queued behind a busy server has not been sent yet, so it cannot have
   * timed out. The event stream takes no slot.
   */
  readonly #pool: Limiter;
  #closed = false;

  constructor(options: ClientOptions = {}) {
    this.options = resolveOptions(options);
    this.engine = chooseEngine(options, this.options.maxConnections);
    this.#pool = new Limiter(this.options.maxConnections);
  }

  /** Absolute URL for a path template, its params and query (directory scoping added). */
  url(template: string, pathParams?: Record<string, string | number>, query?: Record<string, unknown>): URL {
    const path = fillPath(template, pathParams);
    const url = new URL(path.replace(/^\//, ""), this.options.baseUrl);
    const merged: Record<string, unknown> = { ...query };
    if (this.options.directory !== undefined && merged["directory"] === undefined) {
      merged["directory"] = this.options.directory;
    }
    for (const [key, value] of Object.entries(merged)) appendQuery(url.searchParams, key, value);
    return url;
  }

  /** Sends a request, retrying per policy, and returns the parsed JSON (undefined for empty bodies). */
  async request(method: string, template: string, init: RawRequest = {}): Promise<unknown> {
    const verb = method.toUpperCase();
    const url = this.url(template, init.path, init.query);
    const shown = displayUrl(url);
    const maxRetries = init.maxRetries ?? this.options.maxRetries;
    const body = init.body === undefined ? undefined : JSON.stringify(init.body);
    const operation = `${verb} ${template}`;

    for (let attempt = 0; ; attempt++) {
      this.#assertOpen(verb, shown);
      let delay: number;
      try {
        return await this.#attempt(operation, verb, url, shown, body, init);
      } catch (error) {
        if (attempt >= maxRetries || !shouldRetry(verb, error, init.idempotent === true)) throw error;
        delay = retryDelayMs(attempt, error instanceof APIError ? error.headers : undefined);
        // The reason is an error message the transport built: already scrubbed.
        this.options.logger.info?.(`retrying ${verb} ${shown.pathname} in ${delay} ms`, {
          attempt: attempt + 1,
          reason: (error as OpencodeError).message,
        });
      }
      try {
        await sleep(delay, init.signal);
      } catch (reason) {
        throw new AbortError(`${verb} ${shown.pathname} was aborted while waiting to retry`, { cause: reason });
      }
    }
  }

  /**
   * Opens a long-lived response (the SSE stream): `timeoutMs` bounds only the wait for the
   * response headers, never the body; no retries (the caller reconnects); non-2xx turned into
   * the typed APIError.
   */
  async openStream(template: string, init: RawRequest & { signal: AbortSignal }): Promise<StreamResponse> {
    const url = this.url(template, init.path, init.query);
    const shown = displayUrl(url);
    this.#assertOpen("GET", shown);
    const headers = this.headers({ accept: "text/event-stream", ...init.headers });
    let response: EngineResponse;
    // The timeout covers getting the response headers only: the body is meant to stay open.
    const connectTimeout = init.timeoutMs ?? this.options.timeoutMs;
    const timeout = new AbortController();
    const timer = connectTimeout > 0 && Number.isFinite(connectTimeout) ? setTimeout(() => timeout.abort(), connectTimeout) : undefined;
    try {
      response = await this.engine.send({
        method: "GET",
        url,
        headers,
        body: undefined,
        signal: anySignal([init.signal, timeout.signal]),
        stream: true,
      });
    } catch (error) {
      throw this.#failure("GET", shown, error, init.signal, timeout.signal, connectTimeout);
    } finally {
      clearTimeout(timer);
    }
    if (response.status < 200 || response.status >= 300) {
      const text = await this.#readText(response, "GET", shown, init.maxResponseBytes).catch(() => "");
      throw this.#statusError(response.status, response.headers, text, "GET", shown);
    }
    return response;
  }

  /** Who requests say they are, for a 401/403's advice: the username, and whether a password went along. */
  #auth(): { username: string; passwordSent: boolean } {
    return { username: this.options.username, passwordSent: this.options.authorization !== undefined };
  }

  /** Scrubs what the client must never show (its password, auth tokens, credential URLs). */
  redact(text: string): string {
    return this.options.redact(text);
  }

  /** Request headers with auth; never logged or stored on errors. */
  headers(extra?: Record<string, string>): Record<string, string> {
    const headers: Record<string, string> = { "user-agent": USER_AGENT, ...this.options.headers, ...extra };
    if (this.options.authorization) headers["authorization"] = this.options.authorization;
    return headers;
  }

  /** Displayable URL for logs and errors (no userinfo, credential query values redacted). */
  displayUrl(url: URL): URL {
    return displayUrl(url);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.engine.close();
  }

  #assertOpen(method: string, url: URL): void {
    if (this.#closed) throw new AbortError(`${method} ${url.pathname}: the client is closed`);
  }

  async #attempt(operation: string, method: string, url: URL, shown: URL, body: string | undefined, init: RawRequest): Promise<unknown> {
    let release: () => void;
    try {
      release = await this.#pool.acquire(init.signal);
    } catch (reason) {
      throw new AbortError(`${method} ${shown.pathname} was aborted while waiting for a connection`, { cause: reason });
    }
    try {
      return await this.#send(operation, method, url, shown, body, init);
    } finally {
      release();
    }
  }

  async #send(operation: string, method: string, url: URL, shown: URL, body: string | undefined, init: RawRequest): Promise<unknown> {
    const timeoutMs = init.timeoutMs ?? this.options.timeoutMs;
    const timeout = timeoutMs > 0 && Number.isFinite(timeoutMs) ? AbortSignal.timeout(timeoutMs) : undefined;
    const signal = anySignal([init.signal, timeout]);
    const headers = this.headers({ accept: "application/json", ...init.headers });
    if (body !== undefined) headers["content-type"] = "application/json";

    let status: number;
    let responseHeaders: ErrorHeaders;
    let text: string;
    try {
      const response = await this.engine.send({ method, url, headers, body, signal });
      this.lastAnswerAt = Date.now();
      status = response.status;
      responseHeaders = response.headers;
      text = await this.#readText(response, method, shown, init.maxResponseBytes);
    } catch (error) {
      throw this.#failure(method, shown, error, init.signal, timeout, timeoutMs);
    }

    if (status < 200 || status >= 300) throw this.#statusError(status, responseHeaders, text, method, shown);
    init.onHeaders?.(responseHeaders);
    const contentType = responseHeaders["content-type"] ?? "";
    const invalid = (problem: string, cause?: unknown) =>
      new InvalidResponseError({
        operation,
        method,
        url: shown.href,
        status,
        contentType,
        snippet: this.options.redact(text.slice(0, SNIPPET_CHARS)),
        problem,
        cause: redactCause(cause, this.options.redact),
      });
    let value: unknown;
    if (status !== 204 && text.length > 0) {
      if (!/\bjson\b/i.test(contentType)) throw invalid(`with ${contentType || "no content-type"} where JSON was expected`);
      try {
        value = JSON.parse(text);
      } catch (error) {
        throw invalid(`with ${contentType} that is not valid JSON`, error);
      }
    }
    const problem = responseProblem(operation, value);
    if (problem !== undefined) throw invalid(`${status === 204 || text.length === 0 ? "with no body" : `with ${describe(value)}`} where ${problem} was expected`);
    return value;
  }

  /**
   * The body as text, at most `maxResponseBytes` of it: a larger one (by its content-length, or
   * once that many bytes arrived) is cancelled — connection closed — and a `ResponseTooLargeError`.
   */
  async #readText(response: EngineResponse, method: string, shown: URL, perCall: number | undefined): Promise<string> {
    const limit = perCall ?? this.options.maxResponseBytes;
    const tooLarge = () => new ResponseTooLargeError(method, shown.href, limit, "bytes");
    const declared = Number(response.headers["content-length"]);
    if (Number.isFinite(declared) && declared > limit) {
      response.cancel();
      throw tooLarge();
    }
    const decoder = new TextDecoder();
    const parts: string[] = [];
    let received = 0;
    let exceeded = false;
    try {
      await response.stream((chunk) => {
        if (exceeded) return;
        received += chunk.byteLength;
        if (received > limit) {
          exceeded = true;
          response.cancel();
          return;
        }
        parts.push(decoder.decode(chunk, { stream: true }));
      });
    } catch (error) {
      if (!exceeded) throw error;
    }
    if (exceeded) throw tooLarge();
    parts.push(decoder.decode());
    return parts.join("");
  }

  /** The typed error for a non-2xx answer, its body and headers scrubbed before anything quotes them. */
  #statusError(status: number, headers: ErrorHeaders, text: string, method: string, shown: URL): APIError {
    const redact = this.options.redact;
    return APIError.generate({
      status,
      headers: redactHeaders(headers, redact),
      body: redactValue(parseMaybeJson(text), redact),
      method,
      url: shown.href,
      auth: this.#auth(),
    });
  }

  #failure(
    method: string,
    shown: URL,
    error: unknown,
    userSignal: AbortSignal | undefined,
    timeout: AbortSignal | undefined,
    timeoutMs: number,
  ): OpencodeError {
    if (error instanceof OpencodeError) return error;
    if (userSignal?.aborted) return new AbortError(`${method} ${shown.pathname} was aborted`, { cause: userSignal.reason });
    const cause = redactCause(error, this.options.redact);
    if (timeout?.aborted) return new APITimeoutError(method, shown.href, timeoutMs, cause);
    if (this.#closed) return new AbortError(`${method} ${shown.pathname}: the client was closed`, { cause });
    return new APIConnectionError(method, shown.href, cause);
  }
}

/** Replaces `{name}` segments; values are percent-encoded so they cannot leave their segment. */
export function fillPath(template: string, params: Record<string, string | number> = {}): string {
  return template.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined || value === "") throw new ConfigurationError(`missing path parameter "${name}" for ${template}`);
    const text = String(value);
    // URL parsers resolve "." and ".." (even as %2E) as dot-segments; no encoding keeps them in place.
    if (text === "." || text === "..") throw new ConfigurationError(`path parameter "${name}" cannot be "${text}"`);
    return encodeURIComponent(text);
  });
}

function appendQuery(params: URLSearchParams, key: string, value: unknown): void {
  if (value === undefined || value === null) return;
  if (Array.isArray(value)) {
    for (const item of value) appendQuery(params, key, item);
  } else if (typeof value === "object") {
    params.append(key, JSON.stringify(value));
  } else {
    params.append(key, String(value));
  }
}

function displayUrl(url: URL): URL {
  const shown = new URL(url.href);
  shown.username = "";
  shown.password = "";
  for (const key of [...shown.searchParams.keys()]) {
    if (SECRET_QUERY_KEY.test(key)) shown.searchParams.set(key, "REDACTED");
  }
  return shown;
}

/** One signal for several; `AbortSignal.any` where there are two. */
function anySignal(signals: readonly (AbortSignal | undefined)[]): AbortSignal | undefined {
  const present = signals.filter((signal): signal is AbortSignal => signal !== undefined);
  return present.length > 1 ? AbortSignal.any(present) : present[0];
}

/**
 * An injected `fetch` wins; else the platform's default (undici, installed by the Node entry);
 * else the runtime's global `fetch`.
 */
function chooseEngine(options: ClientOptions, maxConnections: number): HttpEngine {
  const dispatcher = (options as { dispatcher?: unknown }).dispatcher;
  if (options.fetch !== undefined) {
    if (dispatcher !== undefined) throw new ConfigurationError("opencode-serve-client: pass either fetch or dispatcher, not both");
    return fetchEngine(options.fetch);
  }
  const platform = defaultEngineFactory();
  if (platform !== undefined) return platform(options, maxConnections);
  if (dispatcher !== undefined) {
    throw new ConfigurationError("opencode-serve-client: dispatcher needs the Node build of the client (undici); pass fetch instead");
  }
  if (typeof globalThis.fetch !== "function") {
    throw new ConfigurationError("opencode-serve-client: this runtime has no global fetch; pass one as the fetch option");
  }
  // Called through a closure: some runtimes' fetch throws "Illegal invocation" when detached from globalThis.
  return fetchEngine((input, init) => globalThis.fetch(input, init));
}

/** What came instead, in a few words: `null`, `an empty object`, `an array`, `a string`. */
function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return value.length === 0 ? "an empty array" : "an array";
  if (typeof value === "object") return Object.keys(value).length === 0 ? "an empty object" : "an object";
  return `a ${typeof value}`;
}

function parseMaybeJson(text: string): unknown {
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text.slice(0, 2_000);
  }
}
