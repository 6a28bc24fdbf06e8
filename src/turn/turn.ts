// A Turn: one prompt and everything the agent does about it (sub-agents included), as an
// AsyncIterable of Replies plus `done` (the FinalReply) and `abort()`. One loop feeds a small state
// machine in order: the subscription's events and gap markers, the snapshots it asked for, the
// stop request and its own deadlines. The pure codec turns events into replies; this file owns the
// rules that need a clock or a request: catching up after gaps, stopping exactly, settling the lock.

import { AbortError, ConfigurationError, OpencodeError, StreamError } from "../http/errors.js";
import type { Logger } from "../http/logger.js";
import type { TypedRequest } from "../http/paths.js";
import { backoffMs } from "../http/retry.js";
import { sessionOfEvent } from "../events/session-of.js";
import type { operations } from "../../generated/opencode.js";
import type { Event, StreamGap } from "../events/types.js";
import type { MessageIDs } from "../session/ids.js";
import type { SessionMutex } from "../session/mutex.js";
import {
  AbortedError,
  classifyProviderError,
  InterruptedError,
  PromptRejectedError,
  StopTimeoutError,
  TurnTimeoutError,
  UnansweredError,
  UnknownAgentError,
  UnreadableFileError,
  type RawProviderError,
} from "./errors.js";
import {
  adoptPrompt,
  applySnapshot,
  initialTurnState,
  lastAssistantText,
  turnUsage,
  mapEvent,
  markGap,
  unfinishedWhileIdle,
  unplacedSessions,
  type MapResult,
  type TurnSnapshot,
  type TurnState,
} from "./map-event.js";
import { coveredBy, decidePermission, type PermissionPolicy, type PolicyDecision } from "./permission-policy.js";
import { promptBody, type PartInput, type PromptBody, type PromptOptions } from "./prompt-body.js";
import type { ErrorReply, FinalReply, PermissionReply, Reply, TerminalReply, Usage } from "./replies.js";
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

/** The Turn's bounds. */
export interface TurnTiming {
  /** After the terminal reply, how long (ms) to wait for the session to go idle before letting the next turn in. */
  settleMs: number;
  /** After a stop, how long (ms) the server has to report the session idle. */
  stopSettleMs: number;
  /** How long (ms) after an idle read with the server's evidence of a lost turn a second one confirms it. */
  lostTurnMs: number;
  /** Between the reads (ms) that watch an idle session showing the turn unfinished; doubles while they show nothing new. */
  recheckMs: number;
  /** The longest spacing (ms) of those rechecks. */
  maxRecheckMs: number;
  /** Wait before repeating a failed read of the server, by failures so far (0-based). */
  backoff: (attempt: number) => number;
  /** Reads of the server that fail in a row before the turn ends with a `StreamError`. */
  maxReadFailures: number;
}

const TIMING: TurnTiming = {
  settleMs: 3_000,
  stopSettleMs: 10_000,
  lostTurnMs: 2_000,
  recheckMs: 1_000,
  maxRecheckMs: 30_000,
  backoff: backoffMs,
  maxReadFailures: 6,
};

export interface TurnDeps {
  request: TypedRequest;
  events: TurnEvents;
  mutex: SessionMutex;
  logger: Logger;
  ids: MessageIDs;
  /** The client's shared catch-up reads. */
  catchUp: CatchUp;
  /** The turns running on this client, so closing it can stop them on the server. */
  running?: Set<Turn>;
  timing?: Partial<TurnTiming>;
  /** What the server knows about agents and models: checks a start before it is sent, and gives context windows. */
  catalog?: TurnCatalog;
  /** The client's permission rules (a prompt's own come first). */
  permissions?: PermissionPolicy;
}

/** The session layer's knowledge of the server's agents and models, as the Turn uses it. */
export interface TurnCatalog {
  /** Rejects with a typed error what the server would take and then drop or fail on (an unknown agent, an attachment the model cannot read). */
  check(start: TurnStart, signal: AbortSignal): Promise<void>;
  /** The model's context limit, when known (without a request). */
  contextWindow(model: { providerID: string; modelID: string }): number | undefined;
}

/** Options every kind of started turn takes. */
export type TurnOptions = Pick<PromptOptions, "signal" | "subagents" | "messageID" | "permissions" | "timeoutMs">;
type CommandBody = Omit<NonNullable<operations["session.command"]["requestBody"]>["content"]["application/json"], "messageID">;
type ShellBody = Omit<NonNullable<operations["session.shell"]["requestBody"]>["content"]["application/json"], "messageID">;

