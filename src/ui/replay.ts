// Resumable re-broadcast: each turn streamed to a browser is read once into a bounded, numbered
// buffer, and every HTTP response (the first one, or a reconnect naming its Last-Event-ID) reads
// from it. So a dropped stream resumes with no lost and no repeated frame, within this process.

import type { FramePosition } from "../browser/wire.js";
import { OpencodeError } from "../http/errors.js";

export interface ReplayOptions {
  /** Frames kept per turn for readers that reconnect; a reader further behind gets a gap error. Default 10 000. */
  maxFrames?: number;
  /** How long an ended turn stays resumable. Default 60 000 ms. */
  keepMs?: number;
  /** Ended turns kept at most (the oldest go first); running turns are always kept. Default 500. */
  maxTurns?: number;
  /**
   * For a Last-Event-ID naming a turn this process does not have (it started on another app
   * process, or this one restarted): the frames after that position, or undefined if the turn is
   * unknown. `signal` aborts when the browser leaves. `attachFromServer(client.session)` plugs
   * `session.attach()` in here; without a hook such a resume is answered "not found".
   */
  attach?: (position: FramePosition, signal: AbortSignal) => Promise<AsyncIterable<unknown> | undefined>;
}

/** A reconnect asked for frames this process no longer has (`maxFrames` passed them). */
export class ReplayGapError extends OpencodeError {
  override readonly name = "ReplayGapError" as const;
  readonly retryable = false;
  constructor(readonly after: number, readonly oldest: number) {
    super(`frame ${after + 1} of this turn is no longer kept (oldest kept: ${oldest}); raise maxFrames`);
  }
}

export interface ReplayFrame<T> {
  /** 1-based position of the frame in its turn. */
  seq: number;
  item: T;
}

/** What a replay needs of its turn: the session, and the user message id once the turn has one. */
export interface TurnPosition {
  readonly sessionID: string;
  /** A queued turn gets its user message id when it gets the session; it has one by its first reply. */
  readonly messageID: string | undefined;
}

/** One turn's frames, numbered from 1, read once from `source` and kept (bounded) for every reader. */
export class TurnReplay<T> {
  readonly sessionID: string;
  /** Names this replay's frame numbering in frame ids: another process's numbers mean nothing here. */
  readonly stream = streamToken();
  private readonly turn: TurnPosition;
  private readonly frames: T[] = [];
  /** seq of frames[0]. */
  private firstSeq = 1;
  private lastSeq = 0;
  private done = false;
  private readonly waiters = new Set<() => void>();
  private readers = 0;
  private abandonTimer: ReturnType<typeof setTimeout> | undefined;
  /** Resolves when the source has ended. */
  readonly ended: Promise<void>;

  constructor(
    turn: TurnPosition,
    source: AsyncIterable<T>,
    private readonly maxFrames = 10_000,
    private readonly onPositioned: (messageID: string) => void = () => {},
  ) {
    this.sessionID = turn.sessionID;
    this.turn = turn;
    this.ended = this.pump(source);
  }

  /** The turn's user message id: known once the first frame exists. */
  get messageID(): string | undefined {
    return this.turn.messageID;
  }

  get finished(): boolean {
    return this.done;
  }

  /** seq of the newest frame so far (0 before the first). */
  get head(): number {
    return this.lastSeq;
  }

  /** Whether the frames after `after` are all still kept. */
  keeps(after: number): boolean {
    return after >= this.firstSeq - 1 && after <= this.lastSeq;
  }

  /** The frames after `after` (0: from the start), live until the source ends or `signal` aborts. */
  async *read(after = 0, signal?: AbortSignal): AsyncGenerator<ReplayFrame<T>, void, undefined> {
    if (after < this.firstSeq - 1) throw new ReplayGapError(after, this.firstSeq);
    this.readers++;
    clearTimeout(this.abandonTimer);
    let next = after + 1;
    try {
      for (;;) {
        if (signal?.aborted) return;
        if (next < this.firstSeq) throw new ReplayGapError(next - 1, this.firstSeq);
        while (next <= this.lastSeq) {
          const item = this.frames[next - this.firstSeq] as T;
          yield { seq: next++, item };
          if (signal?.aborted) return;
        }
        if (this.done) return;
        await new Promise<void>((resolve) => {
          const wake = () => {
            this.waiters.delete(wake);
            signal?.removeEventListener("abort", wake);
            resolve();
          };
          this.waiters.add(wake);
          signal?.addEventListener("abort", wake, { once: true });
        });
      }
    } finally {
      this.readers--;
    }
  }

