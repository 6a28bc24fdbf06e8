// A Turn: one prompt and everything the agent does about it (sub-agents included), as an
// AsyncIterable of Replies plus `done` (the FinalReply) and `abort()`. One loop feeds a small state
// machine in order: the subscription's events and gap markers, the snapshots it asked for, the
// stop request and its own deadlines. The pure codec turns events into replies; this file owns the
// rules that need a clock or a request: catching up after gaps, stopping exactly, settling the lock.

import { AbortError, ConfigurationError, OpencodeError, StreamError } from "../http/errors.js";
import type { Logger } from "../http/logger.js";
import type { TypedRequest } from "../http/paths.js";
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
  /** How long an idle session must show the turn unfinished before the turn is given up. */
  lostTurnMs: number;
  /** Between the snapshots that watch an idle session showing the turn unfinished. */
  recheckMs: number;
  /** Without any sign of the prompt this long after posting it, look at what the server stored. */
  noStartMs: number;
}

const TIMING: TurnTiming = {
  settleMs: 3_000,
  stopSettleMs: 10_000,
  abortRepeatMs: 250,
  lostTurnMs: 2_000,
  recheckMs: 1_000,
  noStartMs: 5_000,
};

export interface TurnDeps {
  request: TypedRequest;
  events: TurnEvents;
  mutex: SessionMutex;
  logger: Logger;
  ids: MessageIDs;
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
export type TurnOptions = Pick<PromptOptions, "signal" | "subagents" | "messageID" | "permissions">;
type CommandBody = Omit<NonNullable<operations["session.command"]["requestBody"]>["content"]["application/json"], "messageID">;
type ShellBody = Omit<NonNullable<operations["session.shell"]["requestBody"]>["content"]["application/json"], "messageID">;

/** What the Turn does: send a prompt, a slash command or a shell command, or follow a turn already running on the server. */
export type TurnStart =
  | { kind: "prompt"; input: string | PartInput[]; options: PromptOptions }
  | { kind: "command"; body: CommandBody; options: TurnOptions }
  | { kind: "shell"; body: ShellBody; options: TurnOptions }
  | { kind: "attach"; userMessageID: string; options: Pick<PromptOptions, "signal" | "subagents"> };

/** How many unknown sessions one snapshot looks up to place them in the tree. */
const MAX_SESSION_LOOKUPS = 10;

type Input =
  | { kind: "event"; event: Event | StreamGap }
  | { kind: "snapshot"; snapshot: TurnSnapshot; stored: boolean }
  | { kind: "snapshot-failed"; error: unknown; required: boolean }
  | { kind: "send-failed"; error: unknown }
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
  private postedAt = 0;
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
  /** Idle snapshots showing the turn unfinished: when the first was taken, and how many. */
  private idleSeenAt: number | undefined;
  private idleSeen = 0;
  /**
   * The stream showed the session's run may be over (a root idle, a gap, another turn's error):
   * idle snapshots then mean a lost turn after `lostTurnMs`. Without it they may show a cold server
   * between storing the prompt and going busy, so giving up takes five times as long.
   */
  private endSeen = false;
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
  /** Permission answers the policy sent in this turn (an "always" or "reject" covers later requests). */
  private readonly policyAnswers: { id: string; sessionID: string; permission: string; always: string[]; reply: PolicyDecision["reply"]; sent: Promise<void> }[] = [];

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
   * the session is dropped, one being sent is cancelled, and an abort the server ignores (sent
   * before its prompt loop started) is repeated when the turn shows signs of life. Resolves once
   * the server reports the session idle (the next turn on this session waits for that too);
   * rejects with `StopTimeoutError` if it does not within 10 s. Nobody has to await it.
   */
  abort(): Promise<void> {
    if (this.stopping || this.terminal) return this.stopping ? this.stopped : Promise.resolve();
    this.stopping = true;
    this.finish({ kind: "error", sessionID: this.sessionID, error: aborted("the turn was aborted by the client") });
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
      await Promise.all([subscription.ready, this.deps.catalog?.check(this.start, this.stop.signal)]);
      if (this.stopping) return;
      await this.send(this.userMessageID);
      await this.loop(subscription);
    } catch (error) {
      if (!this.terminal) this.finish(this.errorReply(error));
    } finally {
      clearTimeout(this.timer);
      this.start.options.signal?.removeEventListener("abort", this.onSignal);
      subscription?.close();
      if (this.state) this.deps.ids.observe(this.sessionID, this.state.maxMessageID);
      release?.();
      if (this.stopping) this.settleStop(this.stopConfirmed || this.postStage === 0 ? undefined : this.stopTimeout());
    }
  }

  /** Sends what the turn starts with. */
  private async send(messageID: string): Promise<void> {
    const start = this.start;
    switch (start.kind) {
      case "attach":
        return;
      case "prompt":
        return this.sendPrompt(promptBody(messageID, start.input, start.options));
      case "command":
      case "shell":
        return this.sendLong(start, messageID);
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
    this.postStage = 2;
    this.postedAt = Date.now();
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
    this.postedAt = Date.now();
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
          this.endSeen = true;
          return;
        }
        this.adoptShellPrompt(input.event);
        this.apply(this.codec(() => mapEvent(this.state!, input.event)));
        this.watchRejection(input.event);
        this.watchForLife(input.event);
        this.watchRun(input.event);
        return;
      }
      case "snapshot": {
        this.snapshotFailures = 0;
        this.apply(this.codec(() => applySnapshot(state, input.snapshot)));
        const idle = input.snapshot.status === "idle";
        if (this.stopping && idle && (!input.stored || this.state!.settled)) this.confirmStop();
        if (idle && unfinishedWhileIdle(this.state!)) {
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
      case "send-failed":
        if (this.terminal || this.state!.started || (this.stopping && this.post.signal.aborted)) {
          this.deps.logger.warn?.("the command's request failed after the turn started", { sessionID: this.sessionID, error: String(input.error) });
          return;
        }
        this.finish(this.errorReply(input.error));
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
    // An idle session that shows the turn unfinished in snapshots taken apart has lost it.
    const lostAfter = this.endSeen || state.earlyError ? this.timing.lostTurnMs : 5 * this.timing.lostTurnMs;
    if (this.idleSeenAt !== undefined && !this.terminal && this.idleSeen >= 2 && now - this.idleSeenAt >= lostAfter) {
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
      if (state.needsSnapshot || this.idleSeenAt !== undefined) want(now, true);
      // No trace of the prompt, or only another turn's trailing error or idle.
      if (!state.started && this.postStage === 2) want(state.earlyError ? now : this.postedAt + this.timing.noStartMs, true);
    }
    // A stop before the prompt showed up: is it on the server at all?
    if (this.stopping && !this.stopConfirmed && this.postStage === 2 && !state.started) want(now, true);
    if (at === Infinity) {
      this.snapshotPlan = undefined;
      return;
    }
    const urgent = this.gapPending || this.attachPending;
    this.snapshotPlan = { at: urgent ? at : Math.max(at, this.lastSnapshotAt + this.timing.recheckMs), required };
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
      if (reply.kind === "final") this.finish({ ...reply, usage: this.withContextWindow(reply.usage, reply.model) });
      else if (reply.kind === "error") this.finish(reply);
      else if (reply.kind !== "permission" || !this.answerByPolicy(reply)) this.push(reply);
    }
  }

  /** The model of the turn's latest step, or the one the prompt named. */
  private answeringModel(): { providerID: string; modelID: string } | undefined {
    const last = this.state?.assistantIDs.at(-1);
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
    const pending = await this.deps.request("get", "/permission", { signal: this.stop.signal }).catch(() => []);
    if (pending.some((p) => p.id === reply.id)) await this.sendPolicyAnswer(reply.id, { reply: earlier.reply, rule: { action: "allow" } });
  }

  /**
   * Servers before 1.14 ignore the messageID of a shell command and store its user message under an
   * id of their own: the first other user message of the session after sending it is the turn's.
   */
  private adoptShellPrompt(event: Event): void {
    if (this.start.kind !== "shell" || this.postStage !== 2 || this.state!.started || event.type !== "message.updated") return;
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
    this.finish({ kind: "error", sessionID: this.sessionID, error });
    if (this.state!.started || error instanceof UnreadableFileError) this.sendStop();
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

  /** Tracks what the live stream says about the root session's run (see `endSeen`). */
  private watchRun(event: Event): void {
    const sessionID = (event.properties as { sessionID?: string }).sessionID;
    if (sessionID !== this.sessionID) return;
    const idle = event.type === "session.idle" || (event.type === "session.status" && event.properties.status.type === "idle");
    if (idle || event.type === "session.error") this.endSeen = true;
    else if (event.type === "session.status") {
      // Busy again: whatever idle snapshots showed was the moment before the run started.
      this.idleSeenAt = undefined;
      this.idleSeen = 0;
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
    this.gapPending = false;
    this.attachPending = false;
    this.lastSnapshotAt = Date.now();
    this.readSnapshot(this.state!).then(
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

  /**
   * Reads what the server has now: status first (so messages read after an idle are final), the
   * turn's messages, pending requests, and the sessions the codec cannot place yet.
   */
  private async readSnapshot(state: TurnState): Promise<Input> {
    const { request } = this.deps;
    const signal = this.stop.signal;
    const statuses = await request("get", "/session/status", { signal });
    const type = statuses[this.sessionID]?.type;
    const status: TurnSnapshot["status"] = type === "busy" || type === "retry" ? type : "idle";
    const [messages, permissions, questions] = await Promise.all([
      this.readTurnMessages(state, signal),
      request("get", "/permission", { signal }),
      request("get", "/question", { signal }),
    ]);
    const unknown = new Set(unplacedSessions(state));
    for (const pending of [...permissions, ...questions]) if (!state.sessions.has(pending.sessionID)) unknown.add(pending.sessionID);
    for (const [id, value] of Object.entries(statuses)) if (value.type !== "idle" && !state.sessions.has(id)) unknown.add(id);
    const sessions = await this.placeSessions(state, [...unknown], signal);
    const stored = messages.some((m) => m.info.id === this.userMessageID);
    return { kind: "snapshot", snapshot: { status, messages, permissions, questions, sessions }, stored };
  }

  /** The root session's latest messages, enough of them to include this turn's user message. */
  private async readTurnMessages(state: TurnState, signal: AbortSignal): Promise<TurnSnapshot["messages"]> {
    let limit = Math.max(20, 2 * state.messages.size + 10);
    for (let attempt = 0; attempt < 3; attempt++) {
      const messages = await this.deps.request("get", "/session/{sessionID}/message", {
        path: { sessionID: this.sessionID },
        query: { limit },
        signal,
      });
      if (messages.length < limit || messages.some((m) => m.info.id === this.userMessageID)) return messages;
      limit *= 4;
    }
    return this.deps.request("get", "/session/{sessionID}/message", { path: { sessionID: this.sessionID }, signal });
  }

  /** Follows unknown sessions' parent chains, so the codec can tell sub-agents from strangers. */
  private async placeSessions(state: TurnState, ids: string[], signal: AbortSignal): Promise<TurnSnapshot["sessions"]> {
    const found: { id: string; parentID: string; title: string }[] = [];
    const queue = ids.slice(0, MAX_SESSION_LOOKUPS);
    const seen = new Set(queue);
    while (queue.length > 0 && found.length < MAX_SESSION_LOOKUPS) {
      const id = queue.shift()!;
      const info = await this.deps.request("get", "/session/{sessionID}", { path: { sessionID: id }, signal }).catch(() => undefined);
      if (!info?.parentID) continue;
      found.push({ id: info.id, parentID: info.parentID, title: info.title });
      if (!state.sessions.has(info.parentID) && !seen.has(info.parentID)) {
        seen.add(info.parentID);
        queue.push(info.parentID);
      }
    }
    return found;
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
