// `client.session.watchAll({ directory })`: a project's sessions (info, status, open requests),
// newest first, and its inbox of open permission and question requests, live on create, update
// and delete. Same contract as a session view: `get`, `subscribe`, `close`.

import type { Event, StreamGap } from "../events/types.js";
import type { OpencodeError } from "../http/errors.js";
import type { SessionInfo } from "../session/session.js";
import { LiveView, type ViewDeps } from "./live-view.js";
import type { PendingRequest, SessionStatus } from "./session-state.js";
import { initialSessionsState, reduceSessions, syncSessions, type SessionsViewState } from "./sessions-state.js";

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

export class SessionsView extends LiveView<SessionsViewState, SessionsSnapshot> {
  readonly directory: string | undefined;

  private constructor(deps: ViewDeps, options: WatchAllOptions) {
    super(deps, options.directory, {}, initialSessionsState);
    this.directory = options.directory;
  }

  /** @internal */
  static open(deps: ViewDeps, options: WatchAllOptions = {}): Promise<SessionsView> {
    return new SessionsView(deps, options).start();
  }

  protected override reduce(state: SessionsViewState, event: Event | StreamGap): SessionsViewState {
    return event.type === "client.gap" ? state : reduceSessions(state, event);
  }

  protected override async read(signal: AbortSignal): Promise<() => SessionsViewState> {
    const { request } = this.deps;
    const query = this.query;
    const [sessions, statuses, permissions, questions] = await Promise.all([
      request("get", "/session", { query, signal }),
      request("get", "/session/status", { query, signal }),
      request("get", "/permission", { query, signal }),
      request("get", "/question", { query, signal }),
    ]);
    const synced = syncSessions(sessions, statuses, permissions, questions);
    return () => synced;
  }

  protected override snapshot(state: SessionsViewState, _previous: SessionsSnapshot | undefined, error: OpencodeError | undefined): SessionsSnapshot {
    return buildSnapshot(state, error);
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
