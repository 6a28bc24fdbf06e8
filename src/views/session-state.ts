// The pure reducer of a session view: `reduceSession(state, event)` folds the live stream of one
// session (any turn, any client) and its sub-agent sessions into immutable state, and
// `mergeHistory` folds in what plain requests read (a history page, a re-read after a gap). No I/O,
// no clock. It follows the turn codec's rules: deltas are appended only to a part whose type is
// known and whose text is in step with the stream; a part's full record (live, or stored once
// closed) replaces what deltas built; roles and order come from the stored records.

import type { components } from "../../generated/opencode.js";
import { consumedEventProblem, envelopeProblem } from "../events/schemas.js";
import type { Event } from "../events/types.js";
import type { StoredMessage } from "../session/session.js";
import { PersistentMap } from "../turn/persistent-map.js";
import type { Usage } from "../turn/replies.js";
import { OrderedList } from "./ordered-list.js";

type SessionInfo = components["schemas"]["Session"];
type MessageInfo = components["schemas"]["Message"];
type Part = components["schemas"]["Part"];
export type SessionStatus = components["schemas"]["SessionStatus"];
export type Todo = components["schemas"]["Todo"];
type PermissionRecord = components["schemas"]["PermissionRequest"];
type QuestionRecord = components["schemas"]["QuestionRequest"];

/** An open permission or question request of the session or one of its sub-agent sessions (`sessionID` says which). */
export type PendingRequest = ({ kind: "permission" } & PermissionRecord) | ({ kind: "question" } & QuestionRecord);

/** Tokens and cost summed over the loaded assistant messages, and how full the model's context window is. */
export interface ViewUsage extends Usage {
  /** The latest assistant message's tokens (what the model saw, plus its answer) vs its model's window. */
  context: { used: number; limit: number | undefined; model: string | undefined };
}

export interface SessionViewState {
  readonly sessionID: string;
  readonly info: SessionInfo | undefined;
  readonly status: SessionStatus;
  readonly messages: OrderedList<StoredMessage>;
  /** The root and every sub-agent session known to run under it. */
  readonly tree: ReadonlySet<string>;
  readonly pending: ReadonlyMap<string, PendingRequest>;
  readonly todos: readonly Todo[];
  readonly usage: Usage;
  /** `"provider/model"` → context window, from `GET /provider`. */
  readonly limits: ReadonlyMap<string, number>;
  readonly hasOlder: boolean;
  /** Tool parts left pending or running by a run that ended (restart, disposal, abort): they never finish. */
  readonly interrupted: ReadonlySet<string>;
  /**
   * Text parts whose place in the delta stream is unknown (still streaming when read from storage,
   * or streaming across a gap): deltas are not applied until a full record of the part arrives.
   */
  readonly unsynced: ReadonlySet<string>;
  /** Deltas for a part whose record (and so its type and text) has not arrived yet. */
  readonly heldDeltas: ReadonlyMap<string, readonly DeltaEvent[]>;
  readonly heldCount: number;
  /**
   * The last delta applied to each part of the running turn. Event ids ascend, so a delta at or
   * before it is a repeat; emptied when the session goes idle, so a long-lived view keeps none for
   * finished turns. Persistent: a delta costs the same however many parts the turn has.
   */
  readonly lastDelta: PersistentMap<string>;
  /** The newest delta's part and id, kept out of `lastDelta` until another part streams: most deltas extend the same part. */
  readonly recentDelta: { readonly partID: string; readonly id: string } | undefined;
  /**
   * The session went idle with text parts the stream never closed (an abort on servers before 1.14,
   * a restart): only storage can say what they hold now. The view re-reads.
   */
  readonly stale: boolean;
}

type DeltaEvent = Extract<Event, { type: "message.part.delta" }>;

const ZERO: Usage = { input: 0, output: 0, reasoning: 0, cacheRead: 0, cacheWrite: 0, cost: 0 };
const IDLE: SessionStatus = { type: "idle" };
const MAX_HELD = 10_000;

const messageID = (message: StoredMessage): string => message.info.id;

