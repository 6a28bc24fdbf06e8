// One subscriber's view of the shared `/event` stream: an async iterator over its own bounded
// queue, plus the connection state, a `ready` promise and reconnect notices the Turn layer needs.

import { AbortError, APITimeoutError, type OpencodeError } from "../http/errors.js";
import type { Logger } from "../http/logger.js";
import { SubscriberOverflowError } from "./errors.js";
import { RingQueue } from "./queue.js";
import { STREAM_GAP, type ConnectionState, type Event, type StreamGap } from "./types.js";

/** What a subscription needs from the hub that feeds it. */
export interface SubscriptionHost {
  readonly state: ConnectionState;
  /** A subscriber's session set grew (the hub's text prefilter must let the new ids through). */
  sessionsChanged(): void;
  /** Why the latest connection attempt failed, while not open. */
  readonly lastError: OpencodeError | undefined;
  readonly logger: Logger;
  /** Displayable URL of the stream, for error messages. */
  readonly streamUrl: string;
  release(subscriber: Subscriber): void;
}

/** The side of a subscription the hub drives (internal). */
export interface Subscriber {
  /** The sessions this subscriber wants, or undefined for every session. */
  readonly sessionIDs: ReadonlySet<string> | undefined;
  readonly types: ReadonlySet<string> | undefined;
  /**
   * Whether an event of `sessionID` (not a `server.*` one) is for this subscriber. Called before the
   * event is validated, so it reads fields defensively. Following a session tree, it adds a child
   * session the moment the event that names it passes, before the child's own events arrive.
   */
  wants(sessionID: string | undefined, event: Event): boolean;
  /** Hands one event over; false when this subscriber overflowed (the hub drops it). */
  push(event: Event): boolean;
  /** The shared connection is open (again). */
  opened(): void;
  stateChanged(state: ConnectionState): void;
  /**
   * Ends the subscription: with an error the iterator throws after the queued events (terminal
   * failure), or quietly (`throwError` false; the error only rejects a pending `ready`).
   */
  end(error: OpencodeError, throwError: boolean): void;
}

export interface SubscriptionSettings {
  sessionID: string | undefined;
  children: boolean;
  gaps: boolean;
  types: readonly string[] | undefined;
  signal: AbortSignal | undefined;
  maxQueue: number;
  readyTimeoutMs: number;
}

export interface ReconnectInfo {
  /**
   * Events from before the gap still waiting in this subscription's queue: the next `queued`
   * reads come from the old connection, everything after them from the new one.
   */
  queued: number;
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });

function noop(): void {}

/**
 * An `AsyncIterable` over the events one subscriber asked for, in server order. Single consumer.
 *
 * How it ends:
 * - `break` / `return()` / `close()` / the `signal` aborting / `client.close()`: the iterator
 *   finishes (`done`) at once; queued events are dropped.
 * - Terminal connection failure (401/403/404, a response that is not an event stream): queued
 *   events are still delivered, then the iterator throws the typed error (`AuthenticationError`…).
 * - Falling `maxQueue` events behind: the queue is dropped and the next read throws
 *   `SubscriberOverflowError`.
 *
 * Connection problems that reconnecting can fix never end the iterator; watch `state` or
 * `onReconnect` instead.
 */
export class EventSubscription<E extends Event | StreamGap = Event> implements AsyncIterableIterator<E>, Subscriber {
  readonly sessionID: string | undefined;
  readonly types: ReadonlySet<string> | undefined;
  readonly #sessions: Set<string> | undefined;
  readonly #children: boolean;
  readonly #gaps: boolean;
  /**
   * Resolves once the shared connection is open (HTTP 200 and the server's `server.connected`
   * frame), at once if it already is: events the server emits after that reach this
   * subscription. Rejects with the typed `APIError` (`AuthenticationError`, `NotFoundError`…)
   * when connecting fails terminally, with `AbortError` when the subscription is closed or its
   * signal aborts first, and with `APITimeoutError` (an `APIConnectionError`, `cause` = the last
   * connection failure) when failures that are being retried (refused, reset, 5xx, silence)
   * last longer than `readyTimeoutMs`; the subscription itself keeps waiting in that case.
   * A rejection nobody awaits is not reported as unhandled.
   */
  readonly ready: Promise<void>;