  /**
   * A reader went away before the end (the browser closed the tab, or the network dropped): call
   * `onAbandoned` unless another reader (a reconnect) comes within `graceMs`.
   */
  abandon(graceMs: number, onAbandoned: () => void): void {
    if (this.done) return;
    clearTimeout(this.abandonTimer);
    this.abandonTimer = setTimeout(() => {
      if (this.readers === 0 && !this.done) onAbandoned();
    }, graceMs);
    this.abandonTimer.unref?.();
  }

  private async pump(source: AsyncIterable<T>): Promise<void> {
    let positioned = false;
    try {
      for await (const item of source) {
        if (!positioned && this.turn.messageID !== undefined) {
          positioned = true;
          this.onPositioned(this.turn.messageID);
        }
        this.frames.push(item);
        this.lastSeq++;
        if (this.frames.length > this.maxFrames) {
          // Dropping from the front of a large array is O(n); drop in batches so it stays amortized O(1).
          const drop = Math.max(1, Math.floor(this.maxFrames / 4));
          this.frames.splice(0, drop);
          this.firstSeq += drop;
        }
        this.wakeAll();
      }
    } finally {
      this.done = true;
      clearTimeout(this.abandonTimer);
      this.wakeAll();
    }
  }

  private wakeAll(): void {
    for (const wake of [...this.waiters]) wake();
  }
}

/** A short random name for one numbering of a turn's frames. */
export function streamToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return [...bytes].map((b) => (b % 36).toString(36)).join("");
}

/** The turns this process re-broadcasts, by session and user message id, for reconnects to find. */
export class TurnReplays<T> {
  private readonly turns = new Map<string, TurnReplay<T>>();
  private readonly options: Required<Omit<ReplayOptions, "attach">> & Pick<ReplayOptions, "attach">;

  constructor(options: ReplayOptions = {}) {
    this.options = { maxFrames: 10_000, keepMs: 60_000, maxTurns: 500, ...options };
  }

  private readonly byTurn = new WeakMap<object, TurnReplay<T>>();

  /**
   * Starts reading `source` (the turn's frames) into a replay, found by the turn object at once and
   * by the turn's ids (for Last-Event-ID) from its first frame on.
   */
  add(turn: TurnPosition, source: AsyncIterable<T>): TurnReplay<T> {
    let key: string | undefined;
    const replay = new TurnReplay(turn, source, this.options.maxFrames, (messageID) => {
      key = `${turn.sessionID}:${messageID}`;
      this.turns.set(key, replay);
    });
    this.byTurn.set(turn, replay);
    void replay.ended.then(() => {
      if (key === undefined) return;
      const timer = setTimeout(() => {
        if (key !== undefined && this.turns.get(key) === replay) this.turns.delete(key);
      }, this.options.keepMs);
      timer.unref?.();
      this.evict();
    });
    return replay;
  }

  /** The replay of this turn object, if it was added. */
  of(turn: TurnPosition): TurnReplay<T> | undefined {
    return this.byTurn.get(turn);
  }

  get(sessionID: string, messageID: string): TurnReplay<T> | undefined {
    return this.turns.get(`${sessionID}:${messageID}`);
  }

  /** The attach hook, for a position this process has no replay of. */
  get attach(): ReplayOptions["attach"] {
    return this.options.attach;
  }

  private evict(): void {
    let over = this.turns.size - this.options.maxTurns;
    for (const [key, replay] of this.turns) {
      if (over <= 0) break;
      if (replay.finished) {
        this.turns.delete(key);
        over--;
      }
    }
  }
}
