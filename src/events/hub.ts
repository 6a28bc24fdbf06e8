// One project's event fan-out: subscribers, each with its own queue and filter, fed from the
// client's event connection (`link.ts`: the project's scoped `/event` stream, or `/global/event`
// routed by directory when the client follows several projects). The client's own project is
// `client.events`; `forDirectory` gives another project's, on the same connection.

import { AbortError, type OpencodeError } from "../http/errors.js";
import type { Logger } from "../http/logger.js";
import type { Transport } from "../http/transport.js";
import { EVENT_PATH } from "./connection.js";
import { EventLinks, type LinkedHub, type LinkSettings } from "./link.js";
import { consumedEventProblem, envelopeProblem } from "./schemas.js";
import { sessionOfEvent } from "./session-of.js";
import { EventSubscription, type Subscriber, type SubscriptionHost } from "./subscription.js";
import type { ConnectionState, Event, EventOf, EventType, StreamGap } from "./types.js";

export interface EventHubOptions {
  /**
   * No bytes for this long (heartbeats come every 10 s) → the server is asked whether it is there
   * (any answer to a request within that time counts, else `GET /global/health`); gone → drop the
   * connection and reconnect. Default 30 000.
   */
  idleTimeoutMs?: number;
  /**
   * A server that still answers while its stream is silent is slow, not gone: the stream is kept
   * (no reconnect, no catch-up reads piled on it) until it has been silent this long. Default
   * 4 × `idleTimeoutMs`; equal to `idleTimeoutMs`, silence alone reconnects.
   */
  maxSilenceMs?: number;
  /**
   * An attempt whose response headers and `server.connected` frame have not both arrived within
   * this long is abandoned and retried (with the reconnect backoff) — a server can accept the
   * connection and never answer. Default 4 000, so several attempts fit in `readyTimeoutMs`;
   * never more than `idleTimeoutMs`.
   */
  openTimeoutMs?: number;
  /** Default per-subscriber queue bound (see `SubscribeOptions.maxQueue`). Default 10 000. */
  maxQueue?: number;
  /** Default for `SubscribeOptions.readyTimeoutMs`: the total bound on opening, across attempts. Default 15 000. */
  readyTimeoutMs?: number;
  /** First reconnect delay; doubles per failed attempt. Default 250. */
  reconnectInitialMs?: number;
  /** Cap of the reconnect delay. Default 5 000. */
  reconnectMaxMs?: number;
  /**
   * Longest event frame, in characters. A longer one is not buffered: the connection is closed
   * (`ResponseTooLargeError`, as `lastError`) and reopened. Default 16 Mi (a tool's whole output
   * arrives in one frame).
   */
  maxFrameChars?: number;
  /** The project whose events this hub streams; default the client's `directory`. */
  directory?: string;
}

const DEFAULT_MAX_FRAME_CHARS = 16 * 1024 * 1024;

export interface SubscribeOptions<T extends EventType = EventType> {
  /**
   * Only events of this session: `properties.sessionID` (else `properties.info.sessionID`, else
   * `properties.part.sessionID`) must equal it. `server.*` events are delivered to everyone;
   * other events without a session are not delivered.
   */
  sessionID?: string;
  /**
   * With `sessionID`: also every sub-session started under it, at any depth (a `task` sub-agent's
   * session, from its `session.created` or the task part naming it), from the first event that
   * names it. Add others found some other way with `subscription.follow(id)`.
   */
  children?: boolean;
  /**
   * Yield a `StreamGap` marker (`{ type: "client.gap" }`) in order where the connection broke and
   * was opened again, so a consumer knows exactly which events came before the gap.
   */
  gaps?: boolean;
  /** Only these event types. */
  types?: readonly T[];
  /** Aborting it closes the subscription (the iterator finishes; a pending `ready` rejects with AbortError). */
  signal?: AbortSignal;
  /** Events this subscriber may fall behind before it gets `SubscriberOverflowError`. Default: the hub's `maxQueue`. */
  maxQueue?: number;
  /** How long `ready` waits through retried connection failures. 0 = no limit. Default: the hub's `readyTimeoutMs`. */
  readyTimeoutMs?: number;
}

