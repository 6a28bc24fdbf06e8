// The pure turn codec: `mapEvent(state, event)` turns the server's raw events into Replies for one
// turn (one user message and the assistant messages answering it). No I/O, no clock, inputs never
// mutated, never throws: garbage, nulls and unknown event types give no replies.

import type { components } from "../../generated/opencode.js";
import { classifyProviderError, type RawProviderError } from "./errors.js";
import type { FinalReply, Reply, Usage } from "./replies.js";

export type Event = components["schemas"]["Event"];
type MessageRecord = components["schemas"]["Message"];
type PartRecord = components["schemas"]["Part"];

type PartKind = "text" | "reasoning" | "tool" | "other";

interface PartState {
  readonly messageID: string;
  readonly kind: PartKind;
  /** Text emitted so far (text and reasoning parts); the server's stored text once it closes. */
  readonly text: string;
  /** The server sent the part's final text (`time.end`). */
  readonly closed: boolean;
  /**
   * After a stream gap: the part's deltas are dropped until the server's full text is known again,
   * since a missed delta cannot be placed; its next live update or a final snapshot fills the text.
   */
  readonly stale: boolean;
  /** Tool statuses already reported, so each is reported once. */
  readonly toolStatuses: readonly string[];
}

interface MessageState {
  readonly role: "user" | "assistant";
  /** An assistant message answering this turn's user message (`parentID === userMessageID`). */
  readonly inTurn: boolean;
  readonly partIDs: readonly string[];
  readonly finish: string | undefined;
  /** The server finished this message (`time.completed`, a finish reason, or an error). */
  readonly completed: boolean;
  readonly usage: Usage;
  readonly structured: unknown;
}

export interface TurnState {
  readonly sessionID: string;
  readonly userMessageID: string;
  /** Latest server timestamp seen (epoch ms); "now" for errors, never read from a clock. */
  readonly now: number;
  /** This turn's user message or one of its assistant messages was seen: an idle now ends it. */
  readonly started: boolean;
  /** The terminal reply (final or error) was emitted. */
  readonly done: boolean;
  /** The session went idle after the turn started: later events cannot belong to this turn. */
  readonly settled: boolean;
  /**
   * The session went idle while a part was still stale after a gap: the final waits for
   * `applySnapshot` with the stored (now final) messages, instead of guessing the missing text.
   */
  readonly needsSnapshot: boolean;
  readonly messages: ReadonlyMap<string, MessageState>;
  /** The turn's assistant messages, in the order they appeared. */
  readonly assistantIDs: readonly string[];
  readonly parts: ReadonlyMap<string, PartState>;
  /** Events for a message whose role and parent are not known yet. */
  readonly heldByMessage: ReadonlyMap<string, readonly unknown[]>;
  /** Deltas for a part whose type is not known yet (text and reasoning deltas look alike). */
  readonly heldByPart: ReadonlyMap<string, readonly unknown[]>;
  readonly heldCount: number;
  readonly permissionIDs: readonly string[];
  /** The last provider retry reported, so a repeated status event is not reported twice. */
  readonly retryAttempt: number;
  readonly seenDeltas: SeenDeltas;
}

export interface MapResult {
  state: TurnState;
  replies: Reply[];
}

/** What `GET /session/:id/message` and `GET /session/status` said after a gap in the stream. */
export interface TurnSnapshot {
  messages: readonly { info: MessageRecord; parts: readonly PartRecord[] }[];
  /** The session's status now; "idle" ends a started turn. */
  status: "idle" | "busy" | "retry";
}

/** Events held while their message or part is unknown; past this, new ones are dropped. */
const MAX_HELD = 10_000;

const ZERO_USAGE: Usage = { input: 0, output: 0, reasoning: 0, cacheRead: 0, cacheWrite: 0, cost: 0 };

export function initialTurnState(init: { sessionID: string; userMessageID: string; now?: number }): TurnState {
  return {
    sessionID: init.sessionID,
    userMessageID: init.userMessageID,
    now: init.now ?? 0,
    started: false,
    done: false,
    settled: false,
    needsSnapshot: false,
    messages: new Map(),
    assistantIDs: [],
    parts: new Map(),
    heldByMessage: new Map(),
    heldByPart: new Map(),
    heldCount: 0,
    permissionIDs: [],
    retryAttempt: -1,
    seenDeltas: SeenDeltas.empty(),
  };
}

