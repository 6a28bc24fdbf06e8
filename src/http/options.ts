// Turns `createClient` options and the environment into one resolved connection config:
// where the server is, how to authenticate, and which URL form is safe to show in errors.

import { ConfigurationError } from "./errors.js";
import type { FetchFunction } from "./fetch-engine.js";
import { defaultLogger, type Logger } from "./logger.js";
import { redactor, SECRET_HEADER, type Redactor } from "./redact.js";
import { base64, safeDecode } from "./encoding.js";

export interface ClientOptions {
  /** Default: env `OPENCODE_BASE_URL`, else `http://127.0.0.1:4096`. `user:pass@` becomes the auth. */
  baseUrl?: string | URL;
  /** Default: env `OPENCODE_SERVER_USERNAME`, else `opencode`. */
  username?: string;
  /** Default: env `OPENCODE_SERVER_PASSWORD`. When set, every request and the event stream use basic auth. */
  password?: string;
  /** Project directory the server should scope requests to. */
  directory?: string;
  /** Per-attempt request timeout. Default 60 000 ms. The event stream has a silence watchdog instead. */
  timeoutMs?: number;
  /** Retries for idempotent requests (and calls marked safe). Default 2. */
  maxRetries?: number;
  /**
   * Requests in flight to the server at once (the sockets of the client's own pool); more wait
   * their turn, in order. The event stream has a connection of its own besides. Default 32. An
   * injected `dispatcher` brings its own limits.
   */
  maxConnections?: number;
  /**
   * The WHATWG `fetch` to send every request and the event stream with (a wrapped fetch, a
   * worker's, a test double). Default: undici over the client's own keep-alive Agent on Node,
   * the runtime's global `fetch` everywhere else.
   */
  fetch?: FetchFunction;
  logger?: Logger;
  /** Extra headers sent with every request. */
  headers?: Record<string, string>;
  /**
   * Largest response body read, in bytes (per call: the `maxResponseBytes` call option). A larger
   * one is not buffered: the connection is closed and the call fails with `ResponseTooLargeError`.
   * Default 32 MiB.
   */
  maxResponseBytes?: number;
}

export interface ResolvedOptions {
  /** Base URL without userinfo, always ending in "/". */
  baseUrl: URL;
  /** `Basic …` header value, or undefined when no password is configured. */
  authorization: string | undefined;
  username: string;
  directory: string | undefined;
  timeoutMs: number;
  maxRetries: number;
  maxConnections: number;
  logger: Logger;
  headers: Record<string, string>;
  maxResponseBytes: number;
  /** Scrubs this client's password and auth token, and any credential shape, from text bound for an error or a log. */
  redact: Redactor;
}

export const DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

const DEFAULT_BASE_URL = "http://127.0.0.1:4096";
/** Enough for a thousand concurrent turns (each holds a connection only while a request is in flight), few enough that a server never sees a socket storm. */
const DEFAULT_MAX_CONNECTIONS = 32;

type Env = Readonly<Record<string, string | undefined>>;

export function resolveOptions(options: ClientOptions = {}, env: Env = readEnv()): ResolvedOptions {
  const raw = options.baseUrl ?? env["OPENCODE_BASE_URL"] ?? DEFAULT_BASE_URL;
  // "localhost:4096" parses as scheme "localhost:", "127.0.0.1:4096" not at all: both lack "http://".
  // Never echo the raw value: it may hold a password in its userinfo.
  if (typeof raw === "string" && (/^[^:/?#]+:\d+(?:[/?#]|$)/.test(raw) || !/^[a-z][a-z0-9+.-]*:/i.test(raw))) {
    throw new ConfigurationError(
      `opencode-serve-client: baseUrl has no scheme; write it with http:// or https:// in front (e.g. ${DEFAULT_BASE_URL})`,
    );
  }
  let baseUrl: URL;
  try {
    baseUrl = new URL(raw);
  } catch {
    throw new ConfigurationError("opencode-serve-client: baseUrl is not a valid absolute URL");
  }
  if (baseUrl.protocol !== "http:" && baseUrl.protocol !== "https:") {
    throw new ConfigurationError(`opencode-serve-client: baseUrl must be http or https, not ${baseUrl.protocol}`);
  }
  // Userinfo is percent-encoded; RFC 7617 credentials are UTF-8, then base64.
  const urlUser = baseUrl.username ? safeDecode(baseUrl.username) : undefined;
  const urlPassword = baseUrl.password ? safeDecode(baseUrl.password) : undefined;
  baseUrl.username = "";
  baseUrl.password = "";
  baseUrl.hash = "";
  if (!baseUrl.pathname.endsWith("/")) baseUrl.pathname += "/";

  const username = options.username ?? urlUser ?? env["OPENCODE_SERVER_USERNAME"] ?? "opencode";
  const password = options.password ?? urlPassword ?? (env["OPENCODE_SERVER_PASSWORD"] || undefined);
  const token = password === undefined ? undefined : base64(new TextEncoder().encode(`${username}:${password}`));
  const authorization = token === undefined ? undefined : `Basic ${token}`;

  const logger = options.logger ?? defaultLogger;
  if (authorization && baseUrl.protocol === "http:" && !isLoopback(baseUrl.hostname)) {
    logger.warn?.(
      `basic auth is sent over plain http to ${baseUrl.host}; anyone on the network path can read the password. Use https.`,
    );
  }

  return {
    baseUrl,
    authorization,
    username,
    directory: options.directory,
    timeoutMs: options.timeoutMs ?? 60_000,
    maxRetries: Math.max(0, options.maxRetries ?? 2),
    maxConnections: Math.max(1, Math.floor(options.maxConnections ?? DEFAULT_MAX_CONNECTIONS)),
    logger,
    headers: { ...options.headers },
    maxResponseBytes: options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
    redact: redactor([
      ...(password === undefined ? [] : [password, token, `${username}:${password}`]),
      // A proxy's bearer token or API key the app adds to every request.
      ...Object.entries(options.headers ?? {}).flatMap(([name, value]) => (SECRET_HEADER.test(name) ? [value, value.replace(/^\w+\s+/, "")] : [])),
    ]),
  };
}

export function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "");
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

const ENV_NAMES = ["OPENCODE_BASE_URL", "OPENCODE_SERVER_USERNAME", "OPENCODE_SERVER_PASSWORD"] as const;

/** The variables the client reads, from `process.env` where there is one (Node, Bun, Deno); browsers and workers have none. */
function readEnv(): Env {
  const env: Record<string, string | undefined> = {};
  const source = (globalThis as { process?: { env?: Env } }).process?.env;
  if (source === undefined) return env;
  for (const name of ENV_NAMES) {
    try {
      env[name] = source[name];
    } catch {
      // Deno without --allow-env refuses the read: as if unset.
    }
  }
  return env;
}
