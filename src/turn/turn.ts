// A Turn: one prompt and everything the agent does about it (sub-agents included), as an
// AsyncIterable of Replies plus `done` (the FinalReply) and `abort()`. One loop feeds a small state
// machine in order: the subscription's events and gap markers, the snapshots it asked for, the
// stop request and its own deadlines. The pure codec turns events into replies; this file owns the
// rules that need a clock or a request: catching up after gaps, stopping exactly, settling the lock.

import { AbortError, ConfigurationError, OpencodeError, StreamError } from "../http/errors.js";
import type { Logger } from "../http/logger.js";
import type { TypedRequest } from "../http/paths.js";
import type { Event, StreamGap } from "../events/types.js";
import type { MessageIDs } from "../session/ids.js";
import type { SessionMutex } from "../session/mutex.js";
import { AbortedError, classifyProviderError, InterruptedError, StopTimeoutError, TurnTimeoutError, UnansweredError } from "./errors.js";
import {
  applySnapshot,
  initialTurnState,
  lastAssistantText,
  mapEvent,
  markGap,
  unfinishedWhileIdle,
  unplacedSessions,
  type MapResult,
  type TurnSnapshot,
  type TurnState,
} from "./map-event.js";
import { promptBody, type PartInput, type PromptBody, type PromptOptions } from "./prompt-body.js";
import type { ErrorReply, FinalReply, Reply, TerminalReply } from "./replies.js";
import type { CatchUp } from "./catch-up.js";

export type { PartInput, PromptOptions } from "./prompt-body.js";

/** The part of the event stream a Turn uses: a subscription to its session tree, gaps in band. */
export interface TurnEvents {
  subscribe(options: { sessionID: string; children: true; gaps: true; signal: AbortSignal }): TurnSubscription;
}

export interface TurnSubscription extends AsyncIterable<Event | StreamGap> {
  readonly ready: Promise<void>;
  close(): void;
}

/** The Turn's bounds, in ms. */
export interface TurnTiming {
  /** After the terminal reply, how long to wait for the session to go idle before letting the next turn in. */
  settleMs: number;
  /** After a stop, how long the server has to report the session idle. */
  stopSettleMs: number;
  /** Between two abort requests sent at the turn's signs of life. */
  abortRepeatMs: number;
  /** How long after an idle snapshot with the server's evidence of a lost turn a second one confirms it. */
  lostTurnMs: number;
  /** Between the snapshots that watch an idle session showing the turn unfinished; doubles while they show nothing new. */
  recheckMs: number;
  /** The longest spacing of those rechecks. */
  maxRecheckMs: number;
}

const TIMING: TurnTiming = {
  settleMs: 3_000,
  stopSettleMs: 10_000,
  abortRepeatMs: 250,
  lostTurnMs: 2_000,
  recheckMs: 1_000,
  maxRecheckMs: 30_000,
};

export interface TurnDeps {
  request: TypedRequest;
  events: TurnEvents;
  mutex: SessionMutex;
  logger: Logger;
  ids: MessageIDs;
  /** The client's shared catch-up reads. */
  catchUp: CatchUp;
  timing?: Partial<TurnTiming>;
}

/** What the Turn does: send a prompt, or follow a turn already running on the server. */
export type TurnStart =
  | { kind: "prompt"; input: string | PartInput[]; options: PromptOptions }
  | { kind: "attach"; userMessageID: string; options: Pick<PromptOptions, "signal" | "subagents" | "timeoutMs"> };

type Input =
  | { kind: "event"; event: Event | StreamGap }
  | { kind: "snapshot"; snapshot: TurnSnapshot; stored: boolean }
  | { kind: "snapshot-failed"; error: unknown; required: boolean }
  | { kind: "closed" }
  | { kind: "wake" };

export class Turn implements AsyncIterable<Reply> {
  readonly sessionID: string;

  private readonly deps: TurnDeps;
  private readonly timing: TurnTiming;
  private readonly start: TurnStart;
  private userMessageID: string | undefined;
  private state: TurnState | undefined;