export function initialSessionState(sessionID: string): SessionViewState {
  return {
    sessionID,
    info: undefined,
    status: IDLE,
    messages: OrderedList.empty(messageID),
    tree: new Set([sessionID]),
    pending: new Map(),
    todos: [],
    usage: ZERO,
    limits: new Map(),
    hasOlder: false,
    interrupted: new Set(),
    unsynced: new Set(),
    heldDeltas: new Map(),
    heldCount: 0,
    lastDelta: PersistentMap.empty(),
    recentDelta: undefined,
    stale: false,
  };
}

/**
 * Folds one event (or the `client.gap` marker) into the state; the same state object when nothing
 * the view shows changed. Malformed events and events of other sessions change nothing.
 */
export function reduceSession(state: SessionViewState, event: Event | { type: "client.gap" }): SessionViewState {
  if (event.type === "client.gap") return markGap(state);
  if (envelopeProblem(event) !== undefined || consumedEventProblem(event) !== undefined) return state;
  switch (event.type) {
    case "message.updated":
      return onMessage(state, event.properties.info);
    case "message.part.updated":
      return onPart(state, event.properties.part);
    case "message.part.delta":
      return onDelta(state, event);
    case "message.removed":
      return event.properties.sessionID === state.sessionID ? removeMessage(state, event.properties.messageID) : state;
    case "message.part.removed":
      return event.properties.sessionID === state.sessionID ? removePart(state, event.properties.messageID, event.properties.partID) : state;
    case "session.created":
    case "session.updated": {
      const info = event.properties.info;
      if (info.id === state.sessionID) return { ...state, info };
      return info.parentID !== undefined && state.tree.has(info.parentID) ? adopt(state, info.id) : state;
    }
    case "session.status":
      return event.properties.sessionID === state.sessionID ? setStatus(state, event.properties.status) : state;
    case "session.idle":
      return event.properties.sessionID === state.sessionID ? setStatus(state, IDLE) : state;
    case "todo.updated":
      return event.properties.sessionID === state.sessionID && Array.isArray(event.properties.todos) ? { ...state, todos: event.properties.todos } : state;
    default: {
      const change = requestChange(event);
      if (change === undefined) return state;
      return change.asked ? ask(state, change.asked) : answered(state, change.answered);
    }
  }
}

/**
 * A request opened or answered. Every server in the supported range (1.2 to 1.18) sends
 * `permission.asked` / `permission.replied {requestID}`, as the turn codec reads them; the 1.0-era
 * `permission.updated` never reaches a client of this SDK.
 */
export function requestChange(event: Event): { asked: PendingRequest; answered?: never } | { answered: string; asked?: never } | undefined {
  switch (event.type) {
    case "permission.asked":
      return { asked: { kind: "permission", ...event.properties } };
    case "question.asked":
      return { asked: { kind: "question", ...event.properties } };
    case "permission.replied":
    case "question.replied":
    case "question.rejected":
      return { answered: event.properties.requestID };
    default:
      return undefined;
  }
}

/** Records requests, statuses and sub-sessions read over plain requests (at open and after a gap). */
export interface SessionSync {
  info?: SessionInfo;
  status?: SessionStatus;
  /** The newest stored messages, oldest first; every loaded message newer than the first is in it. */
  messages?: readonly StoredMessage[];
  hasOlder?: boolean;
  /** Sub-sessions of the tree (at any depth). */
  children?: readonly string[];
  /** Every open request the server lists (any session; those of the tree are kept). */
  permissions?: readonly PermissionRecord[];
  questions?: readonly QuestionRecord[];
  todos?: readonly Todo[];
  limits?: ReadonlyMap<string, number>;
}

/**
 * Folds a re-read into the state. Loaded messages at or after the re-read window's first one that
 * the server no longer has were removed meanwhile; each part keeps whichever of the stored and the
 * live record is further along (see `newerPart`). Requests listed replace the pending set.
 */
