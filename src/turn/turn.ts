// A Turn: one prompt and everything the agent does about it, as an AsyncIterable of Replies plus
// `done` (the FinalReply) and `abort()`. It drives the pure codec from the shared event stream,
// and catches up from the server's stored messages after a gap in that stream.

import { AbortError, OpencodeError, StreamError } from "../http/errors.js";
import type { Logger } from "../http/logger.js";
import type { Transport } from "../http/transport.js";
import type { EventHub } from "../events/hub.js";
import type { SessionMutex } from "../session/mutex.js";
import { AbortedError, InterruptedError } from "./errors.js";
import {
  applySnapshot,
  initialTurnState,
  isCatchingUp,
  lastAssistantText,
  mapEvent,
  markGap,
  unfinishedWhileIdle,
  type MapResult,
  type TurnState,
} from "./map-event.js";
import { promptBody, type PartInput, type PromptBody, type PromptOptions } from "./prompt-body.js";
import type { ErrorReply, FinalReply, Reply, TerminalReply } from "./replies.js";

export type { PartInput, PromptOptions } from "./prompt-body.js";

export interface TurnDeps {
  transport: Transport;
  events: EventHub;
  mutex: SessionMutex;
  logger: Logger;
  newMessageID: () => string;
}

/** After the terminal reply, how long to wait for the session to go idle before letting the next turn in. */
const SETTLE_MS = 3_000;
/** While a part is stale after a gap, how often to re-read the stored messages for its text. */
const CATCH_UP_POLL_MS = 1_000;
/** How long an idle session must show no trace of the prompt before the prompt counts as lost. */
const LOST_PROMPT_MS = 2_000;
/** After asking the server to abort, how long to wait for its confirmation before ending locally. */
const ABORT_CONFIRM_MS = 5_000;

const WAKE = Symbol("wake");

export class Turn implements AsyncIterable<Reply> {
  readonly sessionID: string;
  /** The id of this turn's user message; the assistant messages answering it have it as `parentID`. */
  readonly messageID: string;

  private readonly deps: TurnDeps;
  private readonly body: PromptBody;
  private readonly replies: Reply[] = [];
  private readHead = 0;
  private notify: (() => void) | undefined;
  private iterating = false;
  private terminal: TerminalReply | undefined;
  private donePromise: Promise<FinalReply> | undefined;
  private observed = false;
  private markEnded: () => void = () => {};
  /** Settles when the terminal reply exists. */
  private readonly ended = new Promise<void>((resolve) => (this.markEnded = resolve));
  private deltaText = "";
  private reasoningText = "";

  /** Cancels waiting (lock, stream readiness) and the event loop; never the prompt POST itself. */
  private readonly internal = new AbortController();
  private posting: Promise<unknown> | undefined;
  private aborting: Promise<void> | undefined;
  /** The server was asked to abort: an idle without an error now still means "aborted". */
  private abortSent = false;
  /** Consecutive snapshots that found the session idle; with the turn unfinished, they count towards giving up. */
  private idleSnapshots = 0;
  private firstIdleSnapshot = 0;
  private wake: () => void = () => {};

  constructor(deps: TurnDeps, sessionID: string, input: string | PartInput[], options: PromptOptions = {}) {
    this.deps = deps;
    this.sessionID = sessionID;
    this.messageID = options.messageID ?? deps.newMessageID();
    this.body = promptBody(this.messageID, input, options);
    const signal = options.signal;
    if (signal?.aborted) void this.abort();
    else signal?.addEventListener("abort", () => void this.abort(), { once: true });
    void this.run();
  }

  /**
   * Resolves with the final reply; rejects with the typed error the turn ended with. Made on first
   * access, so a failure nobody asked about is not an unhandled rejection (it is logged instead).
   */
  get done(): Promise<FinalReply> {
    this.observed = true;
    return (this.donePromise ??= this.ended.then(() => {
      const terminal = this.terminal!;
      if (terminal.kind === "final") return terminal;
      throw terminal.error;
    }));
  }

  /** Assistant text streamed so far (all of the turn's messages); the final text is `final.text`. */
  get text(): string {
    return this.deltaText;
  }

  /** Reasoning streamed so far. */
  get reasoning(): string {
    return this.reasoningText;
  }

  /** Whether the turn has ended (its terminal reply was produced). */
  get finished(): boolean {
    return this.terminal !== undefined;
  }

  /**
   * Stops the turn: before the prompt reached the server it is simply dropped; after, the server
   * is asked to abort (`POST /session/:id/abort`). Either way the turn ends with an `error` reply
   * carrying `AbortedError` and `done` rejects. Resolves when the turn has ended.
   */
  abort(): Promise<void> {
    if (this.terminal) return Promise.resolve();
    return (this.aborting ??= this.abortNow());
  }

