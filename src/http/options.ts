// Turns `createClient` options and the environment into one resolved connection config:
// where the server is, how to authenticate, and which URL form is safe to show in errors.

import type { Dispatcher } from "undici";
import { ConfigurationError } from "./errors.js";
import { defaultLogger, type Logger } from "./logger.js";

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
  /** An undici Dispatcher to use instead of the client's own keep-alive Agent (not closed by the client). */
  dispatcher?: Dispatcher;
  logger?: Logger;
  /** Extra headers sent with every request. */
  headers?: Record<string, string>;
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
  logger: Logger;
  headers: Record<string, string>;
}

const DEFAULT_BASE_URL = "http://127.0.0.1:4096";

export function resolveOptions(options: ClientOptions = {}, env: NodeJS.ProcessEnv = readEnv()): ResolvedOptions {
  const raw = options.baseUrl ?? env["OPENCODE_BASE_URL"] ?? DEFAULT_BASE_URL;
  let baseUrl: URL;
  try {
    baseUrl = new URL(raw);
  } catch {
    // Never echo the raw value: it may hold a password in its userinfo.
    throw new ConfigurationError("opencode-serve-client: baseUrl is not a valid absolute URL");
  }
  if (baseUrl.protocol !== "http:" && baseUrl.protocol !== "https:") {
    throw new ConfigurationError(`opencode-serve-client: baseUrl must be http or https, not ${baseUrl.protocol}`);
  }
  const urlUser = baseUrl.username ? safeDecode(baseUrl.username) : undefined;
  const urlPassword = baseUrl.password ? safeDecode(baseUrl.password) : undefined;
  baseUrl.username = "";
  baseUrl.password = "";
  baseUrl.hash = "";
  if (!baseUrl.pathname.endsWith("/")) baseUrl.pathname += "/";

  const username = options.username ?? urlUser ?? env["OPENCODE_SERVER_USERNAME"] ?? "opencode";
  const password = options.password ?? urlPassword ?? (env["OPENCODE_SERVER_PASSWORD"] || undefined);
  const authorization =
    password === undefined ? undefined : `Basic ${Buffer.from(`${username}:${password}`, "utf8").toString("base64")}`;

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
    logger,
    headers: { ...options.headers },
  };
}

export function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "");
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Userinfo is percent-encoded, but a hand-typed `%` that starts no escape is kept as it is. */
function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function readEnv(): NodeJS.ProcessEnv {
  return typeof process === "undefined" ? {} : process.env;
}