export function mergeHistory(state: SessionViewState, sync: SessionSync): SessionViewState {
  let next = state;
  if (sync.info) next = { ...next, info: sync.info };
  if (sync.limits) next = { ...next, limits: sync.limits };
  if (sync.children) for (const child of sync.children) next = adopt(next, child);
  if (sync.messages) {
    const from = sync.messages[0]?.info.id;
    const stored = new Set(sync.messages.map(messageID));
    let messages = next.messages;
    // Removed on the server during the gap.
    if (from !== undefined) {
      for (const message of next.messages.toArray()) {
        if (message.info.id >= from && !stored.has(message.info.id)) messages = messages.remove(message.info.id);
      }
    } else {
      messages = OrderedList.empty(messageID);
    }
    next = { ...next, messages, usage: sumUsage(messages), stale: false };
    // Nothing streams in an idle session: what it stored is the whole truth.
    const idle = sync.status?.type === "idle";
    for (const message of sync.messages) next = mergeMessage(next, message, idle);
    if (sync.hasOlder !== undefined && (from === undefined || from <= (state.messages.first()?.info.id ?? from))) next = { ...next, hasOlder: sync.hasOlder };
  }
  if (sync.permissions || sync.questions) {
    const pending = new Map<string, PendingRequest>();
    for (const request of next.pending.values()) {
      if ((request.kind === "permission" && !sync.permissions) || (request.kind === "question" && !sync.questions)) pending.set(request.id, request);
    }
    for (const p of sync.permissions ?? []) if (next.tree.has(p.sessionID)) pending.set(p.id, { kind: "permission", ...p });
    for (const q of sync.questions ?? []) if (next.tree.has(q.sessionID)) pending.set(q.id, { kind: "question", ...q });
    next = { ...next, pending };
  }
  if (sync.todos) next = { ...next, todos: sync.todos };
  if (sync.status) next = setStatus(next, sync.status);
  return next;
}

/**
 * Older messages paged in before the loaded ones. Costs the page, not what is loaded: messages
 * older than every loaded one (the whole page, as the server pages) go in as one block.
 */
export function prependHistory(state: SessionViewState, older: readonly StoredMessage[], hasOlder: boolean): SessionViewState {
  const first = state.messages.first()?.info.id;
  const before: StoredMessage[] = [];
  const among: StoredMessage[] = [];
  for (const message of older) {
    const id = message.info.id;
    if ((first === undefined || id < first) && (before.length === 0 || before[before.length - 1]!.info.id < id)) before.push(message);
    else among.push(message);
  }
  let usage = state.usage;
  let unsynced: Set<string> | undefined;
  for (const message of before) {
    usage = addUsage(usage, usageOf(message.info), 1);
    for (const part of message.parts) if (storedMidStream(message, part) && !state.unsynced.has(part.id)) (unsynced ??= new Set(state.unsynced)).add(part.id);
  }
  let next: SessionViewState = { ...state, hasOlder, usage, unsynced: unsynced ?? state.unsynced, messages: state.messages.prepend(before) };
  for (const message of among) if (!next.messages.get(message.info.id)) next = mergeMessage(next, message, false);
  return next.status.type === "idle" ? findInterrupted(next, older) : next;
}

/** An assistant's text stored before it closed: its text lags the deltas already sent. */
function storedMidStream(message: StoredMessage, part: Part): part is Extract<Part, { type: "text" | "reasoning" }> {
  return message.info.role === "assistant" && isText(part) && part.time?.end === undefined;
}

function mergeMessage(state: SessionViewState, stored: StoredMessage, idle: boolean): SessionViewState {
  const current = state.messages.get(stored.info.id);
  let unsynced = state.unsynced;
  const parts: Part[] = [];
  for (const part of stored.parts) {
    const live = current?.parts.find((p) => p.id === part.id);
    const kept = live === undefined || idle ? part : newerPart(live, part);
    // Stored mid-stream, its text lags the deltas already sent: wait for the part's full record.
    if (!idle && kept === part && storedMidStream(stored, part) && !state.unsynced.has(part.id) && !(live !== undefined && isText(live) && live.text === part.text)) {
      unsynced = new Set(unsynced).add(part.id);
    } else if (idle && unsynced.has(part.id)) {
      const rest = new Set(unsynced);
      rest.delete(part.id);
      unsynced = rest;
    }
    parts.push(kept);
  }
  const info = current !== undefined && !idle && newerInfo(current.info, stored.info) === current.info ? current.info : stored.info;
  const next = { ...state, unsynced };
  return putMessage(next, { info, parts }, current);
}

/** Whichever record of a part is further along: a closed text beats a streaming one, a finished tool a running one. */
function newerPart(live: Part, stored: Part): Part {
  if (isText(live) && isText(stored)) {
    if (stored.time?.end !== undefined) return stored;
    if (live.time?.end !== undefined || live.text.startsWith(stored.text)) return live;
    return stored;
  }
  if (live.type === "tool" && stored.type === "tool") return toolRank(live.state.status) > toolRank(stored.state.status) ? live : stored;
  return stored;
}

