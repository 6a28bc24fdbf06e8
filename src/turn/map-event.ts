// The pure turn codec: `mapEvent(state, event)` turns the server's raw events into Replies for one
// turn: its root session (one user message, the assistant messages answering it, and the messages
// a compaction adds) and every sub-agent session started under it. No I/O, no clock, inputs never
// mutated. Unknown or malformed events give no replies; a bug in here throws, so the Turn can end
// with a typed error instead of hanging.

import type { components } from "../../generated/opencode.js";
import { consumedEventProblem, envelopeProblem } from "../events/schemas.js";
import { sessionOfEvent } from "../events/session-of.js";
import type { Event, EventOf } from "../events/types.js";
import { classifyProviderError, StoppedAfterToolCallsError, type RawProviderError } from "./errors.js";
import { PersistentMap } from "./persistent-map.js";
import type {
  AnsweredBy,
  DiscardedText,
  FinalReply,
  QuestionItem,
  Reply,
  SubagentReply,
  Usage,
} from "./replies.js";

type MessageRecord = components["schemas"]["Message"];
type PartRecord = components["schemas"]["Part"];
type ToolStateRecord = components["schemas"]["ToolState"];
type SessionRecord = components["schemas"]["Session"];
type PermissionRecord = components["schemas"]["PermissionRequest"];
type QuestionRecord = components["schemas"]["QuestionRequest"];

/** The event types the codec reads; every one has a case in `step` (a missing case does not compile). */
type ConsumedType =
  | "message.updated"
  | "message.part.updated"
  | "message.part.delta"
  | "session.created"
  | "session.updated"
  | "session.status"
  | "session.idle"
  | "session.error"
  | "session.compacted"
  | "permission.asked"
  | "permission.replied"
  | "question.asked"
  | "question.replied"
  | "question.rejected";
type ConsumedEvent = EventOf<ConsumedType>;
const CONSUMED: ReadonlySet<string> = new Set<ConsumedType>([
  "message.updated",
  "message.part.updated",
  "message.part.delta",
  "session.created",
  "session.updated",
  "session.status",
  "session.idle",
  "session.error",
  "session.compacted",
  "permission.asked",
  "permission.replied",
  "question.asked",
  "question.replied",
  "question.rejected",
]);

/** How much of the sub-agents' work a turn reports: their requests and status only, or everything. */
export type SubagentDetail = "requests" | "all";

type PartKind = "text" | "reasoning" | "tool" | "other";

interface PartState {
  readonly sessionID: string;
  readonly messageID: string;
  readonly kind: PartKind;
  /** Text shown so far (text and reasoning parts). */
  readonly shown: string;
  /**
   * The part's text as the ordered live stream knows it: every delta after a live update appends
   * to it. Unknown after a gap (missed deltas cannot be placed) until a live update or a final
   * snapshot brings the whole text again; read it with `liveText`. Only text beyond `shown` is
   * ever emitted.
   */
  readonly live: string | undefined;
  /** The state's `gaps` when `live` was last known: a gap since makes it unknown without touching every part. */
  readonly epoch: number;
  /** The server sent the part's final text (`time.end`), or a final snapshot did. */
  readonly closed: boolean;
  /** Retracted by a provider retry: the server abandoned it (it stays empty in storage). */
  readonly discarded: boolean;
  /** Tool statuses already reported, so each is reported once. */
  readonly toolStatuses: readonly string[];
  /** The running tool's `metadata.output` last reported: bash re-sends it whole as it grows. */
  readonly toolOutput: unknown;
}

interface MessageState {
  readonly sessionID: string;
  readonly role: "user" | "assistant";
  /** Belongs to this turn: a root assistant answering one of the turn's user messages, or any child message. */
  readonly inTurn: boolean;
  /** A compaction's summary message: counted in usage, its text never shown as the turn's. */
  readonly summary: boolean;
  readonly parentID: string | undefined;
  readonly partIDs: readonly string[];
  readonly finish: string | undefined;
  /** The server finished this message (`time.completed`, a finish reason, or an error). */
  readonly completed: boolean;
  readonly usage: Usage;
  readonly structured: unknown;
  /** User messages: every text part so far is synthetic (a compaction's continuation). */
  readonly synthetic: boolean;
  /** Assistant messages: who answered (the server stores provider, model and agent on each). */
  readonly answeredBy: AnsweredBy | undefined;
  /** Assistant messages: the tokens the model saw and wrote in this step (its context in use). */
  readonly contextUsed: number;
}

interface SessionNode {
  /** Undefined for the root. */
  readonly parentID: string | undefined;
  readonly agent: string | undefined;
  readonly description: string | undefined;
  readonly callID: string | undefined;
  /** A `subagent` reply with status "started" was emitted. */
  readonly announced: boolean;
  /** Busy since its last idle (so one idle is reported per run). */
  readonly busy: boolean;
}