/** Maps one server event to this turn's replies. Same inputs, same outputs; never throws. */
export function mapEvent(state: TurnState, event: unknown): MapResult {
  const replies: Reply[] = [];
  try {
    return { state: step(state, event, replies), replies };
  } catch {
    // Defensive: a shape no check anticipated must not break the turn.
    return { state, replies: [] };
  }
}

/**
 * Marks a gap in the event stream (a reconnect): parts that were streaming stop emitting deltas
 * until the server's full text is known again (the part's next live update, or a snapshot where
 * it is final), so missed deltas are filled from the server's text, never skipped or repeated.
 */
export function markGap(state: TurnState): TurnState {
  if (state.done) return state;
  const parts = new Map(state.parts);
  for (const [id, part] of parts) {
    if ((part.kind === "text" || part.kind === "reasoning") && !part.closed && !part.stale) {
      parts.set(id, { ...part, stale: true });
    }
  }
  return { ...state, parts };
}

/**
 * Catches the turn up from the server's stored messages after a gap: emits the text of parts
 * that finished meanwhile, tool results, errors and, when the session is idle, the final reply.
 *
 * A part still streaming stays stale: its stored text is shown (it is a prefix of the final
 * text), but the snapshot is read over another channel than the event stream, so live deltas
 * still in flight may or may not be in it, and no overlap guess can tell "already stored" from
 * "new text that repeats the stored tail". The part's next live update (which includes every
 * delta before it) settles it exactly; until then the Turn re-reads snapshots.
 */
export function applySnapshot(state: TurnState, snapshot: TurnSnapshot): MapResult {
  const replies: Reply[] = [];
  try {
    const final = snapshot.status === "idle";
    let next: TurnState = { ...state, needsSnapshot: false };
    for (const message of snapshot.messages ?? []) {
      const info = asRecord(message?.info);
      if (!info || info["sessionID"] !== state.sessionID) continue;
      next = onMessage(next, info, replies);
      for (const part of message.parts ?? []) {
        const record = asRecord(part);
        if (record) next = onPart(next, record, replies, final ? "final" : "snapshot");
      }
    }
    // Idle, yet the stored turn has no end: either the server stopped mid-turn (restart, crash) or
    // this is the moment between storing the prompt and going busy. One snapshot cannot tell them
    // apart, so no final here; the Turn re-reads and decides (`unfinishedWhileIdle`).
    if (final && unfinishedWhileIdle(next)) return { state: next, replies };
    if (final) next = onIdle(next, replies);
    return { state: next, replies };
  } catch {
    return { state, replies: [] };
  }
}

function step(state: TurnState, event: unknown, replies: Reply[]): TurnState {
  if (state.done && state.settled) return state;
  const record = asRecord(event);
  const props = asRecord(record?.["properties"]);
  if (!record || !props) return state;
  const type = record["type"];

  switch (type) {
    case "message.updated": {
      const info = asRecord(props["info"]);
      if (!info || info["sessionID"] !== state.sessionID) return state;
      return onMessage(state, info, replies);
    }
    case "message.part.updated": {
      const part = asRecord(props["part"]);
      if (!part || (props["sessionID"] ?? part["sessionID"]) !== state.sessionID) return state;
      const time = props["time"];
      const timed = typeof time === "number" && time > state.now ? { ...state, now: time } : state;
      return onPart(timed, part, replies, "live");
    }
    case "message.part.delta":
      if (props["sessionID"] !== state.sessionID) return state;
      return onDelta(state, record, props, replies);
    case "session.status": {
      if (props["sessionID"] !== state.sessionID) return state;
      const status = asRecord(props["status"]);
      if (status?.["type"] === "idle") return onIdle(state, replies);
      const attempt = numberOr(status?.["attempt"], 0);
      if (status?.["type"] === "retry" && !state.done && attempt !== state.retryAttempt) {
        replies.push({
          kind: "retry",
          sessionID: state.sessionID,
          attempt,
          message: stringOr(status["message"], ""),
          next: numberOr(status["next"], 0),
          discarded: [],
        });
        return { ...state, retryAttempt: attempt };
      }
      return state;
    }
    case "session.idle":
      return props["sessionID"] === state.sessionID ? onIdle(state, replies) : state;
    case "session.error": {
      if (props["sessionID"] !== state.sessionID || state.done) return state;
      const error = asRecord(props["error"]);
      return error ? fail(state, error, lastAssistantText(state), replies) : state;
    }
    case "permission.asked": {
      if (props["sessionID"] !== state.sessionID || state.done) return state;
      const id = props["id"];
      if (typeof id !== "string" || state.permissionIDs.includes(id)) return state;
      const tool = asRecord(props["tool"]);
      replies.push({
        kind: "permission",
        sessionID: state.sessionID,
        id,
        permission: stringOr(props["permission"], "unknown"),
        patterns: stringArray(props["patterns"]),
        always: stringArray(props["always"]),
        metadata: asRecord(props["metadata"]) ?? {},
        ...(tool && typeof tool["messageID"] === "string" && typeof tool["callID"] === "string"
          ? { tool: { messageID: tool["messageID"], callID: tool["callID"] } }
          : {}),
      });
      return { ...state, permissionIDs: [...state.permissionIDs, id] };
    }
    default:
      return state;
  }
}