  readonly #host: SubscriptionHost;
  readonly #maxQueue: number;
  // Typed as `Event`, not E, so a narrowed subscription stays assignable to EventSubscription<Event>.
  readonly #queue = new RingQueue<Event | StreamGap>();
  readonly #signal: AbortSignal | undefined;
  #waiter: ((result: IteratorResult<Event | StreamGap>) => void) | undefined;
  #rejectWaiter: ((error: OpencodeError) => void) | undefined;
  #waiting: Promise<IteratorResult<Event | StreamGap>> | undefined;
  /** Thrown by the next read once the queue is drained; then the iterator is done. */
  #failure: OpencodeError | undefined;
  #ended = false;
  #sawOpen: boolean;
  #readySettled: boolean;
  #resolveReady: () => void = noop;
  #rejectReady: (error: OpencodeError) => void = noop;
  #readyTimer: ReturnType<typeof setTimeout> | undefined;
  #stateListeners: Set<(state: ConnectionState) => void> | undefined;
  #reconnectListeners: Set<(info: ReconnectInfo) => void> | undefined;
  readonly #onAbort = () =>
    this.#leave(new AbortError("the event subscription was aborted before the stream opened", { cause: this.#signal?.reason }));

  constructor(host: SubscriptionHost, settings: SubscriptionSettings) {
    this.#host = host;
    this.sessionID = settings.sessionID;
    this.#sessions = settings.sessionID === undefined ? undefined : new Set([settings.sessionID]);
    this.#children = settings.children;
    this.#gaps = settings.gaps;
    this.types = settings.types === undefined ? undefined : new Set(settings.types);
    this.#maxQueue = settings.maxQueue >= 1 ? settings.maxQueue : 1;
    this.#signal = settings.signal;
    this.#sawOpen = host.state === "open";
    this.#readySettled = this.#sawOpen;
    this.ready = this.#sawOpen
      ? Promise.resolve()
      : new Promise<void>((resolve, reject) => {
          this.#resolveReady = resolve;
          this.#rejectReady = reject;
        });
    this.ready.catch(noop);
    if (!this.#readySettled && settings.readyTimeoutMs > 0 && Number.isFinite(settings.readyTimeoutMs)) {
      this.#readyTimer = setTimeout(() => this.#readyTimedOut(settings.readyTimeoutMs), settings.readyTimeoutMs);
    }
    if (this.#signal?.aborted) this.#onAbort();
    else this.#signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  /** The shared connection's state, or `closed` once this subscription has ended. */
  get state(): ConnectionState {
    return this.#ended ? "closed" : this.#host.state;
  }

  /** True once the subscription has ended: no further events are queued (queued ones may still be read). */
  get closed(): boolean {
    return this.#ended;
  }

  /** Called on every state change while this subscription lives, and with `closed` when it ends. */
  onState(listener: (state: ConnectionState) => void): () => void {
    (this.#stateListeners ??= new Set()).add(listener);
    return () => void this.#stateListeners?.delete(listener);
  }

  /**
   * Called when the connection is open again after a gap (drop, stall, the server ending the
   * stream) during which this subscription was waiting: events may have been missed, and the
   * server does not replay them. Runs synchronously when the new connection's `server.connected`
   * frame arrives, before any event of the new connection is queued; see `ReconnectInfo.queued`.
   */
  onReconnect(listener: (info: ReconnectInfo) => void): () => void {
    (this.#reconnectListeners ??= new Set()).add(listener);
    return () => void this.#reconnectListeners?.delete(listener);
  }

  /** The sessions delivered: the one subscribed to, and with `children` every sub-session seen so far. */
  get sessionIDs(): ReadonlySet<string> | undefined {
    return this.#sessions;
  }

  /**
   * Also delivers this session's events from now on (with `children`, its sub-sessions' too): for a
   * sub-session found by other means than the stream, e.g. after a gap in it.
   */
  follow(sessionID: string): void {
    if (this.#sessions === undefined || this.#sessions.has(sessionID) || this.#ended) return;
    this.#sessions.add(sessionID);
    this.#host.sessionsChanged();
  }

  /** @internal */
  wants(sessionID: string | undefined, event: Event): boolean {
    const sessions = this.#sessions;
    if (sessions === undefined) return true;
    if (sessionID !== undefined && sessions.has(sessionID)) {
      if (this.#children) this.#followTask(event);
      return true;
    }
    if (!this.#children) return false;
    // A sub-agent's session announces itself with its parent's id, before any event of its own.
    if (event.type !== "session.created" && event.type !== "session.updated") return false;
    const info = (event.properties as { info?: { id?: unknown; parentID?: unknown } }).info;
    const child = sessionID ?? info?.id;
    if (typeof child !== "string" || typeof info?.parentID !== "string" || !sessions.has(info.parentID)) return false;
    this.follow(child);
    return true;
  }

  /** A `task` tool part names the child session it runs in `state.metadata.sessionId`. */
  #followTask(event: Event): void {
    if (event.type !== "message.part.updated") return;
    const part = event.properties.part as { type?: unknown; tool?: unknown; state?: { metadata?: { sessionId?: unknown } } };
    const child = part.type === "tool" && part.tool === "task" ? part.state?.metadata?.sessionId : undefined;
    if (typeof child === "string") this.follow(child);
  }

  /** Leaves the shared stream (closing it if this was the last subscriber); the iterator finishes. */
  close(): void {
    this.#leave(new AbortError("the event subscription was closed before the stream opened"));
  }

  next(): Promise<IteratorResult<E>> {
    if (this.#queue.length > 0) return Promise.resolve({ value: this.#queue.shift() as E, done: false });
    const failure = this.#failure;
    if (failure !== undefined) {
      this.#failure = undefined;
      return Promise.reject(failure);
    }
    if (this.#ended) return Promise.resolve(DONE);
    // A second read while one is pending waits its turn, so results stay in order.
    if (this.#waiting !== undefined) return this.#waiting.then(() => this.next());
    this.#waiting = new Promise<IteratorResult<Event | StreamGap>>((resolve, reject) => {
      this.#waiter = resolve;
      this.#rejectWaiter = reject;
    });
    return this.#waiting as Promise<IteratorResult<E>>;
  }

  return(): Promise<IteratorResult<E>> {
    this.close();
    return Promise.resolve(DONE);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** @internal */
  push(event: Event | StreamGap): boolean {
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      this.#rejectWaiter = undefined;
      this.#waiting = undefined;
      waiter({ value: event, done: false });
      return true;
    }
    if (this.#queue.length >= this.#maxQueue) {
      this.#queue.clear();
      this.#finish(new SubscriberOverflowError(this.#maxQueue), true);
      return false;
    }
    this.#queue.push(event);
    return true;
  }

  /** @internal */
  opened(): void {
    if (this.#ended) return;
    if (!this.#readySettled) {
      this.#readySettled = true;
      clearTimeout(this.#readyTimer);
      this.#resolveReady();
    }
    // In band: the marker sits exactly between the old connection's events and the new one's.
    // A full queue overflows on the marker too: leave the stream, as the hub does for an event.
    if (this.#sawOpen && this.#gaps && !this.push(STREAM_GAP)) {
      this.#host.release(this);
      return;
    }
    if (this.#sawOpen && this.#reconnectListeners !== undefined) {
      const info: ReconnectInfo = { queued: this.#queue.length };
      for (const listener of this.#reconnectListeners) this.#call(listener, info);
    }
    this.#sawOpen = true;
  }

  /** @internal */
  stateChanged(state: ConnectionState): void {
    if (this.#stateListeners === undefined || this.#ended) return;
    for (const listener of this.#stateListeners) this.#call(listener, state);
  }

  /** @internal */
  end(error: OpencodeError, throwError: boolean): void {
    if (!this.#ended) this.#finish(error, throwError);
  }

  /** `reason` only rejects a pending `ready`. */
  #leave(reason: OpencodeError): void {
    if (this.#ended) return;
    this.#finish(reason, false);
    this.#host.release(this);
  }

  #finish(error: OpencodeError, throwError: boolean): void {
    this.#ended = true;
    this.#signal?.removeEventListener("abort", this.#onAbort);
    clearTimeout(this.#readyTimer);
    if (!this.#readySettled) {
      this.#readySettled = true;
      this.#rejectReady(error);
    }
    if (!throwError) this.#queue.clear();
    const waiter = this.#waiter;
    const rejectWaiter = this.#rejectWaiter;
    this.#waiter = undefined;
    this.#rejectWaiter = undefined;
    this.#waiting = undefined;
    // Someone waiting means the queue is empty, so the error (if any) is their answer.
    if (waiter === undefined) {
      if (throwError) this.#failure = error;
    } else if (throwError) rejectWaiter?.(error);
    else waiter(DONE);
    const listeners = this.#stateListeners;
    this.#stateListeners = undefined;
    this.#reconnectListeners = undefined;
    if (listeners !== undefined) for (const listener of listeners) this.#call(listener, "closed" as ConnectionState);
  }

  #readyTimedOut(timeoutMs: number): void {
    this.#readyTimer = undefined;
    if (this.#readySettled) return;
    this.#readySettled = true;
    const cause = this.#host.lastError;
    const error = new APITimeoutError("GET", this.#host.streamUrl, timeoutMs, cause);
    error.message = `the event stream did not open within ${timeoutMs} ms${cause ? ` (last failure: ${cause.message})` : ""}`;
    this.#rejectReady(error);
  }

  #call<A>(listener: (arg: A) => void, arg: A): void {
    try {
      listener(arg);
    } catch (error) {
      this.#host.logger.error?.("an event subscription listener threw", { error });
    }
  }
}
