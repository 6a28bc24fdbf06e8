// `session.watch()`: a live mirror of one session — its history merged with whatever runs now (any
// turn, any client), pending requests of its sub-agent tree, todos, usage — as immutable snapshots
// for any UI store (`useSyncExternalStore(view.subscribe, view.get)`). On the shared view shell
// (live-view.ts) it adds what is its own: the session's subscription (its sub-agents included),
// history pages over plain requests, and the snapshot.

import type { components } from "../../generated/opencode.js";
import type { EventHub } from "../events/hub.js";
import type { Event, StreamGap } from "../events/types.js";
import type { OpencodeError } from "../http/errors.js";
import type { SessionInfo, StoredMessage } from "../session/session.js";
import { LiveView, type ViewDeps } from "./live-view.js";
import {
  contextUsage,
  initialSessionState,
  mergeHistory,
  prependHistory,
  reduceSession,
  type PendingRequest,
  type SessionStatus,
  type SessionSync,
  type SessionViewState,
  type Todo,
  type ViewUsage,
} from "./session-state.js";

export interface WatchOptions {
  /** How many of the newest messages to load at first (`loadOlder` pages further back). Default 50. */
  history?: number;
  /** The session's project, when it is not the client's `directory`. */
  directory?: string;
}

/** What a session view shows; immutable, and the same object until something changes. */
export interface SessionSnapshot {
  readonly sessionID: string;
  /** The session record (title, `revert`, `share`, `time`…); undefined until read, or if it was deleted. */
  readonly info: SessionInfo | undefined;
  /** `idle`, `busy`, or `retry` (with `attempt`, `message`, `next`). */
  readonly status: SessionStatus;
  /** Loaded messages, oldest first, each `{ info, parts }` as `session.messages()` lists them, with live text and tool state. */
  readonly messages: readonly StoredMessage[];
  /** Open permission and question requests of the session and its sub-agent sessions. */
  readonly pending: readonly PendingRequest[];
  /** The agent's todo list, as last sent. */
  readonly todos: readonly Todo[];
  readonly usage: ViewUsage;
  /** Older messages exist on the server: `loadOlder()` pages them in. */
  readonly hasOlder: boolean;
  /** Ids of tool parts that will never finish (their run ended: restart, disposal, abort). */
  readonly interrupted: ReadonlySet<string>;
  /** The last re-read failed (the view keeps following the stream and retries after the next gap). */
  readonly error: OpencodeError | undefined;
}

const DEFAULT_HISTORY = 50;
/** Sub-agent sessions looked up per re-read (a tree deeper or wider than this is followed from the stream). */
const MAX_CHILD_LOOKUPS = 32;

type Page = { messages: StoredMessage[]; cursor: string | undefined; hasOlder: boolean };
type Query = { directory: string } | undefined;

export class SessionView extends LiveView<SessionViewState, SessionSnapshot> {
  readonly sessionID: string;
  readonly #history: number;
  /** Where `loadOlder` continues: the server's cursor past the oldest loaded message. */
  #cursor: string | undefined;
  /** The server pages with `X-Next-Cursor` (1.14 on); older ones answer `limit` only. */
  #cursorsSeen = false;

  private constructor(deps: ViewDeps, sessionID: string, options: WatchOptions) {
    super(deps, options.directory, { sessionID, children: true }, initialSessionState(sessionID));
    this.sessionID = sessionID;
    this.#history = Math.max(1, options.history ?? DEFAULT_HISTORY);
  }

  /** @internal Opens the stream, then reads the first page and everything else the snapshot shows. */
  static open(deps: ViewDeps, sessionID: string, options: WatchOptions = {}): Promise<SessionView> {
    return new SessionView(deps, sessionID, options).start();
  }

  /** Pages `count` older messages in before the loaded ones; `get().hasOlder` says whether more exist. */
  async loadOlder(count = this.#history): Promise<void> {
    const state = this.state;
    const first = state.messages.first();
    if (this.closed || !state.hasOlder || first === undefined) return;
    let older: StoredMessage[];
    let hasOlder: boolean;
    if (this.#cursor !== undefined) {
      const page = await this.#page(count, this.signal, this.#cursor);
      this.#cursor = page.cursor;
      older = page.messages;
      hasOlder = page.hasOlder;
    } else {
      // Servers without paging cursors: ask for more of the newest and keep what is older.
      const wanted = state.messages.size + count;
      const page = await this.#page(wanted, this.signal);
      older = page.messages.filter((m) => m.info.id < first.info.id);
      hasOlder = page.messages.length >= wanted;
    }
    this.setState(prependHistory(this.state, older, hasOlder));
  }

  protected override reduce(state: SessionViewState, event: Event | StreamGap): SessionViewState {
    return reduceSession(state, event);
  }

  protected override stale(state: SessionViewState): boolean {
    return state.stale;
  }

  protected override snapshot(state: SessionViewState, previous: SessionSnapshot | undefined, error: OpencodeError | undefined): SessionSnapshot {
    return buildSnapshot(state, previous, error);
  }