function onMessage(state: TurnState, info: Record<string, unknown>, replies: Reply[]): TurnState {
  const id = info["id"];
  const role = info["role"];
  if (typeof id !== "string" || (role !== "user" && role !== "assistant")) return state;
  const previous = state.messages.get(id);
  const inTurn = role === "assistant" && info["parentID"] === state.userMessageID;
  const tokens = asRecord(info["tokens"]);
  const cache = asRecord(tokens?.["cache"]);
  const time = asRecord(info["time"]);
  const message: MessageState = {
    role,
    inTurn,
    partIDs: previous?.partIDs ?? [],
    finish: typeof info["finish"] === "string" ? info["finish"] : previous?.finish,
    completed:
      (previous?.completed ?? false) ||
      typeof time?.["completed"] === "number" ||
      typeof info["finish"] === "string" ||
      info["error"] !== undefined,
    usage: {
      input: numberOr(tokens?.["input"], 0),
      output: numberOr(tokens?.["output"], 0),
      reasoning: numberOr(tokens?.["reasoning"], 0),
      cacheRead: numberOr(cache?.["read"], 0),
      cacheWrite: numberOr(cache?.["write"], 0),
      cost: numberOr(info["cost"], 0),
    },
    structured: info["structured"] ?? previous?.structured,
  };
  const latest = Math.max(state.now, numberOr(time?.["completed"], 0), numberOr(time?.["created"], 0));
  let next: TurnState = {
    ...state,
    now: latest,
    messages: new Map(state.messages).set(id, message),
    started: state.started || id === state.userMessageID || inTurn,
    assistantIDs: inTurn && !previous ? [...state.assistantIDs, id] : state.assistantIDs,
  };

  // Events that waited for this message: replay them now that its role and parent are known.
  const held = next.heldByMessage.get(id);
  if (held) {
    const heldByMessage = new Map(next.heldByMessage);
    heldByMessage.delete(id);
    next = { ...next, heldByMessage, heldCount: next.heldCount - held.length };
    for (const event of held) next = step(next, event, replies);
  }

  const error = asRecord(info["error"]);
  if (inTurn && error && !next.done) next = fail(next, error, messageText(next, id), replies);
  return next;
}

/**
 * How far a part record can be trusted: a live update includes every delta sent before it on the
 * same ordered stream; a snapshot only where the part is closed; a snapshot of an idle session fully.
 */
type PartSource = "live" | "snapshot" | "final";