function newerInfo(current: MessageInfo, incoming: MessageInfo): MessageInfo {
  const done = (info: MessageInfo) => info.role === "assistant" && info.time.completed !== undefined;
  return done(current) && !done(incoming) ? current : incoming;
}

function toolRank(status: string): number {
  return status === "completed" || status === "error" ? 2 : status === "running" ? 1 : 0;
}

function isText(part: Part): part is Extract<Part, { type: "text" | "reasoning" }> {
  return part.type === "text" || part.type === "reasoning";
}

function onMessage(state: SessionViewState, info: MessageInfo): SessionViewState {
  if (info.sessionID !== state.sessionID) return state;
  // Before the loaded window: not shown until paged in.
  const first = state.messages.first();
  if (state.hasOlder && first !== undefined && info.id < first.info.id) return state;
  const current = state.messages.get(info.id);
  if (current !== undefined && newerInfo(current.info, info) === current.info) return state;
  return putMessage(state, { info, parts: current?.parts ?? [] }, current);
}

function onPart(state: SessionViewState, part: Part): SessionViewState {
  if (part.sessionID !== state.sessionID) {
    // A task part names the sub-agent session it runs.
    const child = part.type === "tool" && part.tool === "task" ? (part.state as { metadata?: { sessionId?: unknown } }).metadata?.sessionId : undefined;
    return typeof child === "string" && state.tree.has(part.sessionID) ? adopt(state, child) : state;
  }
  const message = state.messages.get(part.messageID);
  if (message === undefined) return state;
  const index = message.parts.findLastIndex((p) => p.id === part.id);
  const current = index === -1 ? undefined : message.parts[index]!;
  let next = state;
  if (current !== undefined) {
    // An update older than what is shown (read before a closed snapshot that was applied first).
    if (isText(current) && current.time?.end !== undefined && !(isText(part) && part.time?.end !== undefined)) return state;
    if (current.type === "tool" && part.type === "tool" && toolRank(current.state.status) === 2 && toolRank(part.state.status) < 2) return state;
  }
  if (next.unsynced.has(part.id)) {
    const unsynced = new Set(next.unsynced);
    unsynced.delete(part.id);
    next = { ...next, unsynced };
  }
  if (part.type === "tool") {
    const childID = (part.state as { metadata?: { sessionId?: unknown } }).metadata?.sessionId;
    if (part.tool === "task" && typeof childID === "string") next = adopt(next, childID);
  }
  const parts = message.parts.slice();
  if (index === -1) parts.splice(insertAt(parts, part.id), 0, part);
  else parts[index] = part;
  next = putMessage(next, { info: message.info, parts }, message);
  // Deltas that came before the part's record: the record holds the text of every delta sent before
  // it, so they add text only after an empty (start) record.
  const held = next.heldDeltas.get(part.id);
  if (held !== undefined) {
    const heldDeltas = new Map(next.heldDeltas);
    heldDeltas.delete(part.id);
    next = { ...next, heldDeltas, heldCount: next.heldCount - held.length };
    if (isText(part) && part.text === "") for (const delta of held) next = onDelta(next, delta);
  }
  return next;
}

function insertAt(parts: readonly Part[], id: string): number {
  let at = parts.length;
  while (at > 0 && parts[at - 1]!.id > id) at--;
  return at;
}