/** What the Turn does: send a prompt, a slash command or a shell command, or follow a turn already running on the server. */
export type TurnStart =
  | { kind: "prompt"; input: string | PartInput[]; options: PromptOptions }
  | { kind: "command"; body: CommandBody; options: TurnOptions }
  | { kind: "shell"; body: ShellBody; options: TurnOptions }
  | { kind: "attach"; userMessageID: string; options: Pick<PromptOptions, "signal" | "subagents" | "timeoutMs"> };

/**
 * Where the turn is in its life. One `transition` moves it on; everything else is data.
 *
 *   opening ──► streaming ◄──► gap ──► catching-up ──► streaming
 *      │            │                                      │
 *      └────────────┴──────────► stopping ──► ended ◄──────┘
 */
type Phase =
  /** Waiting for the session lock and the stream, then sending the prompt (`sending`). */
  | { name: "opening"; post: "unsent" | "sending" }
  /** Following the live stream; reads of the server are only checks (see `planCheck`). */
  | { name: "streaming" }
  /** The stream had a gap (or the turn attaches): the server must be read, next try at `at`. */
  | { name: "gap"; at: number }
  /** A read of the server is in flight; `owed` when it is a gap's, retried until one succeeds. */
  | { name: "catching-up"; owed: boolean }
  /** The terminal reply is out: waiting until `by` for the session to settle, then releasing the lock. */
  | { name: "stopping"; by: number }
  | { name: "ended" };

type Input =
  | { kind: "event"; event: Event | StreamGap }
  | { kind: "snapshot"; snapshot: TurnSnapshot; stored: boolean }
  | { kind: "read-failed"; error: unknown }
  /** The prompt was sent: `answered` when the server took it, false when a stop cancelled the request (it may have it). */
  | { kind: "posted"; answered: boolean }
  | { kind: "terminal"; reply: TerminalReply }
  /** A command's or shell's request failed (they answer only when they end). */
  | { kind: "send-failed"; error: unknown }
  | { kind: "wake" };