export interface TurnState {
  readonly sessionID: string;
  readonly userMessageID: string;
  readonly subagents: SubagentDetail;
  /** Latest server timestamp seen (epoch ms); "now" for errors, never read from a clock. */
  readonly now: number;
  /** This turn's user message or one of its assistant messages was seen: an idle now ends it. */
  readonly started: boolean;
  /** The terminal reply (final or error) was emitted. */
  readonly done: boolean;
  /** The session went idle after the turn started: later events cannot belong to this turn. */
  readonly settled: boolean;
  /**
   * The session went idle but the codec cannot end the turn from the stream alone: a part is still
   * missing text after a gap, or the turn has no finished answer. The Turn reads a snapshot.
   */
  readonly needsSnapshot: boolean;
  /**
   * A gap was marked and no snapshot has been applied since: parts that started and ended inside the
   * gap are unknown, so an idle cannot end the turn from the stream alone.
   */
  readonly gapOpen: boolean;
  /**
   * The live stream said the root went idle after the turn started (or during a gap, when it may
   * have started unseen): a snapshot that says busy may be older than that idle, so it cannot
   * settle the turn; the Turn reads again until one says idle.
   */
  readonly idleLive: boolean;
  /** The root session and every descendant known to have started under it. */
  readonly sessions: ReadonlyMap<string, SessionNode>;
  /** Sessions whose parent is not (yet) known to be in the tree: session → parent. */
  readonly parentOf: ReadonlyMap<string, string>;
  /** The turn's root user messages: the prompt, then compaction and continuation messages. */
  readonly userIDs: readonly string[];
  /** A compaction of this turn waits for its synthetic continuation message. */
  readonly compacting: boolean;
  readonly messages: PersistentMap<MessageState>;
  /** The turn's latest root assistant message (summaries excluded), by appearance; the final's. */
  readonly lastAssistantID: string | undefined;
  readonly parts: PersistentMap<PartState>;
  /** Gaps marked so far (see `PartState.epoch`). */
  readonly gaps: number;
  /**
   * The root's text and reasoning parts still streaming (neither closed nor discarded), in order:
   * few at any time, so an idle or a retry looks at them instead of at every part of the turn.
   */
  readonly openText: readonly string[];
  /** Events for a message whose role and parent are not known yet. */
  readonly heldByMessage: ReadonlyMap<string, readonly ConsumedEvent[]>;
  /** Deltas for a part whose type is not known yet (text and reasoning deltas look alike). */
  readonly heldByPart: ReadonlyMap<string, readonly ConsumedEvent[]>;
  /** Events of a session not (yet) known to be in the tree. */
  readonly heldBySession: ReadonlyMap<string, readonly ConsumedEvent[]>;
  readonly heldCount: number;
  /** Permission and question ids shown, and whether their answer was reported. */
  readonly requests: ReadonlyMap<string, "asked" | "answered">;
  /** The last provider retry reported, so a repeated status event is not reported twice. */
  readonly retryAttempt: number;
  readonly seenDeltas: SeenDeltas;
  /**
   * A `session.error` that came before the turn's own user message: it may be an earlier turn's
   * (a stop's trailing error arrives after the next prompt was posted), so it ends nothing; it is
   * the turn's error only if the server never takes the prompt up.
   */
  readonly earlyError: RawProviderError | undefined;
  /** The greatest message id seen in the root session (new prompts must sort after it). */
  readonly maxMessageID: string;
}

export interface MapResult {
  state: TurnState;
  replies: Reply[];
}

/**
 * What the server said over plain requests after a gap in the stream, or to settle a question the
 * stream cannot answer (an idle turn without an answer).
 */
export interface TurnSnapshot {
  /** The root session's status now; "idle" lets a started, answered turn end. */
  status: "idle" | "busy" | "retry";
  /** The root session's stored messages (at least every message of this turn). */
  messages: readonly { info: MessageRecord; parts: readonly PartRecord[] }[];
  /** Pending permission requests (any session: the codec keeps those of its tree). */
  permissions?: readonly PermissionRecord[];
  /** Pending questions (any session). */
  questions?: readonly QuestionRecord[];
  /** Sessions looked up to place them in the tree (their `parentID`). */
  sessions?: readonly Pick<SessionRecord, "id" | "parentID" | "title">[];
}

/** Events held while their message, part or session is unknown; past this, new ones are dropped. */
const MAX_HELD = 10_000;

export const ZERO_USAGE: Usage = { input: 0, output: 0, reasoning: 0, cacheRead: 0, cacheWrite: 0, cost: 0 };