function onPart(state: TurnState, part: Record<string, unknown>, replies: Reply[], source: PartSource): TurnState {
  const id = part["id"];
  const messageID = part["messageID"];
  if (typeof id !== "string" || typeof messageID !== "string") return state;
  const message = state.messages.get(messageID);
  if (!message) return hold(state, "heldByMessage", messageID, { type: "message.part.updated", properties: { part } });
  // The user's own prompt arrives as a text part too: never echo it.
  if (!message.inTurn || state.done) return state;

  const kind = partKind(part["type"]);
  const previous = state.parts.get(id);
  let current: PartState = previous ?? {
    messageID,
    kind,
    text: "",
    closed: false,
    stale: false,
    toolStatuses: [],
  };
  let next = state;
  if (!previous) {
    const messages = new Map(state.messages).set(messageID, { ...message, partIDs: [...message.partIDs, id] });
    next = { ...state, messages };
  }

  if (kind === "text" || kind === "reasoning") {
    const text = typeof part["text"] === "string" ? part["text"] : "";
    const time = asRecord(part["time"]);
    const closing = time !== undefined && typeof time["end"] === "number";
    if (source === "live" || closing || source === "final") {
      current = catchUp(current, id, text, next.sessionID, replies);
      if (closing || source === "final") current = { ...current, closed: true };
    } else if (!previous || current.stale) {
      // Still streaming after a gap. Its stored text is a prefix of the final text, so showing it
      // is safe; live deltas stay dropped until the next live update settles the part exactly.
      if (text.startsWith(current.text) && text.length > current.text.length) {
        emit(current, id, text.slice(current.text.length), next.sessionID, replies);
        current = { ...current, text };
      }
      current = { ...current, stale: true };
    }
  } else if (kind === "tool") {
    current = onToolPart(current, id, part, next.sessionID, replies);
  }
  next = { ...next, parts: new Map(next.parts).set(id, current) };

  // Deltas that arrived before this part's type was known. A live update includes every delta
  // sent before it, so they are new text only after an empty (start) update; otherwise the
  // update's text already holds them.
  const held = next.heldByPart.get(id);
  if (held) {
    const heldByPart = new Map(next.heldByPart);
    heldByPart.delete(id);
    next = { ...next, heldByPart, heldCount: next.heldCount - held.length };
    if (source === "live" && part["text"] === "") for (const event of held) next = step(next, event, replies);
  }
  return next;
}

/**
 * Brings a text/reasoning part up to the server's `text`, emitting only what was not emitted yet
 * (the text includes every delta dropped while the part was stale).
 */
function catchUp(part: PartState, partID: string, text: string, sessionID: string, replies: Reply[]): PartState {
  let emitted = part.text;
  if (text.startsWith(emitted)) {
    emit(part, partID, text.slice(emitted.length), sessionID, replies);
    emitted = text;
  } else if (!emitted.startsWith(text)) {
    // The server's text diverged from what streamed (it never should): trust the server from now on.
    emitted = text;
  }
  return { ...part, text: emitted, stale: false };
}

function emit(part: PartState, partID: string, text: string, sessionID: string, replies: Reply[]): void {
  if (!text) return;
  replies.push({
    kind: part.kind === "reasoning" ? "reasoning" : "delta",
    sessionID,
    messageID: part.messageID,
    partID,
    text,
  });
}

function onToolPart(
  part: PartState,
  partID: string,
  record: Record<string, unknown>,
  sessionID: string,
  replies: Reply[],
): PartState {
  const state = asRecord(record["state"]);
  const status = state?.["status"];
  if (!state || typeof status !== "string" || part.toolStatuses.includes(status)) return part;
  const finished = part.toolStatuses.includes("completed") || part.toolStatuses.includes("error");
  if (finished) return part;
  const base = {
    sessionID,
    messageID: part.messageID,
    partID,
    callID: stringOr(record["callID"], partID),
    tool: stringOr(record["tool"], "unknown"),
    input: asRecord(state["input"]) ?? {},
    ...(typeof state["title"] === "string" ? { title: state["title"] } : {}),
  };
  if (status === "pending" || status === "running") {
    replies.push({ kind: "tool_call", ...base, status });
  } else if (status === "completed" || status === "error") {
    replies.push({
      kind: "tool_result",
      ...base,
      status,
      metadata: asRecord(state["metadata"]) ?? {},
      ...(typeof state["output"] === "string" ? { output: state["output"] } : {}),
      ...(typeof state["error"] === "string" ? { error: state["error"] } : {}),
    });
  } else {
    return part;
  }
  return { ...part, toolStatuses: [...part.toolStatuses, status] };
}

function onDelta(state: TurnState, event: Record<string, unknown>, props: Record<string, unknown>, replies: Reply[]): TurnState {
  const messageID = props["messageID"];
  const partID = props["partID"];
  const delta = props["delta"];
  if (typeof messageID !== "string" || typeof partID !== "string" || typeof delta !== "string") return state;
  if (props["field"] !== "text") return state;
  const message = state.messages.get(messageID);
  if (!message) return hold(state, "heldByMessage", messageID, event);
  if (!message.inTurn || state.done) return state;
  const part = state.parts.get(partID);
  // Text and reasoning deltas both say field "text": wait for the part's type.
  if (!part) return hold(state, "heldByPart", partID, event);
  // A closed part's text is final; a delta after it is a late duplicate.
  if ((part.kind !== "text" && part.kind !== "reasoning") || part.closed) return state;

  const eventID = event["id"];
  let seenDeltas = state.seenDeltas;
  if (typeof eventID === "string") {
    if (seenDeltas.has(eventID)) return state;
    seenDeltas = seenDeltas.add(eventID);
  }
  if (part.stale) return { ...state, seenDeltas };
  emit(part, partID, delta, state.sessionID, replies);
  return { ...state, seenDeltas, parts: new Map(state.parts).set(partID, { ...part, text: part.text + delta }) };
}