function onDelta(state: SessionViewState, event: DeltaEvent): SessionViewState {
  const { sessionID, messageID, partID, field, delta } = event.properties;
  const recent = state.recentDelta;
  const last = recent?.partID === partID ? recent.id : state.lastDelta.get(partID);
  if (sessionID !== state.sessionID || (last !== undefined && event.id !== undefined && event.id <= last)) return state;
  const message = state.messages.get(messageID);
  const index = message === undefined ? -1 : message.parts.findLastIndex((p) => p.id === partID);
  if (message === undefined || index === -1) {
    // Text and reasoning deltas both say field "text": the part's record says which it is.
    if (message === undefined && state.hasOlder && messageID < (state.messages.first()?.info.id ?? "")) return state;
    if (state.heldCount >= MAX_HELD) return state;
    const heldDeltas = new Map(state.heldDeltas).set(partID, [...(state.heldDeltas.get(partID) ?? []), event]);
    return { ...state, heldDeltas, heldCount: state.heldCount + 1 };
  }
  const part = message.parts[index]!;
  // A closed part's text is final (a later delta is a duplicate); an unsynced one waits for its record.
  if (state.unsynced.has(partID) || (isText(part) && part.time?.end !== undefined)) return state;
  const value = (part as unknown as Record<string, unknown>)[field];
  if (typeof value !== "string") return state;
  const parts = message.parts.slice();
  // A literal key where it can be: a computed one makes a slow dictionary-mode object per delta.
  parts[index] = (field === "text" ? { ...part, text: value + delta } : { ...part, [field]: value + delta }) as Part;
  // A delta leaves the message's info (so the usage sum) as it was: one new state, not two.
  const next = copyState(state);
  next.messages = state.messages.upsert({ info: message.info, parts });
  // Servers before 1.14 send no event ids: nothing to compare, as in the turn codec.
  if (event.id !== undefined) {
    if (recent !== undefined && recent.partID !== partID) next.lastDelta = state.lastDelta.set(recent.partID, recent.id);
    next.recentDelta = { partID, id: event.id };
  }
  return next;
}

/**
 * A copy to change before it is returned, for the paths every delta and part update takes: a
 * literal of every field, which V8 builds several times faster than a spread of this many.
 */
function copyState(state: SessionViewState): { -readonly [K in keyof SessionViewState]: SessionViewState[K] } {
  return {
    sessionID: state.sessionID,
    info: state.info,
    status: state.status,
    messages: state.messages,
    tree: state.tree,
    pending: state.pending,
    todos: state.todos,
    usage: state.usage,
    limits: state.limits,
    hasOlder: state.hasOlder,
    interrupted: state.interrupted,
    unsynced: state.unsynced,
    heldDeltas: state.heldDeltas,
    heldCount: state.heldCount,
    lastDelta: state.lastDelta,
    recentDelta: state.recentDelta,
    stale: state.stale,
  };
}

function removeMessage(state: SessionViewState, id: string): SessionViewState {
  const current = state.messages.get(id);
  if (current === undefined) return state;
  return { ...state, messages: state.messages.remove(id), usage: addUsage(state.usage, usageOf(current.info), -1) };
}

function removePart(state: SessionViewState, messageID: string, partID: string): SessionViewState {
  const message = state.messages.get(messageID);
  if (message === undefined || !message.parts.some((p) => p.id === partID)) return state;
  return putMessage(state, { info: message.info, parts: message.parts.filter((p) => p.id !== partID) }, message);
}

/** Replaces (or adds) one message, keeping the usage sum in step. */
function putMessage(state: SessionViewState, message: StoredMessage, previous: StoredMessage | undefined): SessionViewState {
  const usage = previous?.info === message.info ? state.usage : addUsage(addUsage(state.usage, usageOf(message.info), 1), previous ? usageOf(previous.info) : ZERO, -1);
  const next = copyState(state);
  next.messages = state.messages.upsert(message);
  next.usage = usage;
  return next;
}

function setStatus(state: SessionViewState, status: SessionStatus): SessionViewState {
  if (state.status.type === status.type && status.type === "idle") return state;
  let next: SessionViewState = { ...state, status };
  if (status.type === "retry") next = abandonOpenText(next);
  if (status.type !== "idle") return next;
  // Nothing streams in an idle session: per-part stream bookkeeping is done with.
  if (next.recentDelta !== undefined || next.heldCount > 0) next = { ...next, lastDelta: PersistentMap.empty(), recentDelta: undefined, heldDeltas: new Map(), heldCount: 0 };
  next = findInterrupted(next);
  return openText(next).length > 0 ? { ...next, stale: true } : next;
}

/** Text parts of the newest messages the stream has not closed (only those stream). */
function openText(state: SessionViewState): { message: StoredMessage; index: number }[] {
  const open: { message: StoredMessage; index: number }[] = [];
  for (const message of state.messages.toArray().slice(-8)) {
    // A user message's text has no `time`: it never streams.
    if (message.info.role !== "assistant") continue;
    message.parts.forEach((part, index) => {
      if (isText(part) && part.time?.end === undefined && part.text !== "") open.push({ message, index });
    });
  }
  return open;
}

