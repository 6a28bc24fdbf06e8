// The shell every view shares: on the view's subscription to its directory's event stream it runs
// a `LiveStore` (reduce, re-read at open and after gaps, coalesced notifications) and hands out
// snapshots that stay the same object until the state changes. A view adds only what differs:
// what it subscribes to and reads, how it reduces, and what its snapshot holds.

import type { EventHub, SubscribeOptions } from "../events/hub.js";
import type { EventSubscription } from "../events/subscription.js";
import type { Event, StreamGap } from "../events/types.js";
import type { OpencodeError } from "../http/errors.js";
import type { Logger } from "../http/logger.js";
import type { TypedRequest } from "../http/paths.js";
import "./dispose.js";
import { LiveStore } from "./live-store.js";

/** What a view needs from the client. */
export interface ViewDeps {
  request: TypedRequest;
  events: EventHub;
  logger: Logger;
}

export abstract class LiveView<S, Snapshot> {
  protected readonly deps: ViewDeps;
  /** The `directory` query of the view's requests: set when it watches another project than the client's. */
  protected readonly query: { directory: string } | undefined;
  /** The view's subscription on its project's stream (a session view follows sub-agent sessions on it). */
  protected readonly subscription: EventSubscription<Event | StreamGap>;
  readonly #store: LiveStore<S>;
  #snapshot: Snapshot | undefined;
  /** What the current snapshot was built from. */
  #built: { state: S; error: OpencodeError | undefined } | undefined;

  protected constructor(deps: ViewDeps, directory: string | undefined, filter: Pick<SubscribeOptions, "sessionID" | "children">, initial: S) {
    this.deps = deps;
    this.query = directory === undefined ? undefined : { directory };
    const hub = directory === undefined ? deps.events : deps.events.forDirectory(directory);
    this.subscription = hub.subscribe({ ...filter, gaps: true });
    this.#store = new LiveStore<S>({
      subscription: this.subscription,
      initial,
      reduce: (state, event) => this.reduce(state, event),
      read: (signal, reason) => this.read(signal, reason),
      stale: (state) => this.stale(state),
      logger: deps.logger,
    });
  }

  /** Folds one event (or the gap marker) into the state. */
  protected abstract reduce(state: S, event: Event | StreamGap): S;
  /** Reads what the stream cannot replay; resolves with how to fold it into the state of that moment. */
  protected abstract read(signal: AbortSignal, reason: "open" | "gap"): Promise<(state: S) => S>;
  /** The snapshot of `state`; `previous` lets it reuse what did not change. */
  protected abstract snapshot(state: S, previous: Snapshot | undefined, error: OpencodeError | undefined): Snapshot;

  /** The stream left the state unsure: read again. */
  protected stale(_state: S): boolean {
    return false;
  }

  /** Opens the stream, then reads; resolves with the view once its first snapshot is there. */
  protected async start(): Promise<this> {
    await this.#store.open();
    return this;
  }

  protected get state(): S {
    return this.#store.state;
  }

  /** Aborted when the view closes: its requests stop with it. */
  protected get signal(): AbortSignal {
    return this.#store.signal;
  }

  protected get closed(): boolean {
    return this.#store.closed;
  }

  protected setState(state: S): void {
    this.#store.set(state);
  }

  /** The current snapshot: the same object until something changed. Bound, so it can be passed as is. */
  readonly get = (): Snapshot => {
    const state = this.#store.state;
    const error = this.#store.error;
    if (this.#built !== undefined && this.#built.state === state && this.#built.error === error) return this.#snapshot!;
    this.#built = { state, error };
    return (this.#snapshot = this.snapshot(state, this.#snapshot, error));
  };

  /** Calls `listener` after changes (many events, one call); returns the unsubscribe function. Bound. */
  readonly subscribe = (listener: () => void): (() => void) => this.#store.listeners.add(listener);

  /** Stops following: the subscription, pending reads and listeners are released. Safe to call twice. */
  close(): void {
    this.#store.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}