/** Session ids JSON never escapes, so a raw-text search for them cannot miss an event. */
const PLAIN_ID = /^[\w.:-]+$/;
const PREFILTER_WINDOW = 64;

export class EventHub implements SubscriptionHost, LinkedHub {
  readonly logger: Logger;
  /** This project's scoped stream, for messages (the connection may be the global one). */
  readonly streamUrl: string;
  /** The project, or undefined for the client's own `directory`. */
  readonly directory: string | undefined;
  readonly #transport: Transport;
  readonly #maxQueue: number;
  readonly #readyTimeoutMs: number;
  readonly #options: EventHubOptions;
  readonly #links: EventLinks;
  /** The client's own project's hub, which makes and closes the others. */
  readonly #root: EventHub;
  /** Hubs of other projects, made by `forDirectory` (on the root only). */
  readonly #directories = new Map<string, EventHub>();

  #subscribers: Subscriber[] = [];
  /** Set when every subscriber filters by a plain session id: frames mentioning none of them (and not `server.*`) are not parsed. */
  #prefilterIDs: string[] | undefined;
  /**
   * Frames the prefilter may still examine before it pauses. Each skip, and each parsed frame
   * nobody wanted, refills it; when every frame is for a subscribed session anyway (one session
   * streaming), the text search would be pure cost, so it stops until a frame is wasted again.
   */
  #prefilterBudget = PREFILTER_WINDOW;
  #current: ConnectionState = "closed";
  readonly #listeners = new Set<(state: ConnectionState) => void>();
  #closed = false;
  #failure: OpencodeError | undefined;

  constructor(transport: Transport, options: EventHubOptions = {}, root?: { hub: EventHub; links: EventLinks }) {
    this.#transport = transport;
    this.#options = options;
    this.logger = transport.options.logger;
    this.directory = options.directory;
    const query = options.directory === undefined ? undefined : { directory: options.directory };
    this.streamUrl = transport.displayUrl(transport.url(EVENT_PATH, undefined, query)).href;
    this.#maxQueue = options.maxQueue ?? 10_000;
    this.#readyTimeoutMs = options.readyTimeoutMs ?? 15_000;
    this.#root = root?.hub ?? this;
    this.#links = root?.links ?? new EventLinks(transport, linkSettings(options));
  }

  /** The shared connection's state (see `ConnectionState`). */
  get state(): ConnectionState {
    return this.#current;
  }

  /** Why the latest connection attempt failed, while the stream is not open. */
  get lastError(): OpencodeError | undefined {
    return this.#failure;
  }

