// The pure reducer of a project's sessions view: every session (info and status) and every open
// request of the project, from the project's event stream and from plain re-reads.

import type { components } from "../../generated/opencode.js";
import { consumedEventProblem, envelopeProblem } from "../events/schemas.js";
import type { Event } from "../events/types.js";
import type { SessionInfo } from "../session/session.js";
import { requestChange, type PendingRequest, type SessionStatus } from "./session-state.js";

export interface SessionsViewState {
  readonly sessions: ReadonlyMap<string, SessionInfo>;
  /** Sessions not listed here are idle. */
  readonly statuses: ReadonlyMap<string, SessionStatus>;
  readonly pending: ReadonlyMap<string, PendingRequest>;
}

export const initialSessionsState: SessionsViewState = { sessions: new Map(), statuses: new Map(), pending: new Map() };

export function reduceSessions(state: SessionsViewState, event: Event): SessionsViewState {
  if (envelopeProblem(event) !== undefined || consumedEventProblem(event) !== undefined) return state;
  switch (event.type) {
    case "session.created":
    case "session.updated": {
      const info = event.properties.info as SessionInfo;
      return { ...state, sessions: new Map(state.sessions).set(info.id, info) };
    }
    case "session.deleted": {
      const id = event.properties.info.id;
      if (!state.sessions.has(id)) return state;
      const sessions = new Map(state.sessions);
      sessions.delete(id);
      const pending = new Map([...state.pending].filter(([, request]) => request.sessionID !== id));
      const statuses = new Map(state.statuses);
      statuses.delete(id);
      return { sessions, statuses, pending };
    }
    case "session.status":
      return setStatus(state, event.properties.sessionID, event.properties.status);
    case "session.idle":
      return setStatus(state, event.properties.sessionID, { type: "idle" });
    default: {
      const change = requestChange(event);
      if (change === undefined) return state;
      if (change.asked) {
        return state.pending.has(change.asked.id) ? state : { ...state, pending: new Map(state.pending).set(change.asked.id, change.asked) };
      }
      if (!state.pending.has(change.answered)) return state;
      const pending = new Map(state.pending);
      pending.delete(change.answered);
      return { ...state, pending };
    }
  }
}

function setStatus(state: SessionsViewState, sessionID: string, status: SessionStatus): SessionsViewState {
  const current = state.statuses.get(sessionID);
  if (status.type === "idle") {
    if (current === undefined) return state;
    const statuses = new Map(state.statuses);
    statuses.delete(sessionID);
    return { ...state, statuses };
  }
  return { ...state, statuses: new Map(state.statuses).set(sessionID, status) };
}

/** What a re-read says: it replaces everything (the stream does not replay what a gap hid). */
export function syncSessions(
  sessions: readonly SessionInfo[],
  statuses: Readonly<Record<string, SessionStatus>>,
  permissions: readonly components["schemas"]["PermissionRequest"][],
  questions: readonly components["schemas"]["QuestionRequest"][],
): SessionsViewState {
  return {
    sessions: new Map(sessions.map((info) => [info.id, info])),
    statuses: new Map(Object.entries(statuses).filter(([, status]) => status.type !== "idle")),
    pending: new Map<string, PendingRequest>([
      ...permissions.map((p) => [p.id, { kind: "permission" as const, ...p }] as const),
      ...questions.map((q) => [q.id, { kind: "question" as const, ...q }] as const),
    ]),
  };
}