  /**
   * Reads what the stream cannot replay: the newest messages (as many as are loaded), status,
   * requests, todos, sub-sessions (and, at open, the models' context windows).
   */
  protected override async read(signal: AbortSignal, reason: "open" | "gap"): Promise<(state: SessionViewState) => SessionViewState> {
    const query = this.query;
    const request = this.deps.request;
    const loaded = this.state.messages.size;
    const [info, statuses, page, permissions, questions, todos, children, limits] = await Promise.all([
      request("get", "/session/{sessionID}", { path: { sessionID: this.sessionID }, query, signal }),
      request("get", "/session/status", { query, signal }),
      this.#page(Math.max(this.#history, loaded), signal),
      request("get", "/permission", { query, signal }),
      request("get", "/question", { query, signal }),
      request("get", "/session/{sessionID}/todo", { path: { sessionID: this.sessionID }, query, signal }),
      this.#children(signal),
      reason === "open" ? modelLimits(this.deps, query) : undefined,
    ]);
    // After a gap the window may start later (new messages): the cursor past the oldest loaded one still holds.
    if (reason === "open" || this.#cursor === undefined) this.#cursor = page.cursor;
    for (const child of children) this.subscription.follow(child);
    const sync: SessionSync = {
      info,
      status: statuses[this.sessionID] ?? { type: "idle" },
      messages: page.messages,
      hasOlder: page.hasOlder,
      children,
      permissions,
      questions,
      todos,
      ...(limits ? { limits } : {}),
    };
    return (state) => mergeHistory(state, sync);
  }

  async #page(limit: number, signal: AbortSignal, before?: string): Promise<Page> {
    let cursor: string | undefined;
    const messages = await this.deps.request("get", "/session/{sessionID}/message", {
      path: { sessionID: this.sessionID },
      query: { limit, ...(before === undefined ? {} : { before }), ...this.query },
      signal,
      onHeaders: (headers) => (cursor = headers["x-next-cursor"] || undefined),
    });
    if (cursor !== undefined) this.#cursorsSeen = true;
    // Servers with cursors send one exactly when older messages exist; without, a full page may have more.
    return { messages, cursor, hasOlder: cursor !== undefined || (messages.length >= limit && !this.#cursorsSeen) };
  }

  /** Sub-agent sessions under this one, breadth first. */
  async #children(signal: AbortSignal): Promise<string[]> {
    const found: string[] = [];
    const queue = [this.sessionID];
    for (let lookups = 0; queue.length > 0 && lookups < MAX_CHILD_LOOKUPS; lookups++) {
      const parent = queue.shift()!;
      const children = await this.deps.request("get", "/session/{sessionID}/children", { path: { sessionID: parent }, query: this.query, signal });
      for (const child of children) {
        found.push(child.id);
        queue.push(child.id);
      }
    }
    return found;
  }
}

/** `"provider/model"` → context window, from the provider catalog (read once per client). */
const limitsByHub = new WeakMap<EventHub, Promise<Map<string, number>>>();

function modelLimits(deps: ViewDeps, query: Query): Promise<Map<string, number>> {
  let limits = limitsByHub.get(deps.events);
  if (limits === undefined) {
    // Shared by the client's views, so no one view's signal may cancel it.
    limits = deps.request("get", "/provider", { query }).then((providers) => {
      const map = new Map<string, number>();
      for (const provider of providers.all) {
        for (const [modelID, model] of Object.entries(provider.models)) {
          const context = (model as components["schemas"]["Model"]).limit?.context;
          if (typeof context === "number" && context > 0) map.set(`${provider.id}/${modelID}`, context);
        }
      }
      return map;
    });
    // A failed read is not kept: the next view asks again.
    limits.catch(() => limitsByHub.delete(deps.events));
    limitsByHub.set(deps.events, limits);
  }
  return limits;
}

/** The snapshot of `state`, reusing the previous snapshot's arrays where their source did not change. */
function buildSnapshot(state: SessionViewState, previous: SessionSnapshot | undefined, error: OpencodeError | undefined): SessionSnapshot {
  const messages = state.messages.toArray();
  const pending = previous !== undefined && pendingSource.get(previous) === state.pending ? previous.pending : [...state.pending.values()];
  const context = contextUsage(state);
  const usage =
    previous !== undefined && usageSource.get(previous) === state.usage && previous.usage.context.used === context.used && previous.usage.context.limit === context.limit
      ? previous.usage
      : { ...state.usage, context };
  const snapshot: SessionSnapshot = Object.freeze({
    sessionID: state.sessionID,
    info: state.info,
    status: state.status,
    messages,
    pending,
    todos: state.todos,
    usage,
    hasOlder: state.hasOlder,
    interrupted: state.interrupted,
    error,
  });
  pendingSource.set(snapshot, state.pending);
  usageSource.set(snapshot, state.usage);
  return snapshot;
}

const pendingSource = new WeakMap<SessionSnapshot, SessionViewState["pending"]>();
const usageSource = new WeakMap<SessionSnapshot, SessionViewState["usage"]>();
