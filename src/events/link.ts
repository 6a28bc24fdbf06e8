// The client's event connection and the project hubs it feeds. While it serves one project it
// reads that project's scoped `/event` stream (what that project alone needs, and the cheapest to
// parse); once a second project is followed on the same client it reconnects to `/global/event`,
// where every project's events arrive as `{ directory, payload }`, and routes each to its hub by
// the directory the server names. The server names the canonical path (symlinks resolved, no
// trailing slash), so each project's is asked from `GET /path` first. A server without
// `/global/event` (404) gets one scoped connection per project instead.
//
// Each connection is a loop of attempts: reconnect with capped backoff after drops, stalls (an
// opening that hangs included) and clean ends; give up (every subscriber told why) on 401/403/404.

import { AbortError, APIConnectionError, APIError, APITimeoutError, NotFoundError, StreamError, type OpencodeError } from "../http/errors.js";
import type { Logger } from "../http/logger.js";
import { backoffMs, type Backoff } from "../http/retry.js";
import { NotOpencodeError, ServerInfo, UnsupportedServerError } from "../http/server-version.js";
import type { Transport } from "../http/transport.js";
import { EVENT_PATH, EventConnection, GLOBAL_EVENT_PATH, type ConnectionEnd, type ConnectionLimits, type FrameSink } from "./connection.js";
import { envelopeProblem } from "./schemas.js";
import type { ConnectionState, Event } from "./types.js";

/** What a connection needs from a project's hub (`EventHub`). */
export interface LinkedHub {
  /** The project, or undefined for the client's own `directory`. */
  readonly directory: string | undefined;
  /** A frame of this hub's own scoped stream; `connected` is called on its `server.connected`, before it is delivered. */
  onFrame(data: string, connected: () => void): void;
  /** An event of this hub's project from the global stream (already parsed and checked as an envelope). */
  deliver(event: Event): void;
  /** False when a global frame, its payload starting at `payloadAt`, certainly concerns none of this hub's subscribers. */
  mayConcern(data: string, payloadAt: number): boolean;
  /** The stream is open (again): subscribers are ready, and learn of the gap if they were open before. */
  linkOpened(): void;
  /** The connection's state changed; `failure` is why an attempt failed, when one did. */
  linkState(state: ConnectionState, failure?: OpencodeError): void;
  /** Terminal: the stream will not be opened again for this hub. */
  linkFailed(error: OpencodeError): void;
}

export interface LinkSettings {
  limits: ConnectionLimits;
  backoff: Backoff;
}

/** The client's connections: one shared, or, on a server without `/global/event`, one per project. */
export class EventLinks {
  readonly #transport: Transport;
  readonly #settings: LinkSettings;
  /** A global attempt was answered 404: the server (or a proxy before it) has no `/global/event`. */
  #noGlobal = false;
  readonly #shared: StreamLink;
  readonly #own = new Map<LinkedHub, StreamLink>();
  /** Each project's canonical directory, as the server names it in global frames; asked once. */
  readonly #canonical = new Map<LinkedHub, string>();

  constructor(transport: Transport, settings: LinkSettings) {
    this.#transport = transport;
    this.#settings = settings;
    this.#shared = new StreamLink(this, transport, settings);
  }

  /** A hub has subscribers: its events must flow. */
  join(hub: LinkedHub): void {
    this.#linkOf(hub).add(hub);
  }