  /** The replies as a web `ReadableStream` (cancelling it stops reading, like `break`). */
  toReadableStream(): ReadableStream<Reply> {
    const iterator = this[Symbol.asyncIterator]();
    return new ReadableStream<Reply>({
      async pull(controller) {
        const { done, value } = await iterator.next();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      async cancel() {
        await iterator.return();
      },
    });
  }

  /**
   * Replies in server order, ending after the terminal one. One consumer; `break` stops reading
   * but does not abort the turn (use `abort()`), which runs on so `done` still settles.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<Reply, void, undefined> {
    if (this.iterating) throw new TypeError("a Turn can be iterated only once");
    this.iterating = true;
    this.observed = true;
    for (;;) {
      while (this.readHead < this.replies.length) {
        const reply = this.replies[this.readHead]!;
        this.replies[this.readHead++] = undefined as unknown as Reply; // let consumed replies go
        yield reply;
      }
      if (this.terminal) return;
      await new Promise<void>((resolve) => (this.notify = resolve));
    }
  }

  private async run(): Promise<void> {
    const { transport, events, mutex } = this.deps;
    let release: (() => void) | undefined;
    let subscription: ReturnType<EventHub["subscribe"]> | undefined;
    try {
      release = await mutex.acquire(this.sessionID, this.internal.signal);
      // Subscribe and see the stream open BEFORE prompting, or the first events could be missed.
      subscription = events.subscribe({ sessionID: this.sessionID, signal: this.internal.signal });
      let reads = 0;
      let gapAt: number | undefined;
      subscription.onReconnect(({ queued }) => {
        gapAt = reads + queued;
        this.wake();
      });
      await subscription.ready;
      // abort() may have run while we waited; then nothing must be sent.
      this.internal.signal.throwIfAborted();
      let state = initialTurnState({ sessionID: this.sessionID, userMessageID: this.messageID, now: Date.now() });

      this.posting = transport.request("post", "/session/{sessionID}/prompt_async", {
        path: { sessionID: this.sessionID },
        body: this.body,
        // Safe to repeat: the server keys the message by our client-chosen messageID.
        idempotent: true,
      });
      await this.posting;

      const iterator = subscription[Symbol.asyncIterator]();
      let next: Promise<IteratorResult<unknown>> | undefined;
      let settleBy: number | undefined;
      let pollAt: number | undefined;
      while (!state.settled) {
        if (gapAt !== undefined && reads >= gapAt) {
          gapAt = undefined;
          state = await this.catchUp(markGap(state));
          pollAt = undefined;
        } else if (state.needsSnapshot || (pollAt !== undefined && Date.now() >= pollAt)) {
          state = await this.catchUp(state);
          pollAt = undefined;
          if (state.needsSnapshot) throw new StreamError("could not read the turn's stored messages after the event stream broke");
        }
        // After a gap the session is idle, but the turn is not over: the server lost the prompt or
        // stopped mid-turn (restart), or we looked in the instant before it went busy. Only if that
        // holds across snapshots taken apart is the turn given up.
        const stuck = !state.done && (!state.started || unfinishedWhileIdle(state));
        if (!stuck) this.idleSnapshots = 0;
        else if (this.idleSnapshots > 0) {
          if (this.idleSnapshots >= 2 && Date.now() - this.firstIdleSnapshot >= LOST_PROMPT_MS) {
            throw state.started
              ? new InterruptedError("the server stopped before the turn finished (it restarted?)", lastAssistantText(state))
              : new InterruptedError("the server has no record of this turn's prompt (it restarted?)", "");
          }
          pollAt ??= Date.now() + CATCH_UP_POLL_MS;
        }
        if (state.done) settleBy ??= Date.now() + SETTLE_MS;
        if (settleBy !== undefined && Date.now() >= settleBy) break;
        if (isCatchingUp(state)) pollAt ??= Date.now() + CATCH_UP_POLL_MS;
        const wakeAt = Math.min(settleBy ?? Infinity, pollAt ?? Infinity);

        next ??= iterator.next();
        const woken = new Promise<typeof WAKE>((resolve) => (this.wake = () => resolve(WAKE)));
        const timer = wakeAt === Infinity ? undefined : setTimeout(this.wake, Math.max(0, wakeAt - Date.now()));
        const result = await Promise.race([next, woken]);
        clearTimeout(timer);
        if (result === WAKE) continue;
        next = undefined;
        if (result.done) break;
        reads++;
        state = this.apply(mapEvent(state, result.value));
      }
      if (!this.terminal) {
        throw this.aborting
          ? localAbort()
          : new AbortError("the event stream closed before the turn ended (client closed?)");
      }
    } catch (error) {
      if (!this.terminal) this.finish(this.errorReply(error));
    } finally {
      subscription?.close();
      release?.();
    }
  }

  private async abortNow(): Promise<void> {
    if (!this.posting) {
      // Not sent yet: stop waiting for the lock or the stream; nothing to undo on the server.
      this.internal.abort();
      this.finish({ kind: "error", sessionID: this.sessionID, error: localAbort() });
      return;
    }
    // Sent, or being sent: the server may be running it, so it must be stopped there.
    await this.posting.catch(() => {});
    if (this.terminal) return;
    this.abortSent = true;
    try {
      await this.deps.transport.request("post", "/session/{sessionID}/abort", { path: { sessionID: this.sessionID } });
    } catch (error) {
      this.deps.logger.warn?.("could not abort the turn on the server", { sessionID: this.sessionID, error: String(error) });
    }
    // The server confirms with MessageAbortedError on the stream; do not wait forever for it.
    await Promise.race([this.ended, delay(ABORT_CONFIRM_MS)]);
    if (!this.terminal) {
      this.finish({ kind: "error", sessionID: this.sessionID, error: localAbort() });
      this.internal.abort();
    }
  }

  /** Re-reads status, then messages (only messages read after an idle are final), into the codec. */
  private async catchUp(state: TurnState): Promise<TurnState> {
    const { transport } = this.deps;
    try {
      const statuses = await transport.request("get", "/session/status", { signal: this.internal.signal });
      const status = (statuses as Record<string, { type?: string } | undefined>)[this.sessionID]?.type ?? "idle";
      if (status === "idle" && this.idleSnapshots++ === 0) this.firstIdleSnapshot = Date.now();
      if (status !== "idle") this.idleSnapshots = 0;
      const messages = await transport.request("get", "/session/{sessionID}/message", {
        path: { sessionID: this.sessionID },
        signal: this.internal.signal,
      });
      return this.apply(
        applySnapshot(state, {
          status: status === "busy" || status === "retry" ? status : "idle",
          messages: messages as Parameters<typeof applySnapshot>[1]["messages"],
        }),
      );
    } catch (error) {
      this.deps.logger.warn?.("could not catch the turn up after the event stream broke", {
        sessionID: this.sessionID,
        error: String(error),
      });
      return state;
    }
  }

  private apply(result: MapResult): TurnState {
    for (const reply of result.replies) {
      const ended = reply.kind === "final" || (reply.kind === "error" && reply.error instanceof InterruptedError);
      if (ended && this.abortSent) {
        // Aborted while the server waited to retry the provider: it just goes idle, no error.
        this.finish({ kind: "error", sessionID: this.sessionID, error: localAbort() });
      } else if (reply.kind === "final" || reply.kind === "error") {
        this.finish(reply);
      } else {
        this.push(reply);
      }
    }
    return result.state;
  }

  private push(reply: Reply): void {
    if (this.terminal) return;
    if (reply.kind === "delta") this.deltaText += reply.text;
    else if (reply.kind === "reasoning") this.reasoningText += reply.text;
    this.replies.push(reply);
    const notify = this.notify;
    this.notify = undefined;
    notify?.();
  }

  private finish(reply: TerminalReply): void {
    if (this.terminal) return;
    this.push(reply);
    this.terminal = reply;
    this.markEnded();
    this.wake();
    if (reply.kind === "error") {
      // Errors nobody looks at must still surface somewhere.
      queueMicrotask(() => {
        if (!this.observed) {
          this.deps.logger.error?.(`turn on ${this.sessionID} failed and nobody read it: ${reply.error.message}`, {
            name: reply.error.name,
          });
        }
      });
    }
  }

  private errorReply(error: unknown): ErrorReply {
    if (this.aborting && (error instanceof AbortError || this.internal.signal.aborted)) return { kind: "error", sessionID: this.sessionID, error: localAbort() };
    const typed =
      error instanceof OpencodeError ? error : new StreamError(`the turn failed: ${String(error)}`, false, { cause: error });
    return { kind: "error", sessionID: this.sessionID, error: typed };
  }
}

function localAbort(): AbortedError {
  return new AbortedError("MessageAbortedError: the turn was aborted by the client", {
    name: "MessageAbortedError",
    data: { message: "aborted by the client" },
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref?.());
}
