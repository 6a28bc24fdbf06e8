// The runtime under every view: one subscription on a shared event stream folded into state by a
// pure reducer, a re-read over plain requests at open and after every gap (events arriving
// meanwhile are kept and folded in over its result, so nothing is lost or doubled), and coalesced
// notifications. Views put their snapshot and their API on top.

import type { EventSubscription } from "../events/subscription.js";
import type { Event, StreamGap } from "../events/types.js";
import type { OpencodeError } from "../http/errors.js";
import type { Logger } from "../http/logger.js";
import { Listeners } from "./listeners.js";

/** Events kept while a re-read is in flight; past this, they are dropped and the re-read repeats. */
const MAX_BUFFER = 10_000;

export interface LiveStoreSpec<S> {
  subscription: EventSubscription<Event | StreamGap>;
  initial: S;
  reduce(state: S, event: Event | StreamGap): S;
  /** Reads what the stream cannot replay; resolves with how to fold it into the state of that moment. */
  read(signal: AbortSignal, reason: "open" | "gap"): Promise<(state: S) => S>;
  /** The stream left the state unsure (e.g. text a stopped run never closed): read again. */
  stale?(state: S): boolean;
  logger: Logger;
}

export class LiveStore<S> {
  readonly #spec: LiveStoreSpec<S>;
  readonly listeners: Listeners;
  readonly #abort = new AbortController();
  #state: S;
  /** Set while a re-read is in flight: the events that arrive meanwhile. */
  #buffer: (Event | StreamGap)[] | undefined;
  #readAgain = false;
  #error: OpencodeError | undefined;
  #closed = false;

  constructor(spec: LiveStoreSpec<S>) {
    this.#spec = spec;
    this.#state = spec.initial;
    this.listeners = new Listeners(spec.logger);
  }

  get state(): S {
    return this.#state;
  }

  /** The latest failure: a re-read that failed (retried after the next gap) or the stream's end. */
  get error(): OpencodeError | undefined {
    return this.#error;
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Waits for the stream to open (so nothing after this moment is missed), then reads. */
  async open(): Promise<void> {
    try {
      await this.#spec.subscription.ready;
      this.#buffer = [];
      void this.#pump();
      await this.#read("open");
    } catch (error) {
      this.close();
      throw error;
    }
  }

  set(state: S): void {
    if (state === this.#state || this.#closed) return;
    this.#state = state;
    this.listeners.notify();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#abort.abort();
    this.#spec.subscription.close();
    this.listeners.clear();
    this.#buffer = undefined;
  }

  async #pump(): Promise<void> {
    try {
      for await (const event of this.#spec.subscription) {
        if (this.#buffer !== undefined && event.type !== "client.gap") {
          this.#buffer.push(event);
          if (this.#buffer.length > MAX_BUFFER) {
            this.#buffer = [];
            this.#readAgain = true;
          }
          continue;
        }
        this.set(this.#spec.reduce(this.#state, event));
        if (event.type === "client.gap" || this.#spec.stale?.(this.#state)) void this.#reread();
      }
    } catch (error) {
      // A terminal stream failure: 401, the client closed, falling too far behind.
      this.#fail(error as OpencodeError);
    }
  }

  async #reread(): Promise<void> {
    if (this.#buffer !== undefined) {
      this.#readAgain = true;
      return;
    }
    this.#buffer = [];
    try {
      await this.#read("gap");
    } catch (error) {
      if (this.#closed) return;
      this.#buffer = undefined;
      this.#spec.logger.warn?.("a view could not re-read after a gap in the event stream", { error });
      this.#fail(error as OpencodeError);
    }
  }

  async #read(reason: "open" | "gap"): Promise<void> {
    for (;;) {
      this.#readAgain = false;
      const fold = await this.#spec.read(this.#abort.signal, reason);
      if (this.#closed) return;
      let state = fold(this.#state);
      for (const event of this.#buffer ?? []) state = this.#spec.reduce(state, event);
      this.#buffer = this.#readAgain ? [] : undefined;
      if (!this.#readAgain) this.#error = undefined;
      this.set(state);
      if (!this.#readAgain) return;
      reason = "gap";
    }
  }

  #fail(error: OpencodeError): void {
    if (this.#closed) return;
    this.#error = error;
    this.listeners.notify();
  }
}