/**
 * A provider retry abandons the failed attempt's open text: the retry writes new parts and the
 * server keeps the old ones empty (the turn codec retracts them the same way).
 */
function abandonOpenText(state: SessionViewState): SessionViewState {
  let next = state;
  for (const { message, index } of openText(state)) {
    const current = next.messages.get(message.info.id)!;
    const parts = current.parts.slice();
    parts[index] = { ...(parts[index] as Extract<Part, { type: "text" }>), text: "" };
    next = putMessage(next, { info: current.info, parts }, current);
  }
  return next;
}

/** Idle: every tool still pending or running (among `messages`, default all) was cut off (a restart, a disposed instance, an abort). */
function findInterrupted(state: SessionViewState, messages: readonly StoredMessage[] = state.messages.toArray()): SessionViewState {
  let interrupted: Set<string> | undefined;
  for (const message of messages) {
    for (const part of message.parts) {
      if (part.type !== "tool" || toolRank(part.state.status) === 2 || state.interrupted.has(part.id)) continue;
      (interrupted ??= new Set(state.interrupted)).add(part.id);
    }
  }
  return interrupted === undefined ? state : { ...state, interrupted };
}

/** After a gap: streaming text missed deltas, so it waits for the part's full record. */
function markGap(state: SessionViewState): SessionViewState {
  const last = state.messages.last();
  if (last === undefined) return state;
  let unsynced: Set<string> | undefined;
  // Only unfinished messages stream; they are the newest.
  for (const message of state.messages.toArray().slice(-8)) {
    if (message.info.role !== "assistant") continue;
    for (const part of message.parts) {
      if (isText(part) && part.time?.end === undefined && !state.unsynced.has(part.id)) (unsynced ??= new Set(state.unsynced)).add(part.id);
    }
  }
  return unsynced === undefined ? state : { ...state, unsynced };
}

function adopt(state: SessionViewState, sessionID: string): SessionViewState {
  return state.tree.has(sessionID) ? state : { ...state, tree: new Set(state.tree).add(sessionID) };
}

function ask(state: SessionViewState, request: PendingRequest): SessionViewState {
  if (!state.tree.has(request.sessionID) || state.pending.has(request.id)) return state;
  return { ...state, pending: new Map(state.pending).set(request.id, request) };
}

function answered(state: SessionViewState, requestID: string): SessionViewState {
  if (!state.pending.has(requestID)) return state;
  const pending = new Map(state.pending);
  pending.delete(requestID);
  return { ...state, pending };
}

function usageOf(info: MessageInfo): Usage {
  if (info.role !== "assistant") return ZERO;
  const t = info.tokens;
  return { input: t.input, output: t.output, reasoning: t.reasoning, cacheRead: t.cache.read, cacheWrite: t.cache.write, cost: info.cost ?? 0 };
}

function addUsage(total: Usage, usage: Usage, sign: 1 | -1): Usage {
  if (usage === ZERO) return total;
  return {
    input: total.input + sign * usage.input,
    output: total.output + sign * usage.output,
    reasoning: total.reasoning + sign * usage.reasoning,
    cacheRead: total.cacheRead + sign * usage.cacheRead,
    cacheWrite: total.cacheWrite + sign * usage.cacheWrite,
    cost: total.cost + sign * usage.cost,
  };
}

function sumUsage(messages: OrderedList<StoredMessage>): Usage {
  let usage = ZERO;
  for (const message of messages.toArray()) usage = addUsage(usage, usageOf(message.info), 1);
  return usage;
}

/** The context window the latest assistant message used, against its model's limit. */
export function contextUsage(state: SessionViewState): ViewUsage["context"] {
  const messages = state.messages.toArray();
  for (let i = messages.length - 1; i >= 0; i--) {
    const info = messages[i]!.info;
    if (info.role !== "assistant") continue;
    const t = info.tokens;
    const used = t.input + t.output + t.reasoning + t.cache.read + t.cache.write;
    if (used === 0) continue;
    const model = `${info.providerID}/${info.modelID}`;
    return { used, limit: state.limits.get(model), model };
  }
  return { used: 0, limit: undefined, model: undefined };
}