export function initialTurnState(init: {
  sessionID: string;
  userMessageID: string;
  now?: number;
  subagents?: SubagentDetail;
}): TurnState {
  return {
    sessionID: init.sessionID,
    userMessageID: init.userMessageID,
    subagents: init.subagents ?? "requests",
    now: init.now ?? 0,
    started: false,
    done: false,
    settled: false,
    needsSnapshot: false,
    gapOpen: false,
    idleLive: false,
    sessions: new Map([[init.sessionID, rootNode()]]),
    parentOf: new Map(),
    userIDs: [init.userMessageID],
    compacting: false,
    messages: PersistentMap.empty(),
    lastAssistantID: undefined,
    parts: PersistentMap.empty(),
    gaps: 0,
    openText: [],
    heldByMessage: new Map(),
    heldByPart: new Map(),
    heldBySession: new Map(),
    heldCount: 0,
    requests: new Map(),
    retryAttempt: -1,
    seenDeltas: SeenDeltas.empty(),
    earlyError: undefined,
    maxMessageID: "",
  };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * A copy of `state` with `patch` applied. Spelled out field by field: V8 copies an object literal
 * of known shape many times faster than `{ ...state }`, and the codec makes a new state per delta.
 */
function revise(state: TurnState, patch: Partial<TurnState>): TurnState {
  return Object.assign(copyState(state), patch);
}

function copyState(state: TurnState): Mutable<TurnState> {
  return {
    sessionID: state.sessionID,
    userMessageID: state.userMessageID,
    subagents: state.subagents,
    now: state.now,
    started: state.started,
    done: state.done,
    settled: state.settled,
    needsSnapshot: state.needsSnapshot,
    gapOpen: state.gapOpen,
    idleLive: state.idleLive,
    sessions: state.sessions,
    parentOf: state.parentOf,
    userIDs: state.userIDs,
    compacting: state.compacting,
    messages: state.messages,
    lastAssistantID: state.lastAssistantID,
    parts: state.parts,
    gaps: state.gaps,
    openText: state.openText,
    heldByMessage: state.heldByMessage,
    heldByPart: state.heldByPart,
    heldBySession: state.heldBySession,
    heldCount: state.heldCount,
    requests: state.requests,
    retryAttempt: state.retryAttempt,
    seenDeltas: state.seenDeltas,
    earlyError: state.earlyError,
    maxMessageID: state.maxMessageID,
  };
}

/**
 * Maps one server event to this turn's replies. Same inputs, same outputs. Events that are not
 * well-formed events of a consumed type give no replies (the events layer checks the same schemas).
 */
export function mapEvent(state: TurnState, event: unknown): MapResult {
  const replies: Reply[] = [];
  if (envelopeProblem(event) !== undefined) return { state, replies };
  const candidate = event as { type: string; properties: unknown };
  if (!CONSUMED.has(candidate.type) || consumedEventProblem(candidate) !== undefined) return { state, replies };
  return { state: step(state, candidate as ConsumedEvent, replies), replies };
}

/**
 * Marks a gap in the event stream (a reconnect): parts that were streaming stop emitting deltas
 * until the server's full text is known again (the part's next live update, or a snapshot where
 * it is final), so missed deltas are filled from the server's text, never skipped or repeated.
 */
export function markGap(state: TurnState): TurnState {
  if (state.done) return state;
  return revise(state, { gaps: state.gaps + 1, gapOpen: true });
}

/**
 * Catches the turn up from a snapshot: places sessions in the tree, shows pending requests not
 * shown yet, emits the text of parts that finished meanwhile, tool results, errors and, when the
 * session is idle and the stored turn is finished, the final reply.
 *
 * A part still streaming stays as it is: the snapshot is read over another channel than the event
 * stream, so live deltas in flight may or may not be in it. Its text is settled by its next live
 * update (which includes every delta before it) or by a snapshot of an idle session.
 */
export function applySnapshot(state: TurnState, snapshot: TurnSnapshot): MapResult {
  const replies: Reply[] = [];
  const idle = snapshot.status === "idle";
  // Older than an idle already seen: apply what it knows, but only a newer one can end the turn.
  const stale = !idle && state.idleLive;
  let next: TurnState = revise(state, { needsSnapshot: stale, gapOpen: false });
  for (const session of snapshot.sessions ?? []) {
    if (session.parentID !== undefined) next = linkSession(next, session.id, session.parentID, session.title, replies);
  }
  // Messages listed before this turn's prompt are earlier turns' (the server lists them in order):
  // an earlier compaction must not pull that turn's continuation and answer into this one. (A
  // snapshot without the prompt lists none of them: the Turn reads back until it has it.)
  const own = snapshot.messages.findIndex((m) => m.info.id === state.userMessageID);
  for (const [index, message] of snapshot.messages.entries()) {
    if (message.info.sessionID !== state.sessionID) continue;
    if (index < own) {
      if (message.info.id > next.maxMessageID) next = revise(next, { maxMessageID: message.info.id });
      continue;
    }
    next = onMessage(next, message.info, replies, "snapshot");
    for (const part of message.parts) next = onPart(next, part, replies, idle ? "final" : "snapshot");
  }
  for (const permission of snapshot.permissions ?? []) next = onPermissionAsked(next, permission, replies);
  for (const question of snapshot.questions ?? []) next = onQuestionAsked(next, question, replies);
  if (idle) next = onIdle(next, state.sessionID, replies, "snapshot");
  return { state: next, replies };
}

function step(state: TurnState, event: ConsumedEvent, replies: Reply[]): TurnState {
  if (state.done && state.settled) return state;
  const sessionID = sessionOfEvent(event);
  if (sessionID === undefined) return state;
  if (!state.sessions.has(sessionID)) {
    // session.created / updated place a new session in the tree; anything else waits for that.
    if ((event.type === "session.created" || event.type === "session.updated") && event.properties.info.parentID) {
      return linkSession(state, sessionID, event.properties.info.parentID, event.properties.info.title, replies);
    }
    return hold(state, "heldBySession", sessionID, event);
  }

  switch (event.type) {
    case "message.updated":
      return onMessage(state, event.properties.info, replies);
    case "message.part.updated": {
      const time = event.properties.time;
      const timed = time !== undefined && time > state.now ? revise(state, { now: time }) : state;
      return onPart(timed, event.properties.part, replies, "live");
    }
    case "message.part.delta":
      return onDelta(state, event, replies);
    case "session.created":
    case "session.updated":
      return state;
    case "session.status": {
      const status = event.properties.status;
      if (status.type === "idle") return onIdle(state, sessionID, replies, "live");
      if (status.type === "busy" || status.type === "retry") state = onBusy(state, sessionID, replies);
      if (status.type === "retry") {
        // The checked shape lets a retry status leave its details out.
        const { attempt, message, next } = status as { attempt?: number; message?: string; next?: number };
        return onRetry(state, sessionID, { attempt: attempt ?? state.retryAttempt + 1, message: message ?? "", next: next ?? state.now }, replies);
      }
      return state;
    }
    case "session.idle":
      return onIdle(state, sessionID, replies, "live");
    case "session.error": {
      const error = event.properties.error;
      if (!error) return state;
      if (sessionID !== state.sessionID) return onSubagentError(state, sessionID, error, replies);
      if (state.done) return state;
      if (!state.started) return revise(state, { earlyError: error });
      return fail(state, error, lastAssistantText(state), replies);
    }
    case "session.compacted":
      return state;
    case "permission.asked":
      return onPermissionAsked(state, event.properties, replies);
    case "permission.replied": {
      const { requestID, reply } = event.properties;
      if (state.requests.get(requestID) !== "asked" || (reply !== "once" && reply !== "always" && reply !== "reject")) return state;
      if (!state.done) replies.push({ kind: "permission_replied", ...sessionRef(state, sessionID), id: requestID, reply });
      return revise(state, { requests: new Map(state.requests).set(requestID, "answered") });
    }
    case "question.asked":
      return onQuestionAsked(state, event.properties, replies);
    case "question.replied":
    case "question.rejected": {
      const requestID = event.properties.requestID;
      if (state.requests.get(requestID) !== "asked") return state;
      if (!state.done) {
        replies.push(
          event.type === "question.replied"
            ? { kind: "question_replied", ...sessionRef(state, sessionID), id: requestID, answers: event.properties.answers, rejected: false }
            : { kind: "question_replied", ...sessionRef(state, sessionID), id: requestID, rejected: true },
        );
      }
      return revise(state, { requests: new Map(state.requests).set(requestID, "answered") });
    }
    default: {
      const unhandled: never = event;
      return unhandled;
    }
  }
}

/** Adds `sessionID` under `parentID` once the parent is in the tree; replays what it held. */
function linkSession(state: TurnState, sessionID: string, parentID: string, title: string | undefined, replies: Reply[]): TurnState {
  if (state.sessions.has(sessionID) || sessionID === parentID) return state;
  if (!state.sessions.has(parentID)) return revise(state, { parentOf: new Map(state.parentOf).set(sessionID, parentID) });
  const sessions = new Map(state.sessions).set(sessionID, {
    parentID,
    agent: undefined,
    description: title,
    callID: undefined,
    announced: false,
    busy: false,
  });
  const parentOf = new Map(state.parentOf);
  parentOf.delete(sessionID);
  let next: TurnState = revise(state, { sessions, parentOf });
  next = release(next, "heldBySession", sessionID, replies);
  // Its own children may have been waiting for it.
  for (const [child, parent] of state.parentOf) {
    if (parent === sessionID) next = linkSession(next, child, sessionID, undefined, replies);
  }
  return next;
}

type AssistantRecord = Extract<MessageRecord, { role: "assistant" }>;

/** An assistant message's tokens and cost as the server reports them. */
export function assistantUsage(info: AssistantRecord): Usage {
  const { tokens } = info;
  return { input: tokens.input, output: tokens.output, reasoning: tokens.reasoning, cacheRead: tokens.cache.read, cacheWrite: tokens.cache.write, cost: info.cost ?? 0 };
}

/** What a step had in the model's context: everything it read and wrote. */
export function contextTokens(tokens: AssistantRecord["tokens"]): number {
  return tokens.input + tokens.output + tokens.reasoning + tokens.cache.read + tokens.cache.write;
}

function onMessage(state: TurnState, info: MessageRecord, replies: Reply[], source: "live" | "snapshot" = "live"): TurnState {
  const { id, role, sessionID } = info;
  if (role !== "user" && role !== "assistant") return state;
  const root = sessionID === state.sessionID;
  const previous = state.messages.get(id);
  const parentID = info.role === "assistant" ? info.parentID : undefined;
  const summary = info.role === "assistant" && info.summary === true;
  const inTurn = root ? role === "assistant" && parentID !== undefined && state.userIDs.includes(parentID) : true;
  const tokens = info.role === "assistant" ? info.tokens : undefined;
  // The generated type says `time` is always there; the checked shape (what a server may send) does not.
  const time = info.time as { created?: number; completed?: number } | undefined;
  const completedAt = info.role === "assistant" ? time?.completed : undefined;
  const finish = info.role === "assistant" ? info.finish : undefined;
  const error = info.role === "assistant" ? (info.error as RawProviderError | undefined) : undefined;
  const reported: Usage = tokens && info.role === "assistant" ? assistantUsage(info) : ZERO_USAGE;
  const message: MessageState = {
    sessionID,
    role,
    inTurn,
    summary,
    parentID,
    partIDs: previous?.partIDs ?? [],
    finish: finish ?? previous?.finish,
    completed: (previous?.completed ?? false) || completedAt !== undefined || finish !== undefined || error !== undefined,
    // A message's usage only grows (each finished step adds to it): a snapshot read before the live
    // update that was already applied must not take it back.
    usage: source === "snapshot" && previous && usageTotal(reported) < usageTotal(previous.usage) ? previous.usage : reported,
    structured: (info.role === "assistant" ? info.structured : undefined) ?? previous?.structured,
    synthetic: previous?.synthetic ?? role === "user",
    answeredBy: answeredBy(info) ?? previous?.answeredBy,
    contextUsed: tokens ? contextTokens(tokens) : (previous?.contextUsed ?? 0),
  };
  const rootAssistant = root && inTurn && !summary;
  let next: TurnState = revise(state, {
    now: Math.max(state.now, completedAt ?? 0, time?.created ?? 0),
    messages: state.messages.set(id, message),
    started: state.started || (root && (id === state.userMessageID || inTurn)),
    lastAssistantID: rootAssistant && !(previous && previous.inTurn && !previous.summary) ? id : state.lastAssistantID,
    maxMessageID: root && id > state.maxMessageID ? id : state.maxMessageID,
  });
  // The turn's own user message proves an earlier `session.error` was another turn's.
  if (root && id === state.userMessageID) next = revise(next, { earlyError: undefined });
  if (!root && !previous) next = announce(next, sessionID, replies);

  next = release(next, "heldByMessage", id, replies);
  if (inTurn && error && !next.done) {
    if (root && !summary) next = fail(next, error, messageText(next, id), replies);
    else if (!root) next = onSubagentError(next, sessionID, error, replies);
  }
  // The run already went idle with this answer unfinished; its completion on the stream settles the
  // turn (a snapshot's messages settle it only as a whole, after their parts).
  if (source === "live" && rootAssistant && message.completed && next.idleLive && next.needsSnapshot && !next.done && id === next.lastAssistantID) {
    next = settle(next, replies);
  }
  return next;
}

/**
 * How far a part record can be trusted: a live update includes every delta sent before it on the
 * same ordered stream; a snapshot only where the part is closed; a snapshot of an idle session fully.
 */
type PartSource = "live" | "snapshot" | "final";

function onPart(state: TurnState, part: PartRecord, replies: Reply[], source: PartSource): TurnState {
  const { id, messageID } = part;
  const message = state.messages.get(messageID);
  if (!message) return hold(state, "heldByMessage", messageID, { type: "message.part.updated", properties: { sessionID: part.sessionID, part } } as ConsumedEvent);
  if (message.role === "user") return onUserPart(state, messageID, message, part, replies);
  // A sub-agent's `task` call names the child session it runs: that places the child in the tree.
  let next = part.type === "tool" ? onTaskPart(state, part, replies) : state;
  if (!message.inTurn || next.done) return next;
  if (message.summary) return next;

  const kind = partKind(part.type);
  const previous = next.parts.get(id);
  let current: PartState = previous ?? {
    sessionID: part.sessionID,
    messageID,
    kind,
    shown: "",
    live: source === "live" ? "" : undefined,
    epoch: next.gaps,
    closed: false,
    discarded: false,
    toolStatuses: [],
    toolOutput: undefined,
  };
  if (!previous) {
    const messages = next.messages.set(messageID, { ...message, partIDs: [...message.partIDs, id] });
    next = revise(next, { messages });
  }
  const emitting = shows(next, part.sessionID);

  if (part.type === "text" || part.type === "reasoning") {
    const closing = part.time?.end !== undefined;
    // A record without its text says nothing about it; a snapshot's text that is behind what already
    // streamed is older than the live stream, and must not roll the part back.
    const behind = source !== "live" && part.text !== undefined && current.shown.length > part.text.length && current.shown.startsWith(part.text);
    if (part.text !== undefined && !behind && (source === "live" || closing || source === "final")) {
      current = settleText(current, id, part.text, next.gaps, emitting ? replies : undefined, sessionRef(next, part.sessionID));
      if (closing || source === "final") current = { ...current, closed: true };
    }
  } else if (part.type === "tool") {
    current = onToolPart(current, id, part, emitting ? replies : undefined, sessionRef(next, part.sessionID));
  } else if (part.type === "step-finish" && part.sessionID === next.sessionID) {
    // Servers that send no completing message.updated (1.18.31 after an abort) still close the step:
    // an idle after it ends the turn.
    next = onStepFinished(next, messageID, part.reason, replies, source);
  }
  next = revise(next, { parts: next.parts.set(id, current), openText: trackOpen(next.openText, id, previous, current, next.sessionID) });

  // Deltas that arrived before this part's type was known. A live update includes every delta
  // sent before it, so they are new text only after an empty (start) update; otherwise the
  // update's text already holds them.
  const held = next.heldByPart.get(id);
  if (held) {
    const heldByPart = new Map(next.heldByPart);
    heldByPart.delete(id);
    next = revise(next, { heldByPart, heldCount: next.heldCount - held.length });
    const replay = source === "live" && (part.type === "text" || part.type === "reasoning") && part.text === "";
    if (replay) for (const event of held) next = step(next, event, replies);
  }
  return next;
}

function onStepFinished(state: TurnState, messageID: string, reason: string | undefined, replies: Reply[], source: PartSource): TurnState {
  const message = state.messages.get(messageID);
  if (!message || message.completed) return state;
  let next: TurnState = revise(state, { messages: state.messages.set(messageID, { ...message, completed: true, finish: message.finish ?? reason }) });
  if (source === "live" && next.idleLive && next.needsSnapshot && !next.done && messageID === next.lastAssistantID) next = settle(next, replies);
  return next;
}

/**
 * User messages are never echoed. In the root session a compaction's parts decide whether the turn
 * grows: the compaction message itself, and the synthetic continuation after it, become the turn's.
 */
function onUserPart(state: TurnState, messageID: string, message: MessageState, part: PartRecord, replies: Reply[]): TurnState {
  if (message.sessionID !== state.sessionID || !state.started || state.done) return state;
  if (part.type === "compaction") {
    if (state.userIDs.includes(messageID)) return state;
    replies.push({ kind: "compaction", sessionID: state.sessionID, auto: part.auto, messageID });
    return revise(state, { userIDs: [...state.userIDs, messageID], compacting: true });
  }
  if (part.type === "text" && !part.synthetic && message.synthetic) {
    return revise(state, { messages: state.messages.set(messageID, { ...message, synthetic: false }) });
  }
  if (part.type === "text" && part.synthetic && message.synthetic && state.compacting && !state.userIDs.includes(messageID)) {
    // The continuation the server adds after an automatic compaction: the turn goes on under it.
    return release(revise(state, { userIDs: [...state.userIDs, messageID], compacting: false }), "heldByMessage", messageID, replies);
  }
  return state;
}

function onTaskPart(state: TurnState, part: Extract<PartRecord, { type: "tool" }>, replies: Reply[]): TurnState {
  if (part.tool !== "task") return state;
  const metadata = (part.state as { metadata?: Record<string, unknown> } | undefined)?.metadata;
  const child = metadata?.["sessionId"];
  if (typeof child !== "string") return state;
  let next = state.sessions.has(child) ? state : linkSession(state, child, part.sessionID, undefined, replies);
  const node = next.sessions.get(child);
  if (!node) return next;
  const input = (part.state.input ?? {}) as Record<string, unknown>;
  const agent = typeof input["subagent_type"] === "string" ? input["subagent_type"] : node.agent;
  const description = typeof input["description"] === "string" ? input["description"] : node.description;
  next = revise(next, { sessions: new Map(next.sessions).set(child, { ...node, agent, description, callID: part.callID }) });
  return announce(next, child, replies);
}

/** The first sign of a sub-agent: one `subagent` "started" reply. */
function announce(state: TurnState, sessionID: string, replies: Reply[]): TurnState {
  const node = state.sessions.get(sessionID);
  if (!node || node.announced || node.parentID === undefined || state.done) return state;
  replies.push(subagentReply(node, sessionID, "started"));
  return revise(state, { sessions: new Map(state.sessions).set(sessionID, { ...node, announced: true, busy: true }) });
}

function subagentReply(node: SessionNode, sessionID: string, status: SubagentReply["status"]): SubagentReply {
  return {
    kind: "subagent",
    sessionID,
    parentSessionID: node.parentID!,
    ...(node.agent !== undefined ? { agent: node.agent } : {}),
    ...(node.description !== undefined ? { description: node.description } : {}),
    ...(node.callID !== undefined ? { callID: node.callID } : {}),
    status,
  };
}

/**
 * Brings a text/reasoning part up to the server's `text`, which includes every delta sent before it
 * on the live stream: only what goes beyond what was shown is emitted.
 */
function settleText(part: PartState, partID: string, text: string, epoch: number, replies: Reply[] | undefined, ref: ReplyRef): PartState {
  if (part.discarded) return part;
  let shown = part.shown;
  if (text.startsWith(shown)) {
    if (replies) emit(part, partID, text.slice(shown.length), ref, replies);
    shown = text;
  } else if (!shown.startsWith(text)) {
    // The server's text diverged from what streamed (it never should): trust the server from now on.
    shown = text;
  }
  return { ...part, shown, live: text, epoch };
}

/** The part's live text, or undefined while a gap since its last live update leaves it unknown. */
function liveText(state: TurnState, part: PartState): string | undefined {
  return part.epoch === state.gaps ? part.live : undefined;
}

function emit(part: PartState, partID: string, text: string, ref: ReplyRef, replies: Reply[]): void {
  if (!text) return;
  const kind = part.kind === "reasoning" ? "reasoning" : "delta";
  // Literals, not spreads: this runs for every delta.
  replies.push(
    ref.parentSessionID === undefined
      ? { kind, sessionID: ref.sessionID, messageID: part.messageID, partID, text }
      : { kind, sessionID: ref.sessionID, parentSessionID: ref.parentSessionID, messageID: part.messageID, partID, text },
  );
}

function onToolPart(part: PartState, partID: string, record: Extract<PartRecord, { type: "tool" }>, replies: Reply[] | undefined, ref: ReplyRef): PartState {
  const state = record.state as ToolStateRecord | undefined;
  if (state === undefined) return part;
  const status = state.status;
  const output = runningOutput(record);
  // A running bash tool re-sends its whole output as it grows (or shrinks): report each new snapshot.
  const grown = status === "running" && output !== undefined && output !== part.toolOutput;
  if (part.toolStatuses.includes(status) && !grown) return part;
  if (part.toolStatuses.includes("completed") || part.toolStatuses.includes("error")) return part;
  if (status !== "pending" && status !== "running" && status !== "completed" && status !== "error") return part;
  if (replies) {
    const base = {
      ...ref,
      messageID: part.messageID,
      partID,
      // Older servers may leave these out.
      callID: record.callID ?? partID,
      tool: record.tool || "unknown",
      input: (state.input ?? {}) as Record<string, unknown>,
      ...("title" in state && typeof state.title === "string" ? { title: state.title } : {}),
    };
    if (state.status === "pending" || state.status === "running") {
      const metadata = (state as { metadata?: Record<string, unknown> }).metadata;
      replies.push(metadata === undefined ? { kind: "tool_call", ...base, status: state.status } : { kind: "tool_call", ...base, status: state.status, metadata });
    } else if (state.status === "completed") {
      replies.push({ kind: "tool_result", ...base, status: "completed", output: state.output, metadata: state.metadata as Record<string, unknown> });
    } else {
      const metadata = (state as { metadata?: Record<string, unknown> }).metadata ?? {};
      replies.push({ kind: "tool_result", ...base, status: "error", error: state.error, metadata });
    }
  }
  const toolStatuses = part.toolStatuses.includes(status) ? part.toolStatuses : [...part.toolStatuses, status];
  return { ...part, toolStatuses, toolOutput: output ?? part.toolOutput };
}

/** A running tool's partial output (`metadata.output`), when it has one. */
function runningOutput(record: Extract<PartRecord, { type: "tool" }>): unknown {
  if (record.state.status !== "running") return undefined;
  return (record.state as { metadata?: Record<string, unknown> }).metadata?.["output"];
}

function onDelta(state: TurnState, event: EventOf<"message.part.delta">, replies: Reply[]): TurnState {
  const { messageID, partID, delta, field } = event.properties;
  if (field !== "text") return state;
  const message = state.messages.get(messageID);
  if (!message) return hold(state, "heldByMessage", messageID, event);
  if (!message.inTurn || message.summary || state.done) return state;
  const part = state.parts.get(partID);
  // Text and reasoning deltas both say field "text": wait for the part's type.
  if (!part) return hold(state, "heldByPart", partID, event);
  // A closed part's text is final; a delta after it is a late duplicate.
  if ((part.kind !== "text" && part.kind !== "reasoning") || part.closed || part.discarded) return state;

  let seenDeltas = state.seenDeltas;
  if (seenDeltas.has(event.id)) return state;
  seenDeltas = seenDeltas.add(event.id);
  // After a gap the delta's place in the text is unknown: wait for the part's full text.
  const known = liveText(state, part);
  if (known === undefined) return revise(state, { seenDeltas });
  const live = known + delta;
  let shown = part.shown;
  // In step (the usual case, the same string): the delta is new text. Comparing the texts on every
  // delta would make a long part quadratic, so they are compared once, when the live text passes
  // what a snapshot showed.
  const inStep = part.shown === known;
  if (inStep || live.length > shown.length) {
    const fresh = inStep ? delta : live.startsWith(shown) ? live.slice(shown.length) : "";
    if (fresh && shows(state, part.sessionID)) emit(part, partID, fresh, sessionRef(state, part.sessionID), replies);
    // Diverged (never seen): the live stream is the server's order, so follow it from here.
    shown = live;
  }
  // The hot path: literals of known shape, not spreads (see `revise`).
  const next = copyState(state);
  next.seenDeltas = seenDeltas;
  next.parts = state.parts.set(partID, {
    sessionID: part.sessionID,
    messageID: part.messageID,
    kind: part.kind,
    shown,
    live,
    epoch: part.epoch,
    closed: part.closed,
    discarded: part.discarded,
    toolStatuses: part.toolStatuses,
    toolOutput: part.toolOutput,
  });
  return next;
}

function onBusy(state: TurnState, sessionID: string, replies: Reply[]): TurnState {
  const node = state.sessions.get(sessionID);
  if (!node || node.busy || node.parentID === undefined) return state;
  const next = revise(state, { sessions: new Map(state.sessions).set(sessionID, { ...node, busy: true }) });
  return node.announced ? next : announce(next, sessionID, replies);
}

/**
 * The server retries the provider: the failed attempt's open parts are abandoned (the retry writes
 * new ones and the old stay empty in storage), so their text is retracted and named in the reply.
 */
function onRetry(
  state: TurnState,
  sessionID: string,
  status: { attempt: number; message: string; next: number },
  replies: Reply[],
): TurnState {
  if (state.done || (sessionID === state.sessionID && status.attempt === state.retryAttempt)) return state;
  const discarded: DiscardedText[] = [];
  let parts = state.parts;
  if (sessionID === state.sessionID) {
    for (const partID of state.openText) {
      const part = state.parts.get(partID);
      if (!part || (part.kind !== "text" && part.kind !== "reasoning")) continue;
      parts = parts.set(partID, { ...part, discarded: true });
      if (part.shown) discarded.push({ messageID: part.messageID, partID, kind: part.kind, text: part.shown });
    }
  }
  if (shows(state, sessionID)) {
    replies.push({ kind: "retry", ...sessionRef(state, sessionID), attempt: status.attempt, message: status.message, next: status.next, discarded });
  }
  return revise(state, {
    parts,
    openText: sessionID === state.sessionID ? [] : state.openText,
    now: Math.max(state.now, status.next),
    retryAttempt: sessionID === state.sessionID ? status.attempt : state.retryAttempt,
  });
}

/**
 * An idle ends a started turn whose last answer is finished. Otherwise only the server's storage
 * can say more — a server that skipped the prompt, one that stopped mid-turn, a snapshot's instant
 * between storing the prompt and going busy — unless the stream says it first: servers before 1.14
 * send an abort's idle before its `MessageAbortedError`, and a late completion settles as well.
 */
function onIdle(state: TurnState, sessionID: string, replies: Reply[], source: "live" | "snapshot"): TurnState {
  if (sessionID !== state.sessionID) {
    const node = state.sessions.get(sessionID);
    if (!node || !node.busy || node.parentID === undefined) return state;
    if (!state.done) replies.push(subagentReply(node, sessionID, "idle"));
    return revise(state, { sessions: new Map(state.sessions).set(sessionID, { ...node, busy: false }) });
  }
  // An idle from before this turn's prompt was taken up (a stopped turn's trailing idle)... unless a
  // gap may have hidden the prompt: then only a snapshot can tell.
  if (!state.started) return state.gapOpen ? revise(state, { idleLive: true, needsSnapshot: true }) : state;
  if (state.done) return state.settled ? state : revise(state, { settled: true });
  if (source === "live" && !state.idleLive) state = revise(state, { idleLive: true });
  // Missing text after a gap, or no answer (a server that skipped the prompt, or one that stopped
  // mid-turn): only the stored messages can tell.
  return settle(state, replies);
}

/** Ends the turn with its final if the stream alone can: no gap to fill, no text missing, answered. */
function settle(state: TurnState, replies: Reply[]): TurnState {
  if (state.gapOpen || missingText(state) || unanswered(state)) return revise(state, { needsSnapshot: true });
  const stopped = stoppedAfterToolCalls(state);
  if (stopped) {
    replies.push({ kind: "error", sessionID: state.sessionID, error: stopped });
    return revise(state, { done: true, settled: true, needsSnapshot: false });
  }
  replies.push(finalReply(state));
  return revise(state, { done: true, settled: true, needsSnapshot: false });
}

function onSubagentError(state: TurnState, sessionID: string, error: RawProviderError, replies: Reply[]): TurnState {
  const node = state.sessions.get(sessionID);
  if (!node || node.parentID === undefined || state.done) return state;
  replies.push({ ...subagentReply(node, sessionID, "error"), error: classifyProviderError(error, { partialText: "", now: state.now }) });
  return state;
}

function onPermissionAsked(state: TurnState, request: PermissionRecord | EventOf<"permission.asked">["properties"], replies: Reply[]): TurnState {
  if (state.done || state.requests.has(request.id) || !state.sessions.has(request.sessionID)) return state;
  replies.push({
    kind: "permission",
    ...sessionRef(state, request.sessionID),
    id: request.id,
    permission: request.permission,
    patterns: request.patterns,
    always: request.always ?? [],
    metadata: (request.metadata ?? {}) as Record<string, unknown>,
    ...(request.tool ? { tool: { messageID: request.tool.messageID, callID: request.tool.callID } } : {}),
  });
  return revise(state, { requests: new Map(state.requests).set(request.id, "asked") });
}

/** The server's questions with its defaults filled in (single choice, typed answers allowed). */
export function questionItems(questions: readonly QuestionRecord["questions"][number][]): QuestionItem[] {
  return questions.map((q) => ({
    header: q.header,
    question: q.question,
    options: q.options.map((o) => ({ label: o.label, description: o.description })),
    multiple: q.multiple ?? false,
    custom: q.custom ?? true,
  }));
}

function onQuestionAsked(state: TurnState, request: QuestionRecord, replies: Reply[]): TurnState {
  if (state.done || state.requests.has(request.id) || !state.sessions.has(request.sessionID)) return state;
  const questions = questionItems(request.questions);
  replies.push({
    kind: "question",
    ...sessionRef(state, request.sessionID),
    id: request.id,
    questions,
    ...(request.tool ? { tool: { messageID: request.tool.messageID, callID: request.tool.callID } } : {}),
  });
  return revise(state, { requests: new Map(state.requests).set(request.id, "asked") });
}

function fail(state: TurnState, error: RawProviderError, partialText: string, replies: Reply[]): TurnState {
  replies.push({ kind: "error", sessionID: state.sessionID, error: classifyProviderError(error, { partialText, now: state.now }) });
  return revise(state, { done: true });
}

function finalReply(state: TurnState): FinalReply {
  const lastID = state.lastAssistantID;
  const last = lastID === undefined ? undefined : state.messages.get(lastID);
  const subagentUsage = { ...ZERO_USAGE };
  for (const message of state.messages.values()) {
    if (message.role === "assistant" && message.inTurn && message.sessionID !== state.sessionID) addUsage(subagentUsage, message.usage);
  }
  return {
    kind: "final",
    sessionID: state.sessionID,
    messageID: lastID,
    text: lastID === undefined ? "" : messageText(state, lastID),
    finish: last?.finish,
    usage: turnUsage(state),
    subagentUsage,
    ...(last?.answeredBy ?? {}),
    ...(last?.structured !== undefined ? { structured: last.structured } : {}),
  };
}

function usageTotal(usage: Usage): number {
  return usage.input + usage.output + usage.reasoning + usage.cacheRead + usage.cacheWrite + usage.cost;
}

/** Who answered an assistant message: the provider, model and agent the server stored on it. */
function answeredBy(info: MessageRecord): AnsweredBy | undefined {
  if (info.role !== "assistant") return undefined;
  // Servers before 1.14 name the agent only as `mode`.
  const agent = (info as { agent?: unknown }).agent ?? (info as { mode?: unknown }).mode;
  return {
    model: { providerID: info.providerID, modelID: info.modelID },
    ...(typeof agent === "string" ? { agent } : {}),
  };
}

/**
 * The root session's usage so far: summed over the turn's finished and running steps, with the
 * context the latest step used. `turn.usage` reads it live.
 */
export function turnUsage(state: TurnState): Usage {
  const usage = { ...ZERO_USAGE };
  // Every root step, a compaction's summary included.
  for (const message of state.messages.values()) {
    if (message.role === "assistant" && message.inTurn && message.sessionID === state.sessionID) addUsage(usage, message.usage);
  }
  const lastID = state.lastAssistantID;
  return { ...usage, contextUsed: lastID === undefined ? 0 : state.messages.get(lastID)!.contextUsed };
}

/**
 * A turn whose last step asked for tools and then went idle never answered: a rejected permission
 * (or question) stops the server's loop there. That is not an empty final.
 */
function stoppedAfterToolCalls(state: TurnState): StoppedAfterToolCallsError | undefined {
  const lastID = state.lastAssistantID;
  const last = lastID === undefined ? undefined : state.messages.get(lastID);
  // A compaction after it (another client's summarize) ended the run instead; a structured-output
  // answer is a tool call by design (its StructuredOutput call carries the value).
  if (last?.finish !== "tool-calls" || last.parentID !== state.userIDs.at(-1) || last.structured !== undefined) return undefined;
  return new StoppedAfterToolCallsError(
    "the agent stopped after calling tools without answering (a rejected permission or question ends the run there)",
    messageText(state, lastID!),
  );
}

/** Adds one step's usage to a running total. */
export function addUsage(total: Usage, usage: Usage): void {
  total.input += usage.input;
  total.output += usage.output;
  total.reasoning += usage.reasoning;
  total.cacheRead += usage.cacheRead;
  total.cacheWrite += usage.cacheWrite;
  total.cost += usage.cost;
}

/** Some root part still lacks text it missed in a gap. */
function missingText(state: TurnState): boolean {
  for (const partID of state.openText) {
    const part = state.parts.get(partID);
    if (part && liveText(state, part) === undefined) return true;
  }
  return false;
}

/** `openText` after a root part changed from `before` to `after`. */
function trackOpen(open: readonly string[], partID: string, before: PartState | undefined, after: PartState, rootID: string): readonly string[] {
  const isOpen = (part: PartState | undefined) =>
    part !== undefined && part.sessionID === rootID && (part.kind === "text" || part.kind === "reasoning") && !part.closed && !part.discarded;
  const was = isOpen(before);
  const is = isOpen(after);
  if (was === is) return open;
  return is ? [...open, partID] : open.filter((id) => id !== partID);
}

/** The turn has started but has no finished answer: no assistant message, or the last is unfinished. */
function unanswered(state: TurnState): boolean {
  const lastID = state.lastAssistantID;
  return lastID === undefined || !state.messages.get(lastID)?.completed;
}

/**
 * Whether an idle session leaves this turn without an end the stream can give: not taken up, no
 * assistant answer, or an unfinished last answer. What the server shows for a prompt it lost or
 * skipped, or for the instant between storing the prompt and going busy.
 */
export function unfinishedWhileIdle(state: TurnState): boolean {
  if (state.done) return false;
  return !state.started || unanswered(state);
}

/**
 * Makes `userMessageID` the turn's prompt while the turn has not started: servers before 1.14
 * store a shell command's user message under an id of their own.
 */
export function adoptPrompt(state: TurnState, userMessageID: string): TurnState {
  if (state.started) return state;
  return revise(state, { userMessageID, userIDs: [userMessageID] });
}

/** Text of the turn's last assistant message so far. */
export function lastAssistantText(state: TurnState): string {
  const lastID = state.lastAssistantID;
  return lastID === undefined ? "" : messageText(state, lastID);
}

/** Text of one assistant message: its text parts, in order (parts a retry discarded left out). */
export function messageText(state: TurnState, messageID: string): string {
  const message = state.messages.get(messageID);
  if (!message) return "";
  let text = "";
  for (const partID of message.partIDs) {
    const part = state.parts.get(partID);
    if (part?.kind === "text" && !part.discarded) text += part.shown;
  }
  return text;
}

/** Session ids the codec holds events for but cannot place in the tree (look them up, then snapshot). */
export function unplacedSessions(state: TurnState): string[] {
  const ids = new Set<string>(state.heldBySession.keys());
  for (const [child, parent] of state.parentOf) {
    ids.add(child);
    if (!state.sessions.has(parent)) ids.add(parent);
  }
  for (const id of state.sessions.keys()) ids.delete(id);
  return [...ids];
}

interface ReplyRef {
  sessionID: string;
  parentSessionID?: string;
}

function sessionRef(state: TurnState, sessionID: string): ReplyRef {
  const parentID = state.sessions.get(sessionID)?.parentID;
  return parentID === undefined ? { sessionID } : { sessionID, parentSessionID: parentID };
}

/** Whether a session's text and tools are reported (the root's always; sub-agents' with "all"). */
function shows(state: TurnState, sessionID: string): boolean {
  return sessionID === state.sessionID || state.subagents === "all";
}

function rootNode(): SessionNode {
  return { parentID: undefined, agent: undefined, description: undefined, callID: undefined, announced: true, busy: false };
}

function hold(state: TurnState, bucket: "heldByMessage" | "heldByPart" | "heldBySession", key: string, event: ConsumedEvent): TurnState {
  if (state.done || state.heldCount >= MAX_HELD) return state;
  const held = new Map(state[bucket]);
  held.set(key, [...(held.get(key) ?? []), event]);
  return revise(state, { [bucket]: held, heldCount: state.heldCount + 1 });
}

/** Replays the events held under `key` now that what they waited for is known. */
function release(state: TurnState, bucket: "heldByMessage" | "heldBySession", key: string, replies: Reply[]): TurnState {
  const held = state[bucket].get(key);
  if (!held) return state;
  const map = new Map(state[bucket]);
  map.delete(key);
  let next: TurnState = revise(state, { [bucket]: map, heldCount: state.heldCount - held.length });
  for (const event of held) next = step(next, event, replies);
  return next;
}

function partKind(type: string): PartKind {
  return type === "text" || type === "reasoning" || type === "tool" ? type : "other";
}

/**
 * The delta event ids a turn has seen, so a duplicated delta is never emitted twice. States are
 * immutable, but copying a set on every delta would make a turn quadratic; instead all states of
 * one lineage share an append-only Map and each state sees only the ids added before it (`size`).
 * A state that branches from an older one copies its visible prefix first, so no state ever sees
 * an id added by another branch.
 */
export class SeenDeltas {
  readonly #log: Map<string, number>;
  readonly #size: number;

  private constructor(log: Map<string, number>, size: number) {
    this.#log = log;
    this.#size = size;
  }

  static empty(): SeenDeltas {
    return new SeenDeltas(new Map(), 0);
  }

  has(id: string | undefined): boolean {
    if (id === undefined) return false;
    const index = this.#log.get(id);
    return index !== undefined && index < this.#size;
  }

  add(id: string | undefined): SeenDeltas {
    if (id === undefined) return this;
    let log = this.#log;
    if (log.size !== this.#size) {
      log = new Map();
      for (const [key, index] of this.#log) if (index < this.#size) log.set(key, index);
    }
    log.set(id, this.#size);
    return new SeenDeltas(log, this.#size + 1);
  }
}