  /** A hub's last subscriber left. */
  leave(hub: LinkedHub): void {
    (this.#own.get(hub) ?? this.#shared).remove(hub);
  }

  async close(): Promise<void> {
    await Promise.all([this.#shared, ...this.#own.values()].map((link) => link.close()));
  }

  /** @internal A global attempt was answered 404: from now on each project gets its own scoped connection. */
  globalMissing(hubs: readonly LinkedHub[]): void {
    this.#noGlobal = true;
    this.#transport.options.logger.info?.("event stream: the server has no /global/event; one /event connection per project");
    for (const hub of hubs) this.#linkOf(hub).add(hub);
  }

  /** @internal The directory global frames name `hub`'s project by: `GET /path`'s answer, asked once. */
  async canonicalDirectory(hub: LinkedHub, timeoutMs: number): Promise<string> {
    const known = this.#canonical.get(hub);
    if (known !== undefined) return known;
    const query = hub.directory === undefined ? undefined : { directory: hub.directory };
    const paths = (await this.#transport.request("get", "/path", { query, timeoutMs, maxRetries: 0 })) as { directory: string };
    this.#canonical.set(hub, paths.directory);
    return paths.directory;
  }

  /** The shared connection, or where the server has no global stream, the project's own. */
  #linkOf(hub: LinkedHub): StreamLink {
    if (!this.#noGlobal) return this.#shared;
    let link = this.#own.get(hub);
    if (link === undefined) {
      link = new StreamLink(this, this.#transport, this.#settings);
      this.#own.set(hub, link);
    }
    return link;
  }
}

/** How long a global stream that carries no project event yet is given to subscribe (see `StreamLink.#opened`). */
const GLOBAL_SETTLE_MS = 300;

/** Parsed-anyway global frames after which the text checks pause (see `StreamLink.#prerouteBudget`). */
const PREROUTE_WINDOW = 64;

/** How the current attempt reads: one project's scoped stream, or every project's. */
type Mode = { kind: "scoped"; hub: LinkedHub } | { kind: "global" };

/** One connection, kept open while any of its hubs has subscribers. */
class StreamLink implements FrameSink {
  readonly #links: EventLinks;
  readonly #transport: Transport;
  readonly #limits: ConnectionLimits;
  readonly #backoff: Backoff;
  readonly #logger: Logger;

  #hubs: LinkedHub[] = [];
  #mode: Mode | undefined;
  /** In global mode: the hubs admitted on the open connection, by canonical directory. */
  readonly #routes = new Map<string, LinkedHub[]>();
  /** The same lists by how a frame of the project begins, `{"directory":"…",` (see `#routeOf`). */
  readonly #openings = new Map<string, LinkedHub[]>();
  /** Global frames the text checks may still examine before they pause; each frame they spare a parse refills it. */
  #prerouteBudget = PREROUTE_WINDOW;
  #state: ConnectionState = "closed";
  #connection: EventConnection | undefined;
  #openedAt: number | undefined;
  #looping = false;
  #loopDone: Promise<void> = Promise.resolve();
  #wake: (() => void) | undefined;
  #closed = false;
  /** Whether a stream was ever open: a server seen once may be restarting, so it is waited for. */
  #everOpened = false;
  /** A global stream said `server.connected` but has not shown yet that it carries events (see `#opened`). */
  #settling: ReturnType<typeof setTimeout> | undefined;

  constructor(links: EventLinks, transport: Transport, settings: LinkSettings) {
    this.#links = links;
    this.#transport = transport;
    this.#limits = settings.limits;
    this.#backoff = settings.backoff;
    this.#logger = transport.options.logger;
  }

  add(hub: LinkedHub): void {
    if (this.#hubs.includes(hub)) return;
    if (this.#closed) return hub.linkFailed(new AbortError("the client was closed"));
    this.#hubs.push(hub);
    const mode = this.#mode;
    if (!this.#looping) {
      this.#setState("connecting");
      this.#looping = true;
      // From the next microtask: projects joined in the same tick (views opened together) share
      // the first attempt, instead of a scoped stream opened only to be replaced by the global one.
      this.#loopDone = Promise.resolve().then(() => this.#loop());
    } else if (mode?.kind === "global") {
      hub.linkState(this.#state === "open" ? "connecting" : this.#state);
      if (this.#state === "open") void this.#admit(hub, this.#connection!);
    } else if (mode !== undefined) {
      // A second project on a scoped stream: reconnect to the global one (a gap for the first).
      this.#setState("reconnecting");
      this.#connection?.stop({ kind: "released" });
      this.#wake?.();
    } else {
      hub.linkState(this.#state);
    }
  }

  remove(hub: LinkedHub): void {
    const index = this.#hubs.indexOf(hub);
    if (index === -1) return;
    this.#hubs.splice(index, 1);
    this.#unroute(hub);
    if (this.#hubs.length === 0) {
      this.#connection?.stop({ kind: "released" });
      this.#wake?.();
      this.#state = "closed";
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    const hubs = this.#hubs;
    this.#hubs = [];
    this.#routes.clear();
    this.#openings.clear();
    this.#connection?.stop({ kind: "released" });
    this.#wake?.();
    this.#state = "closed";
    for (const hub of hubs) hub.linkFailed(new AbortError("the client was closed"));
    await this.#loopDone;
  }

  /** One SSE frame's data from the current connection. */
  onFrame(data: string): void {
    const mode = this.#mode;
    if (mode === undefined) return;
    if (mode.kind === "scoped") return mode.hub.onFrame(data, this.#opened);
    this.#onGlobalFrame(data);
  }

  #onGlobalFrame(data: string): void {
    // Frames of projects no hub follows, and frames certainly for no subscriber, are not parsed.
    // Like the hubs' prefilter, the text checks pause while every frame is parsed anyway.
    const route = this.#prerouteBudget > 0 ? this.#routeOf(data) : undefined;
    if (route !== undefined) {
      // A project's event: the subscription delivers (see `#opened`).
      if (this.#settling !== undefined) this.#live();
      if (route === null || data.startsWith('{"type":"sync"', route.payloadAt)) return this.#refillPreroute();
      let wanted = false;
      const hubs = route.hubs;
      for (let i = 0; i < hubs.length; i++) if (hubs[i]!.mayConcern(data, route.payloadAt)) wanted = true;
      if (!wanted) return this.#refillPreroute();
      this.#prerouteBudget--;
    }
    let value: unknown;
    try {
      value = JSON.parse(data);
    } catch {
      return this.#skip("its data is not JSON", data);
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) return this.#skip("not a JSON object", data);
    const { directory, payload } = value as { directory?: unknown; payload?: unknown };
    // `sync` payloads repeat the bus events in another form (1.18+).
    if ((payload as { type?: unknown } | null)?.type === "sync") return this.#refillPreroute();
    const problem = envelopeProblem(payload);
    if (problem !== undefined) return this.#skip(`its payload has ${problem}`, data);
    const event = payload as Event;
    if (this.#settling !== undefined && typeof directory === "string") this.#live();
    if (typeof directory !== "string") {
      // Frames of no project: the connection's own (`server.connected`, heartbeats) go to every hub.
      if (!event.type.startsWith("server.")) return;
      if (event.type === "server.connected") this.#opened();
      if (this.#state !== "open") return;
      for (const hubs of this.#routes.values()) for (const hub of hubs) hub.deliver(event);
      return;
    }
    const routed = this.#routes.get(directory);
    if (routed === undefined) return this.#refillPreroute();
    // A copy when several: a subscriber that overflows leaves inside `deliver`.
    const hubs = routed.length === 1 ? routed : routed.slice();
    for (const hub of hubs) {
      hub.deliver(event);
      // On its own stream the project's disposal ends the stream, and the reconnect is a gap for
      // its subscribers (a running tool will never finish; a view re-reads): the same here.
      if (event.type === "server.instance.disposed") {
        hub.linkState("reconnecting");
        hub.linkOpened();
      }
    }
  }

  /** Connection attempts until no hub has subscribers, the client closes, or a failure is terminal. */
  async #loop(): Promise<void> {
    let attempt = 0;
    for (;;) {
      if (this.#closed || this.#hubs.length === 0) {
        this.#looping = false;
        this.#mode = undefined;
        return;
      }
      const mode: Mode = this.#hubs.length === 1 ? { kind: "scoped", hub: this.#hubs[0]! } : { kind: "global" };
      this.#mode = mode;
      this.#routes.clear();
      this.#openings.clear();
      this.#openedAt = undefined;
      let end: ConnectionEnd;
      if (mode.kind === "global") {
        const routed = await this.#routeAll();
        end = routed ?? (await this.#connect(GLOBAL_EVENT_PATH, undefined));
      } else {
        const directory = mode.hub.directory;
        end = await this.#connect(EVENT_PATH, directory === undefined ? undefined : { directory });
      }
      if (end.kind === "released" || this.#closed || this.#hubs.length === 0) {
        attempt = 0;
        continue;
      }

      const error = endError(end);
      if (mode.kind === "global" && error instanceof APIError && error.status === 404) {
        // No global stream here: one scoped connection per project; this one keeps the first.
        const others = this.#hubs.slice(1);
        for (const hub of others) this.remove(hub);
        this.#links.globalMissing(others);
        attempt = 0;
        continue;
      }
      this.#setState(this.#state, error);
      if (!error.retryable || (!this.#everOpened && neverReachable(error))) {
        this.#giveUp(!this.#everOpened && (error instanceof NotFoundError || error instanceof StreamError) ? await this.#explain(error) : error);
        continue;
      }
      // A connection that stayed open a while was healthy: start the backoff over.
      if (this.#openedAt !== undefined && Date.now() - this.#openedAt >= this.#backoff.maxMs) attempt = 0;
      const delay = backoffMs(attempt++, this.#backoff);
      this.#setState("reconnecting", error);
      this.#logger.info?.(`event stream: ${error.message}; reconnecting in ${delay} ms`, { attempt });
      await this.#pause(delay);
    }
  }

  async #connect(path: string, query: Record<string, string> | undefined): Promise<ConnectionEnd> {
    const connection = new EventConnection(this.#transport, path, this.#limits, this.#logger, this, this.#probe, query);
    this.#connection = connection;
    const end = await connection.run();
    this.#connection = undefined;
    clearTimeout(this.#settling);
    this.#settling = undefined;
    return end;
  }

  /** Learns every hub's canonical directory before a global attempt; an end when that fails. */
  async #routeAll(): Promise<ConnectionEnd | undefined> {
    for (const hub of this.#hubs.slice()) {
      try {
        this.#route(hub, await this.#links.canonicalDirectory(hub, this.#limits.openTimeoutMs));
      } catch (error) {
        const failure = error as OpencodeError;
        if (!failure.retryable && this.#hubs.length > 1) {
          // This project cannot be followed (its directory is refused); the others still can.
          this.remove(hub);
          hub.linkFailed(failure);
          continue;
        }
        return { kind: "failed", error: failure };
      }
      if (this.#closed || this.#hubs.length === 0) return { kind: "released" };
    }
    return undefined;
  }

  /** A hub joining an open global connection: routed once its directory is known, then ready. */
  async #admit(hub: LinkedHub, connection: EventConnection): Promise<void> {
    let directory: string;
    try {
      directory = await this.#links.canonicalDirectory(hub, this.#limits.openTimeoutMs);
    } catch (error) {
      const failure = error as OpencodeError;
      if (!this.#hubs.includes(hub)) return;
      if (failure.retryable) {
        // Retried with the others, with backoff: the connection is opened again.
        hub.linkState("reconnecting", failure);
        connection.stop({ kind: "failed", error: failure });
      } else {
        this.remove(hub);
        hub.linkFailed(failure);
      }
      return;
    }
    if (this.#connection !== connection || !this.#hubs.includes(hub) || this.#state !== "open") return;
    this.#route(hub, directory);
    hub.linkOpened();
  }

  /** A frame was (or could have been) spared its parse: the text checks run again. */
  #refillPreroute(): void {
    this.#prerouteBudget = PREROUTE_WINDOW;
  }

  /**
   * Where a global frame goes, read from its text when it starts the way opencode writes it: the
   * hubs of its project and where its payload starts, `null` for a project no hub follows,
   * undefined when only a full parse can tell (another layout, the connection's own frames).
   * Each routed project's opening, `{"directory":"…",`, is compared in place; only a frame that
   * matches none has its directory decoded, so an escaping unlike `JSON.stringify`'s still routes.
   */
  #routeOf(data: string): { hubs: readonly LinkedHub[]; payloadAt: number } | null | undefined {
    if (!data.startsWith('{"directory":"')) return undefined;
    for (const [opening, hubs] of this.#openings) {
      if (!data.startsWith(opening)) continue;
      const payloadAt = payloadStart(data, opening.length - 1);
      return payloadAt === -1 ? undefined : { hubs, payloadAt };
    }
    const layout = globalLayout(data);
    if (layout === undefined || layout.directory === undefined) return undefined;
    const hubs = this.#routes.get(layout.directory);
    return hubs === undefined ? null : { hubs, payloadAt: layout.payloadAt };
  }

  #route(hub: LinkedHub, directory: string): void {
    const hubs = this.#routes.get(directory);
    if (hubs === undefined) {
      const routed = [hub];
      this.#routes.set(directory, routed);
      this.#openings.set(`{"directory":${JSON.stringify(directory)},`, routed);
    } else if (!hubs.includes(hub)) hubs.push(hub);
  }

  #unroute(hub: LinkedHub): void {
    for (const [directory, hubs] of this.#routes) {
      const index = hubs.indexOf(hub);
      if (index === -1) continue;
      hubs.splice(index, 1);
      if (hubs.length > 0) continue;
      this.#routes.delete(directory);
      this.#openings.delete(`{"directory":${JSON.stringify(directory)},`);
    }
  }

  /**
   * A stream that never opened and will not be retried (a 404, a page that is no event stream):
   * when the base URL is no opencode 1.x server at all, that is the error worth reporting.
   */
  async #explain(error: OpencodeError): Promise<OpencodeError> {
    try {
      await new ServerInfo(this.#transport).health({ timeoutMs: this.#limits.openTimeoutMs, maxRetries: 0 });
    } catch (verdict) {
      if (verdict instanceof NotOpencodeError || verdict instanceof UnsupportedServerError) return verdict;
    }
    return error;
  }

  /** Any answer from the server within `withinMs` (a request's, else a health check's) means it is there. */
  readonly #probe = async (withinMs: number): Promise<boolean> => {
    const transport = this.#transport;
    if (Date.now() - transport.lastAnswerAt < withinMs) return true;
    try {
      await transport.request("get", "/global/health", { timeoutMs: withinMs, maxRetries: 0 });
      return true;
    } catch (error) {
      // An error status is an answer too: a server without the route is still there.
      return error instanceof APIError;
    }
  };

  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = undefined;
        resolve();
      }, ms);
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
    });
  }

  /**
   * The current connection's `server.connected`. opencode 1.18 writes it on `/global/event` before
   * the stream's subscription is live: events of the next tens of milliseconds can be missing
   * (seen in 2 of 12 openings with a request sent at once, 1 of 20 with one sent 50 ms later, none
   * after 100 ms or more). So a global stream counts as open at its first project event — proof
   * that the subscription delivers — or after `GLOBAL_SETTLE_MS`; subscribers are ready, and learn
   * of a gap, only then, so a re-read after the gap covers the window.
   */
  readonly #opened = (): void => {
    this.#connection?.opened();
    if (this.#state === "open" || this.#settling !== undefined) return;
    if (this.#mode?.kind !== "global") return this.#live();
    this.#settling = setTimeout(() => this.#live(), GLOBAL_SETTLE_MS);
  };

  /** The stream delivers: every hub it serves is open. */
  #live(): void {
    clearTimeout(this.#settling);
    this.#settling = undefined;
    this.#openedAt = Date.now();
    this.#everOpened = true;
    this.#state = "open";
    const served = this.#served();
    for (const hub of served) hub.linkOpened();
    // Hubs that joined while this attempt was being made are routed now.
    const connection = this.#connection;
    if (connection !== undefined) for (const hub of this.#hubs) if (!served.includes(hub)) void this.#admit(hub, connection);
  }

  /** The hubs the current connection delivers to: in global mode only those already routed. */
  #served(): LinkedHub[] {
    const mode = this.#mode;
    if (mode?.kind === "scoped") return [mode.hub];
    const served: LinkedHub[] = [];
    for (const hubs of this.#routes.values()) for (const hub of hubs) if (!served.includes(hub)) served.push(hub);
    return served;
  }

  #giveUp(error: OpencodeError): void {
    this.#logger.info?.(`event stream: ${error.message}; not reconnecting`);
    const hubs = this.#hubs;
    this.#hubs = [];
    this.#routes.clear();
    this.#openings.clear();
    this.#state = "closed";
    for (const hub of hubs) hub.linkFailed(error);
  }

  #setState(state: ConnectionState, failure?: OpencodeError): void {
    this.#state = state;
    // A copy: listeners run inside and may close subscriptions.
    for (const hub of this.#hubs.slice()) hub.linkState(state, failure);
  }

  #skip(problem: string, data: string): void {
    this.#logger.warn?.(`skipped an event frame: ${problem}`, { data: this.#transport.redact(data.slice(0, 200)) });
  }
}

function endError(end: Exclude<ConnectionEnd, { kind: "released" }>): OpencodeError {
  return end.kind === "ended" ? new StreamError("the server ended the event stream", true) : end.error;
}

/**
 * Nothing listens at the address, or its host does not exist: for a server this client never
 * reached, that is the answer (a wrong URL or port, a server not started), not a reason to wait.
 */
function neverReachable(error: OpencodeError): boolean {
  return error instanceof APIConnectionError && !(error instanceof APITimeoutError) && (error.code === "ECONNREFUSED" || error.code === "ENOTFOUND");
}

/**
 * Reads a global frame's layout in place when it starts the way opencode writes it,
 * `{"directory":"…",["project":"…",]"payload":{…` (or `{"payload":{…` for the connection's own
 * frames): the directory, and where the payload starts. Undefined for any other layout, which is
 * then parsed in full. In valid JSON the quote ending a string literal is the first unescaped one.
 */
export function globalLayout(data: string): { directory: string | undefined; payloadAt: number } | undefined {
  if (data.startsWith('{"payload":')) return { directory: undefined, payloadAt: 11 };
  if (!data.startsWith('{"directory":"')) return undefined;
  const directoryEnd = stringEnd(data, 14);
  if (directoryEnd === -1) return undefined;
  const payloadAt = payloadStart(data, directoryEnd + 1);
  if (payloadAt === -1) return undefined;
  const literal = data.slice(14, directoryEnd);
  let directory = literal;
  if (literal.includes("\\")) {
    try {
      directory = JSON.parse(`"${literal}"`) as string;
    } catch {
      return undefined;
    }
  }
  return { directory, payloadAt };
}

/** After the directory (at `at`, its closing quote's next index): `[,"project":"…"],"payload":` → where the payload starts, or -1. */
function payloadStart(data: string, at: number): number {
  if (data.startsWith(',"project":"', at)) {
    const projectEnd = stringEnd(data, at + 12);
    if (projectEnd === -1) return -1;
    at = projectEnd + 1;
  }
  return data.startsWith(',"payload":', at) ? at + 11 : -1;
}

/** Index of the quote closing the JSON string whose contents start at `from`, or -1. */
function stringEnd(data: string, from: number): number {
  for (let i = from; i < data.length; i++) {
    const c = data.charCodeAt(i);
    if (c === 0x22) return i;
    if (c === 0x5c) i++;
  }
  return -1;
}