  // What consumers see.
  private readonly replies: Reply[] = [];
  private readHead = 0;
  private notify: (() => void) | undefined;
  private iterating = false;
  private terminal: TerminalReply | undefined;
  private donePromise: Promise<FinalReply> | undefined;
  private observed = false;
  private markEnded: () => void = noop;
  private readonly ended = new Promise<void>((resolve) => (this.markEnded = resolve));
  /** Text and reasoning per part, in order, so a retry's discarded parts can be taken out again. */
  private readonly textParts = new Map<string, string>();
  private readonly reasoningParts = new Map<string, string>();

  // The machine.
  /** Cancels waiting for the lock and the stream, and ends the subscription. */
  private readonly stop = new AbortController();
  private readonly post = new AbortController();
  /** 0: not sent; 1: in flight; 2: the server answered. */
  private postStage: 0 | 1 | 2 = 0;
  private readonly inbox: Input[] = [];
  private wakeLoop: () => void = noop;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private snapshotting = false;
  /** A gap was seen and no snapshot has been read since. */
  private gapPending = false;
  /** Attaching: the stored messages are the turn's start. */
  private attachPending: boolean;
  /** The next snapshot decide() planned: when, and whether the turn depends on it. */
  private snapshotPlan: { at: number; required: boolean } | undefined;
  /** When the last snapshot was read: checks that repeat are spaced by `recheckMs`, never a tight loop. */
  private lastSnapshotAt = -Infinity;
  /** Idle snapshots showing the server's evidence that the turn is lost: when the first was taken, and how many. */
  private idleSeenAt: number | undefined;
  private idleSeen = 0;
  /**
   * The live stream showed the root's run for this turn end (an idle or an error after the turn's
   * prompt appeared): an idle snapshot with no answer then means the server dropped it. Without it,
   * a stored prompt with no answer may be one the server has not started yet (it is behind), and the
   * turn waits for it, however long.
   */
  private runEnded = false;
  /** The stream broke after the prompt was posted: the server may have restarted and lost a prompt it had not stored. */
  private gapSincePost = false;
  /** Snapshots since the last event of the turn's tree: their rechecks back off while nothing happens. */
  private quietChecks = 0;
  /**
   * The last snapshot showed the session idle with the prompt not started or unanswered, and no
   * evidence of a loss: only the stream can say more (the run starting), so nothing is polled.
   */
  private awaitingRun = false;
  private deadline: ReturnType<typeof setTimeout> | undefined;
  /** Required snapshots that failed in a row; the third ends the turn. */
  private snapshotFailures = 0;
  private settleBy: number | undefined;
  // Stopping.
  private stopping = false;
  private stopSentAt: number | undefined;
  private stopConfirmed = false;
  private stopDeadline: number | undefined;
  private settleStop: (error?: OpencodeError) => void = noop;
  private readonly stopped: Promise<void>;
  private readonly onSignal = () => void this.abort();

  constructor(deps: TurnDeps, sessionID: string, start: TurnStart) {
    this.deps = deps;
    this.timing = { ...TIMING, ...deps.timing };
    this.sessionID = sessionID;
    this.start = start;
    this.attachPending = start.kind === "attach";
    if (start.kind === "attach") this.userMessageID = start.userMessageID;
    else if (start.options.messageID !== undefined) this.userMessageID = start.options.messageID;
    this.stopped = new Promise<void>((resolve, reject) => {
      this.settleStop = (error) => (error ? reject(error) : resolve());
    });
    this.stopped.catch(noop);
    const signal = start.options.signal;
    if (signal?.aborted) void this.abort();
    else signal?.addEventListener("abort", this.onSignal, { once: true });
    const timeoutMs = start.options.timeoutMs;
    if (timeoutMs !== undefined && timeoutMs > 0 && Number.isFinite(timeoutMs)) {
      this.deadline = setTimeout(() => void this.halt(new TurnTimeoutError(`the turn did not end within ${timeoutMs} ms`, timeoutMs, this.text)), timeoutMs);
    }
    void this.run();
  }