  /** Called on every state change of the shared connection; returns the unsubscribe function. */
  onState(listener: (state: ConnectionState) => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  /**
   * Subscribes to the shared stream, connecting it if this is the first subscriber. With
   * `types`, the iterator is typed to those events. Unknown event types (from a newer server)
   * pass through untouched.
   */
  subscribe<T extends EventType = EventType>(options: SubscribeOptions<T> & { gaps: true }): EventSubscription<EventOf<T> | StreamGap>;
  subscribe<T extends EventType = EventType>(options?: SubscribeOptions<T>): EventSubscription<EventOf<T>>;
  subscribe<T extends EventType = EventType>(options: SubscribeOptions<T> = {}): EventSubscription<EventOf<T> | StreamGap> {
    const subscription = new EventSubscription<EventOf<T> | StreamGap>(this, {
      sessionID: options.sessionID,
      children: options.children === true,
      gaps: options.gaps === true,
      types: options.types,
      signal: options.signal,
      maxQueue: options.maxQueue ?? this.#maxQueue,
      readyTimeoutMs: options.readyTimeoutMs ?? this.#readyTimeoutMs,
    });
    if (this.#closed) subscription.end(new AbortError("the client is closed"), true);
    if (subscription.closed) return subscription;
    this.#subscribers.push(subscription);
    this.#updatePrefilter();
    if (this.#current === "closed") {
      this.#setState("connecting");
      this.#links.join(this);
    }
    return subscription;
  }

  /**
   * Another project's events on the same client: one hub per directory, made on first use, sharing
   * this hub's options and the client's one connection, and closed with the client. The client's
   * own directory is `client.events`.
   */
  forDirectory(directory: string): EventHub {
    const root = this.#root;
    if (root !== this) return root.forDirectory(directory);
    if (directory === (this.#options.directory ?? this.#transport.options.directory)) return this;
    let hub = this.#directories.get(directory);
    if (hub === undefined) {
      hub = new EventHub(this.#transport, { ...this.#options, directory }, { hub: this, links: this.#links });
      if (this.#closed) hub.#end(new AbortError("the client was closed"));
      this.#directories.set(directory, hub);
    }
    return hub;
  }

  /** Ends every subscription (their iterators finish) and, on the client's hub, the connection; resolves once the socket is gone. */
  async close(): Promise<void> {
    this.#end(new AbortError("the client was closed"));
    if (this.#root !== this) return this.#links.leave(this);
    for (const hub of this.#directories.values()) hub.#end(new AbortError("the client was closed"));
    await this.#links.close();
  }

  #end(reason: OpencodeError): void {
    if (this.#closed) return;
    this.#closed = true;
    const subscribers = this.#subscribers;
    this.#subscribers = [];
    this.#prefilterIDs = undefined;
    for (const subscriber of subscribers) subscriber.end(reason, false);
    this.#setState("closed");
    this.#listeners.clear();
  }

  /** @internal A subscription leaves; the last one out closes the connection. */
  release(subscriber: Subscriber): void {
    const index = this.#subscribers.indexOf(subscriber);
    if (index === -1) return;
    this.#subscribers.splice(index, 1);
    this.#updatePrefilter();
    if (this.#subscribers.length === 0) {
      this.#links.leave(this);
      this.#setState("closed");
    }
  }

  /** @internal One SSE frame's data from this project's own stream; `connected` on its `server.connected`. */
  onFrame(data: string, connected: () => void): void {
    if (!this.mayConcern(data, 0)) return;
    let value: unknown;
    try {
      value = JSON.parse(data);
    } catch {
      return this.#skip("its data is not JSON", data);
    }
    const problem = envelopeProblem(value);
    if (problem !== undefined) return this.#skip(problem, data);
    const event = value as Event;
    if (event.type === "server.connected") connected();
    this.deliver(event);
  }

  /**
   * @internal The prefilter: whether a frame (its event starting at `payloadAt`: 0 on this
   * project's own stream, further on in a global frame) may concern a subscriber.
   */
  mayConcern(data: string, payloadAt: number): boolean {
    const ids = this.#prefilterIDs;
    if (ids === undefined || this.#prefilterBudget <= 0) return true;
    if (!mayConcern(data, ids, payloadAt)) {
      this.#prefilterBudget = PREFILTER_WINDOW;
      return false;
    }
    this.#prefilterBudget--;
    return true;
  }

  /** @internal One event of this project, to the subscribers that want it. */
  deliver(event: Event): void {
    const type: string = event.type;
    const sessionID = sessionOfEvent(event);
    const everyone = type.startsWith("server.");
    let checked = false;
    let delivered = false;
    const subscribers = this.#subscribers;
    // Backwards, so an overflowing subscriber can be removed in place.
    for (let i = subscribers.length - 1; i >= 0; i--) {
      const subscriber = subscribers[i]!;
      if (!everyone && !subscriber.wants(sessionID, event)) continue;
      if (subscriber.types !== undefined && !subscriber.types.has(type)) continue;
      if (!checked) {
        // Validated only once someone wants it: most frames of a busy server concern other sessions.
        const invalid = consumedEventProblem(event);
        if (invalid !== undefined) return this.#skip(invalid, JSON.stringify(event), type);
        checked = true;
      }
      delivered = true;
      if (!subscriber.push(event)) {
        this.logger.warn?.(`an event subscriber fell behind and was dropped`, { sessions: subscriber.sessionIDs?.size });
        this.release(subscriber);
      }
    }
    if (!delivered) this.#prefilterBudget = PREFILTER_WINDOW;
  }

  /** @internal The connection is open (again). */
  linkOpened(): void {
    if (this.#current === "open") return;
    this.#failure = undefined;
    this.#setState("open");
    // A copy: listeners run inside and may close subscriptions.
    for (const subscriber of this.#subscribers.slice()) subscriber.opened();
  }

  /** @internal The connection's state changed. */
  linkState(state: ConnectionState, failure?: OpencodeError): void {
    if (failure !== undefined) this.#failure = failure;
    this.#setState(state);
  }

  /** @internal The connection will not be opened again for this project: every subscriber is told why. */
  linkFailed(error: OpencodeError): void {
    this.#failure = error;
    const subscribers = this.#subscribers;
    this.#subscribers = [];
    this.#prefilterIDs = undefined;
    this.#setState("closed");
    for (const subscriber of subscribers) subscriber.end(error, true);
  }

  #setState(state: ConnectionState): void {
    if (this.#current === state) return;
    this.#current = state;
    for (const listener of this.#listeners) {
      try {
        listener(state);
      } catch (error) {
        this.logger.error?.("an event-state listener threw", { error });
      }
    }
    for (const subscriber of this.#subscribers.slice()) subscriber.stateChanged(state);
  }

  /** @internal A subscriber's session set grew. */
  sessionsChanged(): void {
    this.#updatePrefilter();
  }

  #updatePrefilter(): void {
    const ids: string[] = [];
    for (const subscriber of this.#subscribers) {
      const sessions = subscriber.sessionIDs;
      if (sessions === undefined) {
        this.#prefilterIDs = undefined;
        return;
      }
      for (const id of sessions) {
        if (!PLAIN_ID.test(id)) {
          this.#prefilterIDs = undefined;
          return;
        }
        if (!ids.includes(id)) ids.push(id);
      }
    }
    this.#prefilterIDs = ids.length > 0 ? ids : undefined;
  }

  #skip(problem: string, data: string, type?: string): void {
    this.logger.warn?.(`skipped an event frame: ${problem}`, { type, data: this.#transport.redact(data.slice(0, 200)) });
  }
}

function linkSettings(options: EventHubOptions): LinkSettings {
  const idleTimeoutMs = options.idleTimeoutMs ?? 30_000;
  return {
    limits: {
      idleTimeoutMs,
      openTimeoutMs: Math.min(options.openTimeoutMs ?? 4_000, idleTimeoutMs),
      maxFrameChars: options.maxFrameChars ?? DEFAULT_MAX_FRAME_CHARS,
      maxSilenceMs: Math.max(options.maxSilenceMs ?? 4 * idleTimeoutMs, idleTimeoutMs),
    },
    backoff: { initialMs: options.reconnectInitialMs ?? 250, maxMs: options.reconnectMaxMs ?? 5_000 },
  };
}

/**
 * False only when the frame certainly concerns none of `ids` and is not a `server.*` event, so
 * skipping its JSON.parse is safe: any id anywhere in the text, or an unfamiliar layout, answers true.
 */
function mayConcern(data: string, ids: readonly string[], at: number): boolean {
  for (let i = 0; i < ids.length; i++) if (data.includes(ids[i]!)) return true;
  return !typeIsNotServer(data, at);
}

/**
 * Reads the type in place when the event (from `at`: 0, or a global frame's payload) starts the
 * way opencode writes it, `{"id":"…","type":"…` (or `{"type":"…` before 1.14).
 * In valid JSON a quote followed by `,"type":"` cannot sit inside the id string (its quotes are
 * escaped), so that `type` is the event's own; invalid JSON is dropped either way. Cheaper than
 * searching the frame for `"type":"`.
 */
function typeIsNotServer(data: string, at: number): boolean {
  // Servers before 1.14 send no id: the event starts with its type.
  if (data.startsWith('{"type":"', at)) return !data.startsWith("server.", at + 9);
  if (!data.startsWith('{"id":"', at)) return false;
  const idEnd = data.indexOf('"', at + 7);
  return idEnd !== -1 && data.startsWith(',"type":"', idEnd + 1) && !data.startsWith("server.", idEnd + 10);
}
