// The subscribers of a view, notified once per batch of changes: every event that arrives in one
// network read (queued in the same task) ends in one call per listener, after the batch.

import type { Logger } from "../http/logger.js";

export class Listeners {
  readonly #listeners = new Set<() => void>();
  readonly #logger: Logger;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  get size(): number {
    return this.#listeners.size;
  }

  add(listener: () => void): () => void {
    // Wrapped, so the same function subscribed twice is two subscriptions, each removed once.
    const entry = () => listener();
    this.#listeners.add(entry);
    return () => void this.#listeners.delete(entry);
  }

  /**
   * Schedules one call of every listener. A task, not a microtask: the events of one read reach the
   * view through an async iterator, one microtask each, and should end in one notification.
   */
  notify(): void {
    if (this.#timer !== undefined || this.#listeners.size === 0) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      for (const listener of [...this.#listeners]) {
        try {
          listener();
        } catch (error) {
          this.#logger.error?.("a view listener threw", { error });
        }
      }
    }, 0);
  }

  clear(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#listeners.clear();
  }
}
