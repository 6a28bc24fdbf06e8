// The views layer's public names: the session handles with `watch` / `watchAll`, the views they
// open, and their snapshots.

export { Session, Sessions } from "./handles.js";
export { SessionView, type SessionSnapshot, type WatchOptions } from "./session-view.js";
export { SessionsView, type SessionsSnapshot, type SessionEntry, type WatchAllOptions } from "./sessions-view.js";
export type { PendingRequest, SessionStatus, Todo, ViewUsage } from "./session-state.js";