  /**
   * The id of this turn's user message (the assistant messages answering it have it as
   * `parentID`). Chosen when the turn gets the session, so undefined while it waits for it.
   */
  get messageID(): string | undefined {
    return this.userMessageID;
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

  /** The root session's assistant text streamed so far, without text a provider retry discarded. */
  get text(): string {
    return joined(this.textParts);
  }

  /** The root session's reasoning streamed so far. */
  get reasoning(): string {
    return joined(this.reasoningParts);
  }

  /** Whether the turn has ended (its terminal reply was produced). */
  get finished(): boolean {
    return this.terminal !== undefined;
  }

  /**
   * Stops the turn. It ends at once with an `error` reply carrying `AbortedError` (no other reply
   * follows), `done` rejects with it, and the server is asked to stop: a prompt still waiting for
   * the session is dropped, one being sent is cancelled, and an abort the server ignores (sent
   * before its prompt loop started) is repeated when the turn shows signs of life. Resolves once
   * the server reports the session idle (the next turn on this session waits for that too);
   * rejects with `StopTimeoutError` if it does not within 10 s. Nobody has to await it.
   */
  abort(): Promise<void> {
    return this.halt(aborted("the turn was aborted by the client"));
  }

  /** Ends the turn with `error` and stops it on the server (an abort, or the caller's deadline). */
  private halt(error: OpencodeError): Promise<void> {
    if (this.stopping || this.terminal) return this.stopping ? this.stopped : Promise.resolve();
    this.stopping = true;
    this.finish({ kind: "error", sessionID: this.sessionID, error });
    this.stopDeadline = Date.now() + this.timing.stopSettleMs;
    if (this.postStage === 0) this.stop.abort();
    else if (this.postStage === 1) this.post.abort();
    else this.sendStop();
    this.wakeLoop();
    return this.stopped;
  }

  /** The replies as a web `ReadableStream` (cancelling it stops the turn, like `break`). */
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
   * Replies in server order, ending after the terminal one. One consumer. Leaving the loop early
   * (`break`, `return`, a throw) stops the turn, as `abort()` does; the same rule ends an event
   * subscription left early. To stop reading but let the turn run on, keep `turn.done` instead.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<Reply, void, undefined> {
    if (this.iterating) throw new ConfigurationError("a Turn can be iterated only once (keep `turn.done`, or pass the replies on)");
    this.iterating = true;
    this.observed = true;
    try {
      for (;;) {
        while (this.readHead < this.replies.length) {
          const reply = this.replies[this.readHead]!;
          this.replies[this.readHead++] = undefined as unknown as Reply; // let consumed replies go
          yield reply;
        }
        if (this.terminal) return;
        await new Promise<void>((resolve) => (this.notify = resolve));
      }
    } finally {
      if (!this.terminal) void this.abort();
    }
  }

  /** Whether `iterate` was already called (a second consumer would see nothing). */
  get consumed(): boolean {
    return this.iterating;
  }

  private async run(): Promise<void> {
    const { mutex, events } = this.deps;
    let release: (() => void) | undefined;
    let subscription: TurnSubscription | undefined;
    try {
      release = await mutex.acquire(this.sessionID, this.stop.signal);
      // Chosen only now: earlier turns on this session have replied, and their ids were observed.
      this.userMessageID ??= this.deps.ids.next(this.sessionID);
      this.state = initialTurnState({
        sessionID: this.sessionID,
        userMessageID: this.userMessageID,
        now: Date.now(),
        subagents: this.start.options.subagents,
      });
      // Subscribe and see the stream open BEFORE prompting, or the first events could be missed.
      subscription = events.subscribe({ sessionID: this.sessionID, children: true, gaps: true, signal: this.stop.signal });
      await subscription.ready;
      if (this.stopping) return;
      if (this.start.kind === "prompt") await this.sendPrompt(promptBody(this.userMessageID, this.start.input, this.start.options));
      await this.loop(subscription);
    } catch (error) {
      if (!this.terminal) this.finish(this.errorReply(error));
    } finally {
      clearTimeout(this.timer);
      clearTimeout(this.deadline);
      this.start.options.signal?.removeEventListener("abort", this.onSignal);
      subscription?.close();
      if (this.state) this.deps.ids.observe(this.sessionID, this.state.maxMessageID);
      release?.();
      if (this.stopping) this.settleStop(this.stopConfirmed || this.postStage === 0 ? undefined : this.stopTimeout());
    }
  }

  private async sendPrompt(body: PromptBody): Promise<void> {
    this.postStage = 1;
    try {
      await this.deps.request("post", "/session/{sessionID}/prompt_async", {
        path: { sessionID: this.sessionID },
        body,
        // Safe to repeat: the server keys the message by our client-chosen messageID.
        idempotent: true,
        signal: this.post.signal,
      });
      this.postStage = 2;
      // Stopped while it was being sent, and the server has it: stop it there.
      if (this.stopping) this.sendStop();
    } catch (error) {
      // Cancelled by a stop: the server may or may not have the prompt; its signs of life tell.
      if (!(this.stopping && this.post.signal.aborted)) throw error;
      this.postStage = 2;
    }
  }

  /** Feeds the machine until the session has settled after the turn's end. */
  private async loop(subscription: TurnSubscription): Promise<void> {
    const iterator = subscription[Symbol.asyncIterator]();
    let pending: Promise<void> | undefined;
    const pull = () =>
      (pending ??= iterator.next().then(
        (result) => {
          pending = undefined;
          this.inbox.push(result.done ? { kind: "closed" } : { kind: "event", event: result.value });
        },
        (error: unknown) => {
          pending = undefined;
          throw error;
        },
      ));
    for (;;) {
      this.decide();
      if (this.finishedWithServer()) return;
      const input = this.inbox.shift();
      if (input === undefined) {
        const woken = new Promise<void>((resolve) => (this.wakeLoop = resolve));
        this.armTimer();
        await Promise.race([pull(), woken]);
        this.wakeLoop = noop;
        continue;
      }
      if (input.kind === "closed") {
        if (!this.terminal) throw aborted("the client was closed before the turn ended");
        return;
      }
      this.step(input);
    }
  }

  /** Applies one input to the state. */
  private step(input: Exclude<Input, { kind: "closed" }>): void {
    const state = this.state!;
    switch (input.kind) {
      case "event": {
        if (input.event.type === "client.gap") {
          this.state = markGap(state);
          this.gapPending = true;
          if (this.postStage === 2) this.gapSincePost = true;
          return;
        }
        if (!input.event.type.startsWith("server.")) {
          this.quietChecks = 0;
          this.awaitingRun = false;
        }
        this.apply(this.codec(() => mapEvent(state, input.event)));
        this.watchForLife(input.event);
        this.watchRun(input.event);
        return;
      }
      case "snapshot": {
        this.snapshotFailures = 0;
        this.apply(this.codec(() => applySnapshot(state, input.snapshot)));
        const idle = input.snapshot.status === "idle";
        if (this.stopping && idle && (!input.stored || this.state!.settled)) this.confirmStop();
        this.quietChecks++;
        const lost = idle && this.lossShown(input);
        this.awaitingRun = idle && !lost && unfinishedWhileIdle(this.state!);
        if (lost) {
          this.idleSeenAt ??= Date.now();
          this.idleSeen++;
        } else {
          this.idleSeenAt = undefined;
          this.idleSeen = 0;
        }
        return;
      }
      case "snapshot-failed":
        // A server that is restarting refuses a few requests: only a run of failures decides.
        if (!input.required || ++this.snapshotFailures < 3) {
          this.deps.logger.warn?.("could not read the session after a gap in the event stream", {
            sessionID: this.sessionID,
            error: String(input.error),
          });
          return;
        }
        this.finish({
          kind: "error",
          sessionID: this.sessionID,
          error: new StreamError("could not read the session's stored messages to finish the turn", true, { cause: input.error }),
        });
        this.settleBy = Date.now();
        return;
      case "wake":
        return;
    }
  }

  /** The rules that look at the whole state after each input: what to ask for, when to give up. */
  private decide(): void {
    const state = this.state!;
    const now = Date.now();
    if (state.settled && this.stopping) this.confirmStop();
    // Two idle snapshots taken apart, both with the server's evidence: a status read just before the
    // run started cannot end a turn on its own.
    if (this.idleSeenAt !== undefined && !this.terminal && this.idleSeen >= 2 && now - this.idleSeenAt >= this.timing.lostTurnMs) {
      this.finish({ kind: "error", sessionID: this.sessionID, error: lostTurn(state) });
    }
    if (this.terminal && !this.stopping) this.settleBy ??= now + this.timing.settleMs;
    this.planSnapshot(state, now);
    if (this.snapshotPlan && !this.snapshotting && now >= this.snapshotPlan.at) this.takeSnapshot(this.snapshotPlan.required);
  }

  /**
   * Whether the turn needs to look at the server over plain requests, and when. Recomputed from the
   * state each time, so a reason that went away (the prompt appeared) asks for nothing.
   */
  private planSnapshot(state: TurnState, now: number): void {
    let at = Infinity;
    let required = false;
    const want = (when: number, decides: boolean) => {
      at = Math.min(at, when);
      required ||= decides;
    };
    // Right after a gap or on attaching: what was missed, or what happened before, is all there.
    if (this.gapPending) want(-Infinity, false);
    if (this.attachPending) want(-Infinity, true);
    if (!this.terminal) {
      // An idle the stream cannot settle (text missing after a gap, no answer), and its rechecks.
      if (state.needsSnapshot && !this.awaitingRun) want(now, true);
      // The confirming look at a loss the server showed.
      if (this.idleSeenAt !== undefined) want(this.idleSeenAt + this.timing.lostTurnMs, true);
      // No trace of the prompt, only an error that may be another turn's trailing one: did the server take it?
      if (!state.started && this.postStage === 2 && state.earlyError) want(now, true);
    }
    // A stop before the prompt showed up: is it on the server at all?
    if (this.stopping && !this.stopConfirmed && this.postStage === 2 && !state.started) want(now, true);
    if (at === Infinity) {
      this.snapshotPlan = undefined;
      return;
    }
    const urgent = this.gapPending || this.attachPending;
    // Rechecks that keep showing nothing new back off: a server that is behind gets fewer reads, not more.
    const spacing = this.idleSeenAt !== undefined ? this.timing.recheckMs : Math.min(this.timing.recheckMs * 2 ** Math.max(0, this.quietChecks - 1), this.timing.maxRecheckMs);
    this.snapshotPlan = { at: urgent ? at : Math.max(at, this.lastSnapshotAt + spacing), required };
  }

  /** Whether the loop may end: the turn ended and the session settled (or waiting for it ran out). */
  private finishedWithServer(): boolean {
    const now = Date.now();
    if (this.stopping) return this.stopConfirmed || now >= this.stopDeadline! || this.postStage === 0;
    if (!this.terminal) return false;
    return this.state!.settled || now >= this.settleBy!;
  }

  private apply(result: MapResult): void {
    this.state = result.state;
    for (const reply of result.replies) {
      if (reply.kind === "final" || reply.kind === "error") this.finish(reply);
      else this.push(reply);
    }
  }

  /** A codec failure is a bug: the turn ends with a typed error instead of hanging on it. */
  private codec(map: () => MapResult): MapResult {
    try {
      return map();
    } catch (error) {
      this.finish({
        kind: "error",
        sessionID: this.sessionID,
        error: new StreamError(`the turn codec failed on an event: ${String(error)}`, false, { cause: error }),
      });
      this.settleBy = Date.now();
      return { state: this.state!, replies: [] };
    }
  }

  /** Tracks what the live stream says about the root session's run (see `runEnded`). */
  private watchRun(event: Event): void {
    const sessionID = (event.properties as { sessionID?: string }).sessionID;
    if (sessionID !== this.sessionID) return;
    const idle = event.type === "session.idle" || (event.type === "session.status" && event.properties.status.type === "idle");
    // Before the prompt appears, an idle or error may be an earlier turn's trailing one.
    if (idle || event.type === "session.error") {
      if (this.state!.started) this.runEnded = true;
    } else if (event.type === "session.status") {
      // Busy again: whatever idle snapshots showed was the moment before the run started.
      this.idleSeenAt = undefined;
      this.idleSeen = 0;
      this.runEnded = false;
    }
  }

  /**
   * While stopping, every sign that the server is running the turn repeats the abort: one sent
   * before the server's prompt loop started was ignored.
   */
  private watchForLife(event: Event): void {
    if (!this.stopping || this.stopConfirmed) return;
    const state = this.state!;
    const props = event.properties as { sessionID?: string; info?: { id?: string; parentID?: string } };
    const sessionID = props.sessionID ?? props.info?.id;
    if (sessionID !== this.sessionID) return;
    const ours =
      (event.type === "message.updated" && (props.info?.id === this.userMessageID || props.info?.parentID === this.userMessageID)) ||
      (event.type === "session.status" && state.started) ||
      (event.type === "message.part.updated" && state.started);
    if (ours) this.sendStop();
  }

  private sendStop(): void {
    const now = Date.now();
    if (this.stopSentAt !== undefined && now - this.stopSentAt < this.timing.abortRepeatMs) return;
    this.stopSentAt = now;
    this.deps
      .request("post", "/session/{sessionID}/abort", { path: { sessionID: this.sessionID } })
      .catch((error: unknown) => this.deps.logger.warn?.("could not ask the server to stop the turn", { sessionID: this.sessionID, error: String(error) }));
  }

  private confirmStop(): void {
    this.stopConfirmed = true;
  }

  private stopTimeout(): StopTimeoutError {
    return new StopTimeoutError(`the server did not report session ${this.sessionID} idle within ${this.timing.stopSettleMs} ms of the stop`);
  }

  private takeSnapshot(required: boolean): void {
    this.snapshotting = true;
    // Pending requests outlive a gap on the server, and the stream never replays them.
    const requests = this.gapPending || this.attachPending || this.state!.gapOpen;
    this.gapPending = false;
    this.attachPending = false;
    this.lastSnapshotAt = Date.now();
    this.readSnapshot(this.state!, requests).then(
      (input) => this.deliver(input),
      (error: unknown) => this.deliver({ kind: "snapshot-failed", error, required }),
    );
  }

  private deliver(input: Input): void {
    this.snapshotting = false;
    this.inbox.push(input);
    this.wakeLoop();
  }

  /** Wakes the loop at the next deadline: a due snapshot, the settle bound, the stop bound. */
  private armTimer(): void {
    clearTimeout(this.timer);
    const deadlines = [this.snapshotting ? undefined : this.snapshotPlan?.at, this.terminal && !this.stopping ? this.settleBy : undefined, this.stopping ? this.stopDeadline : undefined];
    const next = Math.min(...deadlines.map((d) => d ?? Infinity));
    if (next === Infinity) return;
    this.timer = setTimeout(() => {
      this.inbox.push({ kind: "wake" });
      this.wakeLoop();
    }, Math.max(0, next - Date.now()));
  }

  /** Reads what the server has now, through the client's shared catch-up reads. */
  private async readSnapshot(state: TurnState, requests: boolean): Promise<Input> {
    const { snapshot, stored } = await this.deps.catchUp.read({
      sessionID: this.sessionID,
      userMessageID: state.userMessageID,
      minMessages: 2 * state.messages.size + 10,
      requests,
      unknownSessions: (statuses) => {
        const unknown = unplacedSessions(state);
        // A busy session the turn does not know may be a sub-agent started in a gap; only a tree that has
        // sub-agents, or a gap, can have one, so a thousand unrelated busy sessions cost nothing.
        if (state.gapOpen || state.sessions.size > 1) {
          for (const [id, value] of Object.entries(statuses)) if (value.type !== "idle" && !state.sessions.has(id)) unknown.push(id);
        }
        return unknown.filter((id) => !state.sessions.has(id));
      },
      signal: this.stop.signal,
    });
    return { kind: "snapshot", snapshot, stored };
  }

  /**
   * The server's evidence, in an idle snapshot, that this turn is lost: its prompt is not stored
   * (after a break that may have been a restart, or with an error the server sent), an answer it
   * began is unfinished, or no answer came although its run ended or the session moved past it.
   * A stored prompt with none of these is one the server has not started yet: wait for it.
   */
  private lossShown(input: Extract<Input, { kind: "snapshot" }>): boolean {
    const state = this.state!;
    if (!unfinishedWhileIdle(state)) return false;
    if (!input.stored) return this.gapSincePost || state.earlyError !== undefined;
    if (state.assistantIDs.length > 0) return true;
    return this.runEnded || movedOn(state, input.snapshot);
  }

  private push(reply: Reply): void {
    if (this.terminal) return;
    if (reply.kind === "delta" && reply.parentSessionID === undefined) append(this.textParts, reply.partID, reply.text);
    else if (reply.kind === "reasoning" && reply.parentSessionID === undefined) append(this.reasoningParts, reply.partID, reply.text);
    else if (reply.kind === "retry") {
      for (const discarded of reply.discarded) {
        this.textParts.delete(discarded.partID);
        this.reasoningParts.delete(discarded.partID);
      }
    }
    this.replies.push(reply);
    this.wakeReader();
  }

  private finish(reply: TerminalReply): void {
    if (this.terminal) return;
    this.replies.push(reply);
    this.terminal = reply;
    this.markEnded();
    this.wakeReader();
    this.wakeLoop();
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

  private wakeReader(): void {
    const notify = this.notify;
    this.notify = undefined;
    notify?.();
  }

  private errorReply(error: unknown): ErrorReply {
    // Every stop the user causes (abort, signal, closing the client) ends the same way.
    if (error instanceof AbortError) return { kind: "error", sessionID: this.sessionID, error: aborted(error.message) };
    const typed = error instanceof OpencodeError ? error : new StreamError(`the turn failed: ${String(error)}`, false, { cause: error });
    return { kind: "error", sessionID: this.sessionID, error: typed };
  }
}

/** A stored root message after the turn's prompt that is not part of the turn: the server went past it. */
function movedOn(state: TurnState, snapshot: TurnSnapshot): boolean {
  return snapshot.messages.some(
    (m) =>
      m.info.sessionID === state.sessionID &&
      m.info.id > state.userMessageID &&
      !state.userIDs.includes(m.info.id) &&
      !(m.info.role === "assistant" && state.userIDs.includes(m.info.parentID)),
  );
}

/** Why an idle session left the turn unfinished, as a typed error. */
function lostTurn(state: TurnState): OpencodeError {
  if (!state.started) {
    if (state.earlyError) return classifyProviderError(state.earlyError, { partialText: "", now: state.now });
    return new InterruptedError("the server has no record of this turn's prompt (it restarted?)", "");
  }
  if (state.assistantIDs.length === 0) {
    return new UnansweredError("the server stored the prompt but never answered it (servers before 1.18 skip a prompt whose id sorts before their last reply)");
  }
  return new InterruptedError("the server stopped before the turn finished (it restarted?)", lastAssistantText(state));
}

function aborted(message: string): AbortedError {
  return new AbortedError(`MessageAbortedError: ${message}`, { name: "MessageAbortedError", data: { message } });
}

function append(parts: Map<string, string>, partID: string, text: string): void {
  parts.set(partID, (parts.get(partID) ?? "") + text);
}

function joined(parts: Map<string, string>): string {
  let text = "";
  for (const part of parts.values()) text += part;
  return text;
}

function noop(): void {}
