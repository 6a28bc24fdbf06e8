// One turn at a time per session. The server queues a prompt sent to a busy session and folds it
// into the running reply, mixing two turns' events; so turns on one session wait their turn, FIFO.

import { AbortError } from "../http/errors.js";

interface Waiter {
  grant: (release: () => void) => void;
}

export class SessionMutex {
  private readonly queues = new Map<string, { held: boolean; waiters: Waiter[] }>();

  /**
   * Resolves with a release function once `sessionID` is free. An abort while waiting removes
   * this waiter (the running turn and the others are untouched) and rejects with AbortError.
   */
  acquire(sessionID: string, signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(new AbortError("the turn was aborted while waiting for the session", { cause: signal.reason }));
    let queue = this.queues.get(sessionID);
    if (!queue) this.queues.set(sessionID, (queue = { held: false, waiters: [] }));
    if (!queue.held) {
      queue.held = true;
      return Promise.resolve(this.releaser(sessionID));
    }
    const waiters = queue.waiters;
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const index = waiters.indexOf(waiter);
        if (index >= 0) waiters.splice(index, 1);
        reject(new AbortError("the turn was aborted while waiting for the session", { cause: signal?.reason }));
      };
      const waiter: Waiter = {
        grant: (release) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(release);
        },
      };
      waiters.push(waiter);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  private releaser(sessionID: string): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const queue = this.queues.get(sessionID);
      if (!queue) return;
      const next = queue.waiters.shift();
      if (next) next.grant(this.releaser(sessionID));
      else this.queues.delete(sessionID);
    };
  }
}