/** The stop the user asked for: sent once, repeated once only when the server can have ignored it. */
interface Stop {
  /** When the abort request went out; undefined while the prompt is not (known to be) on the server. */
  sentAt: number | undefined;
  /** Sent before the turn showed its prompt loop running: the server ignores such an abort. */
  early: boolean;
  /** The server reported the session idle (or never had the prompt). */
  confirmed: boolean;
  readonly settled: Promise<void>;
  settle(error?: OpencodeError): void;
}

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
  private phase: Phase = { name: "opening", post: "unsent" };
  /** Cancels waiting for the lock and the stream, and ends the subscription. */
  private readonly cancel = new AbortController();
  private readonly post = new AbortController();
  /** When the prompt was posted (or the turn attached); undefined while the server cannot have it. */
  private postedAt: number | undefined;
  private stop: Stop | undefined;
  /** The last abort request, answered or failed (what `client.close()` waits for). */
  private abortSent: Promise<unknown> = Promise.resolve();
  /** A gap arrived while a read was in flight: that read cannot settle it, so another follows. */
  private gapAfterRead = false;
  /** A read in flight while stopping (in every other phase, `catching-up` says it). */
  private reading = false;
  private readonly inbox: Input[] = [];
  private wakeLoop: () => void = noop;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Reads of the server that failed in a row, and when the last one started. */
  private readFailures = 0;
  private lastReadAt = -Infinity;
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
  /** Reads since the last event of the turn's tree: their rechecks back off while nothing happens. */
  private quietChecks = 0;
  /**
   * The last read showed the session idle with the prompt not started or unanswered, and no
   * evidence of a loss: only the stream can say more (the run starting), so nothing is polled.
   */
  private awaitingRun = false;
  /** The caller's `timeoutMs`. */
  private deadline: ReturnType<typeof setTimeout> | undefined;
  private readonly onSignal = () => void this.abort();
  /** Permission answers the policy sent in this turn (an "always" or "reject" covers later requests). */
  private readonly policyAnswers: { id: string; sessionID: string; permission: string; always: string[]; reply: PolicyDecision["reply"]; sent: Promise<void> }[] = [];

  constructor(deps: TurnDeps, sessionID: string, start: TurnStart) {
    this.deps = deps;
    this.timing = { ...TIMING, ...deps.timing };
    this.sessionID = sessionID;
    this.start = start;
    if (start.kind === "attach") this.userMessageID = start.userMessageID;
    else if (start.options.messageID !== undefined) this.userMessageID = start.options.messageID;
    deps.running?.add(this);
    const signal = start.options.signal;
    if (signal?.aborted) void this.abort();
    else signal?.addEventListener("abort", this.onSignal, { once: true });
    const timeoutMs = start.options.timeoutMs;
    if (timeoutMs !== undefined && timeoutMs > 0 && Number.isFinite(timeoutMs)) {
      this.deadline = setTimeout(() => {
        const error = new TurnTimeoutError(`the turn did not end within ${timeoutMs} ms`, timeoutMs, this.text);
        void this.stopWith({ kind: "error", sessionID: this.sessionID, error });
      }, timeoutMs);
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

  /**
   * The root session's usage so far, step by step (summed like `final.usage`), with the context the
   * latest step used and, when the client knows the model, its context window.
   */
  get usage(): Usage {
    if (!this.state) return turnUsage(initialTurnState({ sessionID: this.sessionID, userMessageID: "" }));
    return this.withContextWindow(turnUsage(this.state), this.answeringModel());
  }

  /** Whether the turn has ended (its terminal reply was produced). */
  get finished(): boolean {
    return this.terminal !== undefined;
  }

  /**
   * Stops the turn. It ends at once with an `error` reply carrying `AbortedError` (no other reply
   * follows), `done` rejects with it, and the server is asked to stop: a prompt still waiting for
   * the session is dropped, one being sent is cancelled, and one the server has gets one abort
   * request — repeated once, when the turn shows its prompt loop running, only if it was sent
   * before that (the server ignores an abort that arrives before its prompt loop starts). Resolves
   * once the server reports the session idle (the next turn on this session waits for that too);
   * rejects with `StopTimeoutError` if it does not within 10 s. Nobody has to await it.
   */
  abort(): Promise<void> {
    return this.stopWith({ kind: "error", sessionID: this.sessionID, error: aborted("the turn was aborted by the client") });
  }

  /** Ends the turn with `reply` and stops the server's run of it (see `abort()`). */
  private stopWith(reply: TerminalReply): Promise<void> {
    if (this.stop) return this.stop.settled;
    if (this.terminal) return Promise.resolve();
    let settle: (error?: OpencodeError) => void = noop;
    const settled = new Promise<void>((resolve, reject) => (settle = (error) => (error ? reject(error) : resolve())));
    settled.catch(noop);
    this.stop = { sentAt: undefined, early: false, confirmed: false, settled, settle };
    this.transition({ kind: "terminal", reply });
    return settled;
  }

  /**
   * @internal For `client.close()`: stops the turn and resolves once the abort request was answered (or was
   * not needed), without waiting for the session to go idle.
   */
  async abortForClose(): Promise<void> {
    void this.abort();
    await this.abortSent;
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
      release = await mutex.acquire(this.sessionID, this.cancel.signal);
      // Chosen only now: earlier turns on this session have replied, and their ids were observed.
      this.userMessageID ??= this.deps.ids.next(this.sessionID);
      this.state = initialTurnState({
        sessionID: this.sessionID,
        userMessageID: this.userMessageID,
        now: Date.now(),
        subagents: this.start.options.subagents,
      });
      // Subscribe and see the stream open BEFORE prompting, or the first events could be missed.
      subscription = events.subscribe({ sessionID: this.sessionID, children: true, gaps: true, signal: this.cancel.signal });
      await Promise.all([subscription.ready, this.deps.catalog?.check(this.start, this.cancel.signal)]);
      if (this.phase.name !== "opening") return;
      if (this.start.kind === "prompt") {
        this.phase = { name: "opening", post: "sending" };
        this.transition({ kind: "posted", answered: await this.sendPrompt(this.userMessageID, this.start) });
      } else if (this.start.kind === "command" || this.start.kind === "shell") {
        this.sendLong(this.start, this.userMessageID);
        this.transition({ kind: "posted", answered: true });
      } else {
        // Attaching: what happened before is all on the server.
        this.postedAt = Date.now();
        this.phase = { name: "gap", at: -Infinity };
      }
      await this.loop(subscription);
    } catch (error) {
      this.transition({ kind: "terminal", reply: this.errorReply(error) });
    } finally {
      this.phase = { name: "ended" };
      clearTimeout(this.timer);
      clearTimeout(this.deadline);
      this.start.options.signal?.removeEventListener("abort", this.onSignal);
      subscription?.close();
      if (this.state) this.deps.ids.observe(this.sessionID, this.state.maxMessageID);
      release?.();
      this.deps.running?.delete(this);
      const stop = this.stop;
      if (stop) stop.settle(stop.confirmed || this.postedAt === undefined ? undefined : this.stopTimeout());
    }
  }

  /**
   * Sends the prompt; resolves with whether the server answered (false: a stop cancelled it, and
   * the server may or may not have it — its signs of life tell). Safe to repeat (the transport
   * retries it): the server keys the message and its parts by their client-chosen ids.
   */
  private async sendPrompt(messageID: string, start: Extract<TurnStart, { kind: "prompt" }>): Promise<boolean> {
    try {
      await this.deps.request("post", "/session/{sessionID}/prompt_async", {
        path: { sessionID: this.sessionID },
        body: promptBody(messageID, start.input, start.options, () => this.deps.ids.part()),
        idempotent: true,
        signal: this.post.signal,
      });
      return true;
    } catch (error) {
      if (this.stop && this.post.signal.aborted) return false;
      throw error;
    }
  }

  /**
   * Slash and shell commands answer only when they end, so the turn follows the stream meanwhile:
   * the request counts as delivered once sent, and only a failure before the turn showed up on
   * the stream ends it (after that, the stream tells how it ends).
   */
  private sendLong(start: Extract<TurnStart, { kind: "command" | "shell" }>, messageID: string): void {
    // No timeout: it answers at the end. Not retried: a server before 1.14 ignores the shell's messageID, so a repeat would run it twice.
    const init = { path: { sessionID: this.sessionID }, timeoutMs: 0, signal: this.post.signal };
    const sent =
      start.kind === "command"
        ? this.deps.request("post", "/session/{sessionID}/command", { ...init, body: { ...start.body, messageID } })
        : this.deps.request("post", "/session/{sessionID}/shell", { ...init, body: { ...start.body, messageID } });
    sent.catch((error: unknown) => {
      this.inbox.push({ kind: "send-failed", error });
      this.wakeLoop();
    });
  }

  /** Feeds the machine until the session has settled after the turn's end. */
  private async loop(subscription: TurnSubscription): Promise<void> {
    const iterator = subscription[Symbol.asyncIterator]();
    let pending: Promise<void> | undefined;
    const pull = () =>
      (pending ??= iterator.next().then((result) => {
        pending = undefined;
        if (result.done) {
          // The client was closed (the stream ended for good).
          if (!this.terminal) throw aborted("the client was closed before the turn ended");
          this.phase = { name: "ended" };
        } else this.inbox.push({ kind: "event", event: result.value });
      }));
    for (;;) {
      this.transition({ kind: "wake" });
      if (this.phase.name === "ended") return;
      const input = this.inbox.shift();
      if (input !== undefined) {
        this.transition(input);
        continue;
      }
      const woken = new Promise<void>((resolve) => (this.wakeLoop = resolve));
      this.armTimer();
      await Promise.race([pull(), woken]);
      this.wakeLoop = noop;
    }
  }

  /** The one transition function: applies an input, then the rules that look at the whole state. */
  private transition(input: Input): void {
    const now = Date.now();
    switch (input.kind) {
      case "event":
        this.onEvent(input.event, now);
        break;
      case "snapshot":
        this.readFailures = 0;
        this.onSnapshot(input.snapshot, input.stored, now);
        break;
      case "read-failed":
        this.onReadFailed(input.error, now);
        break;
      case "posted":
        this.postedAt = now;
        if (this.phase.name === "opening") this.phase = { name: "streaming" };
        // Stopped while it was being sent, and the server has it: stop it there.
        if (input.answered && this.stop && this.stop.sentAt === undefined) this.sendStop();
        break;
      case "terminal":
        this.onTerminal(input.reply, now);
        break;
      case "send-failed":
        // Once the turn shows on the stream, the stream tells how it ends.
        if (this.terminal || this.state!.started || (this.stop && this.post.signal.aborted)) {
          this.deps.logger.warn?.("the command's request failed after the turn started", { sessionID: this.sessionID, error: String(input.error) });
        } else this.onTerminal(this.errorReply(input.error), now);
        break;
      case "wake":
        break;
    }
    this.decide(now);
  }

  private onEvent(event: Event | StreamGap, now: number): void {
    const state = this.state!;
    if (event.type === "client.gap") {
      this.state = markGap(state);
      if (this.postedAt !== undefined) this.gapSincePost = true;
      if (this.phase.name === "streaming") this.phase = { name: "gap", at: now };
      // A read in flight was sent before the gap: it may miss what the gap lost, so read again after it.
      else if (this.phase.name === "catching-up") this.phase = { name: "catching-up", owed: true };
      this.gapAfterRead = this.phase.name === "catching-up";
      return;
    }
    if (!event.type.startsWith("server.")) {
      this.quietChecks = 0;
      this.awaitingRun = false;
    }
    this.adoptShellPrompt(event);
    this.apply(this.codec(() => mapEvent(this.state!, event)));
    this.watchRejection(event);
    this.watchForLife(event);
    this.watchRun(event);
  }

  private onSnapshot(snapshot: TurnSnapshot, stored: boolean, now: number): void {
    this.apply(this.codec(() => applySnapshot(this.state!, snapshot)));
    const idle = snapshot.status === "idle";
    if (this.stop && idle && (!stored || this.state!.settled)) this.stop.confirmed = true;
    this.quietChecks++;
    const lost = idle && this.lossShown(snapshot, stored);
    this.awaitingRun = idle && !lost && unfinishedWhileIdle(this.state!);
    if (lost) {
      this.idleSeenAt ??= now;
      this.idleSeen++;
    } else {
      this.idleSeenAt = undefined;
      this.idleSeen = 0;
    }
    if (this.phase.name === "catching-up") {
      this.phase = this.gapAfterRead ? { name: "gap", at: now } : { name: "streaming" };
      this.gapAfterRead = false;
    }
  }

  /** A read failed: a gap's read is tried again with backoff; a run of failures ends the turn. */
  private onReadFailed(error: unknown, now: number): void {
    this.readFailures++;
    if (this.readFailures >= this.timing.maxReadFailures && !this.terminal) {
      this.transition({
        kind: "terminal",
        reply: {
          kind: "error",
          sessionID: this.sessionID,
          error: new StreamError(`could not read the session's stored messages to follow the turn (${this.readFailures} tries)`, true, { cause: error }),
        },
      });
      return;
    }
    this.deps.logger.warn?.("could not read the session to follow the turn; trying again", { sessionID: this.sessionID, error: String(error) });
    if (this.phase.name !== "catching-up") return;
    const retry = now + this.timing.backoff(this.readFailures - 1);
    this.phase = this.phase.owed || this.gapAfterRead ? { name: "gap", at: retry } : { name: "streaming" };
    this.gapAfterRead = false;
  }

  /** The turn's one terminal reply: shown at once; the turn then waits for the session to settle. */
  private onTerminal(reply: TerminalReply, now: number): void {
    if (this.terminal) return;
    this.finish(reply);
    if (this.stop) {
      const opening = this.phase.name === "opening" ? this.phase.post : undefined;
      // Following sent nothing: stopping it stops following; the run goes on (`session.abort()` stops that).
      // A resumed browser stream that leaves (a reload) must not stop the turn for everyone.
      if (this.start.kind === "attach") {
        this.stop.confirmed = true;
        this.cancel.abort();
      } else if (opening === "unsent") this.cancel.abort();
      else if (opening === "sending") this.post.abort();
      else this.sendStop();
    }
    if (this.phase.name === "opening" || this.phase.name === "ended") return;
    this.phase = { name: "stopping", by: now + (this.stop ? this.timing.stopSettleMs : this.timing.settleMs) };
  }

  /** The rules that look at the whole state after each input: what to read, when to give up or end. */
  private decide(now: number): void {
    const state = this.state;
    if (!state || this.phase.name === "ended" || this.phase.name === "opening") return;
    if (this.stop && state.settled) this.stop.confirmed = true;
    // Two idle reads taken apart, both with the server's evidence: a status read just before the
    // run started cannot end a turn on its own.
    if (this.idleSeenAt !== undefined && !this.terminal && this.idleSeen >= 2 && now - this.idleSeenAt >= this.timing.lostTurnMs) {
      this.transition({ kind: "terminal", reply: { kind: "error", sessionID: this.sessionID, error: lostTurn(state) } });
      return;
    }
    if (this.terminal && this.phase.name !== "stopping") {
      this.phase = { name: "stopping", by: now + (this.stop ? this.timing.stopSettleMs : this.timing.settleMs) };
    }
    switch (this.phase.name) {
      case "stopping":
        if (this.stop ? this.stop.confirmed : state.settled) this.phase = { name: "ended" };
        else if (now >= this.phase.by) this.phase = { name: "ended" };
        else if (this.stop && !this.reading && this.stopCheckDue(state, now)) this.read(false);
        return;
      case "gap":
        if (now >= this.phase.at) this.read(true);
        return;
      case "streaming": {
        const at = this.planCheck(state);
        if (at !== undefined && now >= at) this.read(false);
        return;
      }
      case "catching-up":
        return;
    }
  }

  /**
   * When the turn should look at the server over plain requests though the stream had no gap:
   * an idle the stream cannot settle (text missing after a gap, no answer) unless the last read
   * showed a prompt the server has not run yet, the confirming look at a loss the server showed,
   * or no trace of the prompt but an error that may be another turn's trailing one. Recomputed
   * from the state each time, so a reason that went away (the prompt appeared) asks for nothing.
   * No timing alone asks: a server that is behind is waited for.
   */
  private planCheck(state: TurnState): number | undefined {
    let at = Infinity;
    if (state.needsSnapshot && !this.awaitingRun) at = -Infinity;
    if (this.idleSeenAt !== undefined) at = Math.min(at, this.idleSeenAt + this.timing.lostTurnMs);
    if (!state.started && this.postedAt !== undefined && state.earlyError) at = -Infinity;
    if (at === Infinity) return undefined;
    // Checks that repeat are spaced, never a tight loop; failed ones back off, and so do rechecks
    // that keep showing nothing new: a server that is behind gets fewer reads, not more.
    const spacing =
      this.readFailures > 0
        ? this.timing.backoff(this.readFailures - 1)
        : this.idleSeenAt !== undefined
          ? this.timing.recheckMs
          : Math.min(this.timing.recheckMs * 2 ** Math.max(0, this.quietChecks - 1), this.timing.maxRecheckMs);
    return Math.max(at, this.lastReadAt + spacing);
  }

  /** A stop before the prompt showed up: is it on the server at all? */
  private stopCheckDue(state: TurnState, now: number): boolean {
    return !this.stop!.confirmed && this.postedAt !== undefined && !state.started && now >= this.lastReadAt + this.timing.recheckMs;
  }

  private read(owed: boolean): void {
    if (this.phase.name === "stopping") this.reading = true;
    else this.phase = { name: "catching-up", owed };
    this.lastReadAt = Date.now();
    // Pending requests outlive a gap on the server, and the stream never replays them.
    const requests = owed || this.state!.gapOpen;
    this.readSnapshot(this.state!, requests).then(
      (input) => this.deliver(input),
      (error: unknown) => this.deliver({ kind: "read-failed", error }),
    );
  }

  private deliver(input: Input): void {
    this.reading = false;
    this.inbox.push(input);
    this.wakeLoop();
  }

  private apply(result: MapResult): void {
    this.state = result.state;
    for (const reply of result.replies) {
      if (reply.kind === "final") this.transition({ kind: "terminal", reply: { ...reply, usage: this.withContextWindow(reply.usage, reply.model) } });
      else if (reply.kind === "error") this.transition({ kind: "terminal", reply });
      else if (reply.kind !== "permission" || !this.answerByPolicy(reply)) this.push(reply);
    }
  }

  /** The model of the turn's latest step, or the one the prompt named. */
  private answeringModel(): { providerID: string; modelID: string } | undefined {
    const last = this.state?.lastAssistantID;
    return (last === undefined ? undefined : this.state!.messages.get(last)?.answeredBy?.model) ?? undefined;
  }

  private withContextWindow(usage: Usage, model: { providerID: string; modelID: string } | undefined): Usage {
    const contextWindow = model && this.deps.catalog?.contextWindow(model);
    return contextWindow === undefined ? usage : { ...usage, contextWindow };
  }

  /**
   * Answers a permission request by the prompt's and the client's rules, if one matches: sends the
   * answer (unless an earlier answer of this turn covers it, as the server applies it) and reports
   * it as a `permission_policy` reply instead of asking.
   */
  private answerByPolicy(reply: PermissionReply): boolean {
    const options = this.start.kind === "attach" ? undefined : this.start.options;
    const policy = [...(options?.permissions ?? []), ...(this.deps.permissions ?? [])];
    const decision = policy.length === 0 ? undefined : decidePermission(policy, reply);
    if (!decision) return false;
    const earlier = this.policyAnswers.find((a) => coveredBy(a, reply));
    const { id, sessionID, permission, patterns } = reply;
    const audit = { kind: "permission_policy" as const, sessionID, ...(reply.parentSessionID ? { parentSessionID: reply.parentSessionID } : {}), id, permission, patterns, reply: decision.reply, rule: decision.rule };
    if (earlier) {
      this.push({ ...audit, reply: earlier.reply, coveredBy: earlier.id });
      // The server lets go of what it covers; if this one is still pending after, answer it too.
      void earlier.sent.then(() => this.answerIfPending(reply, earlier));
      return true;
    }
    const sent = this.sendPolicyAnswer(id, decision);
    this.policyAnswers.push({ id, sessionID, permission, always: reply.always, reply: decision.reply, sent });
    this.push(audit);
    return true;
  }

  private sendPolicyAnswer(requestID: string, decision: PolicyDecision): Promise<void> {
    return this.deps
      .request("post", "/permission/{requestID}/reply", { path: { requestID }, body: { reply: decision.reply } })
      .then(noop, (error: unknown) => this.deps.logger.warn?.("could not answer a permission request by the policy", { requestID, error: String(error) }));
  }

  private async answerIfPending(reply: PermissionReply, earlier: { reply: PolicyDecision["reply"] }): Promise<void> {
    if (this.terminal || this.state?.requests.get(reply.id) === "answered") return;
    const pending = await this.deps.request("get", "/permission", { signal: this.cancel.signal }).catch(() => []);
    if (pending.some((p) => p.id === reply.id)) await this.sendPolicyAnswer(reply.id, { reply: earlier.reply, rule: { action: "allow" } });
  }

  /**
   * Servers before 1.14 ignore the messageID of a shell command and store its user message under an
   * id of their own: the first other user message of the session after sending it is the turn's.
   */
  private adoptShellPrompt(event: Event): void {
    if (this.start.kind !== "shell" || this.postedAt === undefined || this.state!.started || event.type !== "message.updated") return;
    const info = event.properties.info;
    if (info.role !== "user" || info.sessionID !== this.sessionID || info.id === this.userMessageID) return;
    this.userMessageID = info.id;
    this.state = adoptPrompt(this.state!, info.id);
  }

  /**
   * The server takes any prompt and reports an unknown agent or an unreadable file only as a
   * `session.error` — before the prompt is stored, or beside a run that goes on without the file.
   * One naming this turn's agent or file ends the turn with it (and stops the run that would
   * answer without the file).
   */
  private watchRejection(event: Event): void {
    if (event.type !== "session.error" || this.terminal || event.properties.sessionID !== this.sessionID || !event.properties.error) return;
    const error = classifyProviderError(event.properties.error as RawProviderError, { partialText: "", now: Date.now() });
    if (!(error instanceof PromptRejectedError) || !rejectsStart(error, this.start)) return;
    const reply: ErrorReply = { kind: "error", sessionID: this.sessionID, error };
    if (this.state!.started || error instanceof UnreadableFileError) void this.stopWith(reply);
    else this.transition({ kind: "terminal", reply });
  }

  /** A codec failure is a bug: the turn ends with a typed error instead of hanging on it. */
  private codec(map: () => MapResult): MapResult {
    try {
      return map();
    } catch (error) {
      this.transition({
        kind: "terminal",
        reply: { kind: "error", sessionID: this.sessionID, error: new StreamError(`the turn codec failed on an event: ${String(error)}`, false, { cause: error }) },
      });
      if (this.phase.name === "stopping") this.phase = { name: "stopping", by: Date.now() };
      return { state: this.state!, replies: [] };
    }
  }

  /** Tracks what the live stream says about the root session's run (see `runEnded`). */
  private watchRun(event: Event): void {
    if (sessionOfEvent(event) !== this.sessionID) return;
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
   * While stopping: an abort sent before the server's prompt loop ran was ignored, so the first
   * sign that the loop runs this turn (its assistant message, or the session busy once the prompt
   * is stored) sends it once more. Signs after an abort that reached a running loop send nothing.
   */
  private watchForLife(event: Event): void {
    const stop = this.stop;
    if (!stop || stop.confirmed) return;
    const state = this.state!;
    if (sessionOfEvent(event) !== this.sessionID) return;
    const props = event.properties as { info?: { id?: string; parentID?: string } };
    const running =
      (event.type === "message.updated" && props.info?.parentID === this.userMessageID) ||
      (event.type === "session.status" && event.properties.status.type === "busy" && state.started);
    const stored = event.type === "message.updated" && props.info?.id === this.userMessageID;
    if (stop.sentAt === undefined && this.postedAt !== undefined && (running || stored)) this.sendStop();
    else if (stop.early && running) {
      this.sendStop();
      stop.early = false;
    }
  }

  /** Sends one abort request; remembers whether the server could have ignored it. */
  private sendStop(): void {
    const stop = this.stop!;
    stop.sentAt = Date.now();
    stop.early = !this.loopRunning();
    this.abortSent = this.deps
      .request("post", "/session/{sessionID}/abort", { path: { sessionID: this.sessionID } })
      .catch((error: unknown) => this.deps.logger.warn?.("could not ask the server to stop the turn", { sessionID: this.sessionID, error: String(error) }));
  }

  /** The stream showed the server's prompt loop running this turn: an assistant message answering it. */
  private loopRunning(): boolean {
    return this.state?.lastAssistantID !== undefined;
  }

  private stopTimeout(): StopTimeoutError {
    return new StopTimeoutError(`the server did not report session ${this.sessionID} idle within ${this.timing.stopSettleMs} ms of the stop`);
  }

  /** Wakes the loop at the next deadline: a due read, the settle or stop bound. */
  private armTimer(): void {
    clearTimeout(this.timer);
    const phase = this.phase;
    const state = this.state;
    let next = Infinity;
    if (phase.name === "gap") next = phase.at;
    else if (phase.name === "streaming" && state) next = this.planCheck(state) ?? Infinity;
    else if (phase.name === "stopping") {
      next = phase.by;
      if (this.stop && !this.reading && state && this.postedAt !== undefined && !state.started) next = Math.min(next, this.lastReadAt + this.timing.recheckMs);
    }
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
      userMessageID: this.userMessageID!,
      minMessages: 2 * state.messages.size + 10,
      requests,
      unknownSessions: (statuses, pending) => {
        const unknown = [...unplacedSessions(state), ...pending];
        // A busy session the turn does not know may be a sub-agent started in a gap; only a tree that has
        // sub-agents, or a gap, can have one, so a thousand unrelated busy sessions cost nothing.
        if (state.gapOpen || state.sessions.size > 1) {
          for (const [id, value] of Object.entries(statuses)) if (value.type !== "idle") unknown.push(id);
        }
        return unknown.filter((id) => !state.sessions.has(id));
      },
      signal: this.cancel.signal,
    });
    return { kind: "snapshot", snapshot, stored };
  }

  /**
   * The server's evidence, in an idle read, that this turn is lost: its prompt is not stored
   * (after a break that may have been a restart, or with an error the server sent), an answer it
   * began is unfinished, or no answer came although its run ended or the session moved past it.
   * A stored prompt with none of these is one the server has not started yet: wait for it.
   */
  private lossShown(snapshot: TurnSnapshot, stored: boolean): boolean {
    const state = this.state!;
    if (!unfinishedWhileIdle(state)) return false;
    if (!stored) return this.gapSincePost || state.earlyError !== undefined;
    if (state.lastAssistantID !== undefined) return true;
    return this.runEnded || movedOn(state, snapshot);
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
  if (state.lastAssistantID === undefined) {
    return new UnansweredError("the server stored the prompt but never answered it (servers before 1.18 skip a prompt whose id sorts before their last reply)");
  }
  return new InterruptedError("the server stopped before the turn finished (it restarted?)", lastAssistantText(state));
}

/** Whether a rejection names what this turn sent: its agent, or one of its file parts' paths. */
function rejectsStart(error: PromptRejectedError, start: TurnStart): boolean {
  if (start.kind === "attach") return false;
  if (error instanceof UnknownAgentError) {
    const agent = start.kind === "prompt" ? start.options.agent : start.body.agent;
    return agent === error.agent;
  }
  const parts = start.kind === "prompt" ? (typeof start.input === "string" ? [] : start.input) : start.kind === "command" ? (start.body.parts ?? []) : [];
  return parts.some((part) => part.type === "file" && filePath(part.url) === (error as UnreadableFileError).path);
}

/** The local path of a `file://` URL. */
function filePath(url: string): string | undefined {
  if (!url.startsWith("file:")) return undefined;
  try {
    return decodeURIComponent(new URL(url).pathname);
  } catch {
    return undefined;
  }
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
