// A first-come queue in front of a bounded resource (the fetch engine's connections, the catch-up
// reads): at most `limit` holders at once, the rest wait in order; a waiter whose signal aborts
// leaves the queue without ever holding a slot.

export class Limiter {
  #active = 0;
  readonly #waiting: { grant: () => void }[] = [];

  constructor(readonly limit: number) {}

  /** Resolves with the slot's release (safe to call more than once) once one is free; rejects with the signal's reason. */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#active < this.limit) return Promise.resolve(this.#hold());
    return new Promise((resolve, reject) => {
      const waiter = {
        grant: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve(this.#hold());
        },
      };
      const onAbort = () => {
        const index = this.#waiting.indexOf(waiter);
        if (index !== -1) this.#waiting.splice(index, 1);
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiting.push(waiter);
    });
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    const release = await this.acquire();
    try {
      return await task();
    } finally {
      release();
    }
  }

  #hold(): () => void {
    this.#active++;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.#active--;
      this.#waiting.shift()?.grant();
    };
  }
}
