// The seam between the transport and the runtime's HTTP stack: one request in, status, headers
// and a body out. Two engines implement it — WHATWG `fetch` (browsers, Deno, Bun, workers, any
// injected fetch) and undici's dispatcher (the Node default, installed by the Node entry).

import type { ErrorHeaders } from "./errors.js";
import type { ClientOptions } from "./options.js";

/** Engines never follow redirects: a 3xx comes back as it is (see `RedirectError`). */
export interface EngineRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body: string | undefined;
  signal: AbortSignal | undefined;
  /** A long-lived response (the event stream): it has a connection of its own, outside the request pool. */
  stream?: boolean;
}

export interface EngineResponse {
  readonly status: number;
  /** Lower-case names; a repeated header's values joined with ", ". */
  readonly headers: ErrorHeaders;
  /**
   * Hands each body chunk to `onChunk` as it arrives (the hot path of the event stream: no
   * promise per chunk where the runtime allows). Resolves when the body ends, rejects when it
   * breaks; after `cancel()` it settles either way, and the caller knows it cancelled.
   */
  stream(onChunk: (chunk: Uint8Array) => void): Promise<void>;
  /** Stops reading and lets the connection go. Safe at any time, more than once. */
  cancel(): void;
}

export interface HttpEngine {
  send(request: EngineRequest): Promise<EngineResponse>;
  /** Releases what the engine owns (pooled sockets); an injected fetch or dispatcher is left alone. */
  close(): Promise<void>;
}

/** `maxConnections`: sockets for requests per origin (the transport keeps requests in flight within it); the event stream's is apart. */
export type EngineFactory = (options: ClientOptions, maxConnections: number) => HttpEngine;

let platformDefault: EngineFactory | undefined;

/**
 * @internal The Node entry installs undici here. Without it (browsers, Deno, Bun, workers, a
 * bundle built for them) the default is the runtime's global `fetch`.
 */
export function installDefaultEngine(factory: EngineFactory): void {
  platformDefault = factory;
}

/** @internal */
export function defaultEngineFactory(): EngineFactory | undefined {
  return platformDefault;
}