function onIdle(state: TurnState, replies: Reply[]): TurnState {
  if (!state.started) return state; // an idle from before this turn's prompt was taken up
  if (state.done) return state.settled ? state : { ...state, settled: true };
  for (const part of state.parts.values()) {
    if (part.stale) return { ...state, needsSnapshot: true };
  }
  replies.push(finalReply(state));
  return { ...state, done: true, settled: true, needsSnapshot: false };
}

function fail(state: TurnState, error: RawProviderError, partialText: string, replies: Reply[]): TurnState {
  replies.push({
    kind: "error",
    sessionID: state.sessionID,
    error: classifyProviderError(error, { partialText, now: state.now }),
  });
  return { ...state, done: true };
}

function finalReply(state: TurnState): FinalReply {
  const lastID = state.assistantIDs[state.assistantIDs.length - 1];
  const last = lastID === undefined ? undefined : state.messages.get(lastID);
  const usage = { ...ZERO_USAGE };
  for (const id of state.assistantIDs) {
    const message = state.messages.get(id);
    if (!message) continue;
    usage.input += message.usage.input;
    usage.output += message.usage.output;
    usage.reasoning += message.usage.reasoning;
    usage.cacheRead += message.usage.cacheRead;
    usage.cacheWrite += message.usage.cacheWrite;
    usage.cost += message.usage.cost;
  }
  return {
    kind: "final",
    sessionID: state.sessionID,
    messageID: lastID,
    text: lastID === undefined ? "" : messageText(state, lastID),
    finish: last?.finish,
    usage,
    subagentUsage: { ...ZERO_USAGE },
    ...(last?.structured !== undefined ? { structured: last.structured } : {}),
  };
}

/**
 * Whether the turn has started but its last assistant message (if any) is not finished: what an
 * idle session shows for a turn the server lost, or for an instant before the turn gets going.
 */
export function unfinishedWhileIdle(state: TurnState): boolean {
  if (!state.started || state.done) return false;
  const lastID = state.assistantIDs[state.assistantIDs.length - 1];
  return lastID === undefined || !state.messages.get(lastID)?.completed;
}

/** Text of the turn's last assistant message so far. */
export function lastAssistantText(state: TurnState): string {
  const lastID = state.assistantIDs[state.assistantIDs.length - 1];
  return lastID === undefined ? "" : messageText(state, lastID);
}

/** Whether some part is waiting, after a gap, for the server's text (the Turn then re-reads snapshots). */
export function isCatchingUp(state: TurnState): boolean {
  if (state.done) return false;
  for (const part of state.parts.values()) if (part.stale) return true;
  return false;
}

/** Text of one assistant message: its text parts, in order. */
export function messageText(state: TurnState, messageID: string): string {
  const message = state.messages.get(messageID);
  if (!message) return "";
  let text = "";
  for (const partID of message.partIDs) {
    const part = state.parts.get(partID);
    if (part?.kind === "text") text += part.text;
  }
  return text;
}

function hold(state: TurnState, bucket: "heldByMessage" | "heldByPart", key: string, event: unknown): TurnState {
  if (state.done || state.heldCount >= MAX_HELD) return state;
  const held = new Map(state[bucket]);
  held.set(key, [...(held.get(key) ?? []), event]);
  return { ...state, [bucket]: held, heldCount: state.heldCount + 1 };
}

function partKind(type: unknown): PartKind {
  return type === "text" || type === "reasoning" || type === "tool" ? type : "other";
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function stringOr(value: unknown, fallback: string): string {
  return typeof value === "string" && value !== "" ? value : fallback;
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === "number" && Number.isFinite(value) ? value : fallback;
}

function stringArray(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : [];
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

  has(id: string): boolean {
    const index = this.#log.get(id);
    return index !== undefined && index < this.#size;
  }

  add(id: string): SeenDeltas {
    let log = this.#log;
    if (log.size !== this.#size) {
      log = new Map();
      for (const [key, index] of this.#log) if (index < this.#size) log.set(key, index);
    }
    log.set(id, this.#size);
    return new SeenDeltas(log, this.#size + 1);
  }
}
