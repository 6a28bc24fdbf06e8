// Session views on the session handles: `session.watch()` and `client.session.watchAll()`. The
// views layer sits above sessions, so it adds these methods to the handle classes (declared here
// for TypeScript) rather than the handles importing it.

import { Session, Sessions } from "../session/session.js";
import { SessionView, type WatchOptions } from "./session-view.js";
import { SessionsView, type WatchAllOptions } from "./sessions-view.js";

declare module "../session/session.js" {
  interface Session {
    /**
     * A live mirror of this session: history (`history` newest messages, more with `loadOlder`)
     * merged with whatever runs now, from any client. Resolves once the first page is loaded.
     */
    watch(options?: WatchOptions): Promise<SessionView>;
  }
  interface Sessions {
    /** A live list of the project's sessions and open requests (`directory` default: the client's). */
    watchAll(options?: WatchAllOptions): Promise<SessionsView>;
  }
}

/** Adds `watch` / `watchAll` to the handles; the client calls it once. */
export function installViews(): void {
  if (Object.hasOwn(Session.prototype, "watch")) return;
  Session.prototype.watch = function watch(this: Session, options?: WatchOptions) {
    return SessionView.open(this.deps, this.id, options);
  };
  Sessions.prototype.watchAll = function watchAll(this: Sessions, options?: WatchAllOptions) {
    return SessionsView.open(this.deps, options);
  };
}

export { SessionView, type SessionSnapshot, type WatchOptions } from "./session-view.js";
export { SessionsView, type SessionsSnapshot, type SessionEntry, type WatchAllOptions } from "./sessions-view.js";
export type { PendingRequest, SessionStatus, Todo, ViewUsage } from "./session-state.js";
