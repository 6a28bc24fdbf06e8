// `client.session.watchAll({ directory })`: a project's sessions (info, status, open requests),
// newest first, and its inbox of open permission and question requests, live on create, update
// and delete. Same contract as a session view: `get`, `subscribe`, `close`.

import type { EventHub } from "../events/hub.js";
import type { OpencodeError } from "../http/errors.js";
import type { SessionInfo } from "../session/session.js";
import "./dispose.js";
import { LiveStore } from "./live-store.js";
import type { PendingRequest, SessionStatus } from "./session-state.js";
import { initialSessionsState, reduceSessions, syncSessions, type SessionsViewState } from "./sessions-state.js";
import type { ViewDeps } from "./session-view.js";

export interface WatchAllOptions {
  /** The project; default the client's `directory`. Each directory has its own event stream. */
  directory?: string;
}

export interface SessionEntry {
  readonly info: SessionInfo;
  readonly status: SessionStatus;
  /** Open requests of this session and the sub-agent sessions under it. */
  readonly pending: number;
}

export interface SessionsSnapshot {
  /** Every session of the project (sub-agent sessions included: `info.parentID`), most recently updated first. */
  readonly sessions: readonly SessionEntry[];
  /** Every open permission and question request of the project. */
  readonly pending: readonly PendingRequest[];
  readonly error: OpencodeError | undefined;
}

const IDLE: SessionStatus = { type: "idle" };

export class SessionsView {
  readonly directory: string | undefined;
  readonly #store: LiveStore<SessionsViewState>;
  #snapshot: SessionsSnapshot | undefined;
  #snapshotState: SessionsViewState | undefined;

  private constructor(deps: ViewDeps, options: WatchAllOptions) {
    this.directory = options.directory;
    const query = options.directory === undefined ? undefined : { directory: options.directory };
    const hub: EventHub = options.directory === undefined ? deps.events : deps.events.forDirectory(options.directory);
    this.#store = new LiveStore<SessionsViewState>({
      subscription: hub.subscribe({ gaps: true }),
      initial: initialSessionsState,
      reduce: (state, event) => (event.type === "client.gap" ? state : reduceSessions(state, event)),
      read: async (signal) => {
        const [sessions, statuses, permissions, questions] = await Promise.all([
          deps.request("get", "/session", { query, signal }),
          deps.request("get", "/session/status", { query, signal }),
          deps.request("get", "/permission", { query, signal }),
          deps.request("get", "/question", { query, signal }),
        ]);
        const synced = syncSessions(sessions, statuses, permissions, questions);
        return () => synced;
      },
      logger: deps.logger,
    });
  }

  /** @internal */
  static async open(deps: ViewDeps, options: WatchAllOptions = {}): Promise<SessionsView> {
    const view = new SessionsView(deps, options);
    await view.#store.open();
    return view;
  }

  /** The current snapshot: the same object until something changed. Bound. */
  readonly get = (): SessionsSnapshot => {
    const state = this.#store.state;
    const previous = this.#snapshot;
    if (previous !== undefined && this.#snapshotState === state && previous.error === this.#store.error) return previous;
    this.#snapshotState = state;
    return (this.#snapshot = buildSnapshot(state, this.#store.error));
  };

  /** Calls `listener` after changes (batched); returns the unsubscribe function. Bound. */
  readonly subscribe = (listener: () => void): (() => void) => this.#store.listeners.add(listener);

  close(): void {
    this.#store.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}

function buildSnapshot(state: SessionsViewState, error: OpencodeError | undefined): SessionsSnapshot {
  // Each request counts for its session and every session above it.
  const counts = new Map<string, number>();
  for (const request of state.pending.values()) {
    const seen = new Set<string>();
    for (let id: string | undefined = request.sessionID; id !== undefined && !seen.has(id); id = state.sessions.get(id)?.parentID) {
      seen.add(id);
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
  }
  const sessions = [...state.sessions.values()]
    .sort((a, b) => b.time.updated - a.time.updated || (a.id < b.id ? 1 : -1))
    .map((info) => Object.freeze({ info, status: state.statuses.get(info.id) ?? IDLE, pending: counts.get(info.id) ?? 0 }));
  return Object.freeze({ sessions, pending: [...state.pending.values()], error });
}
