// The session handles the client hands out: the session layer's handles plus the two calls that
// open views, `session.watch()` and `client.session.watchAll()`. They are defined here, above
// both layers, because the session layer may not import the views built on it.

import * as base from "../session/session.js";
import { SessionView, type WatchOptions } from "./session-view.js";
import { SessionsView, type WatchAllOptions } from "./sessions-view.js";

export class Session extends base.Session {
  /**
   * A live mirror of this session: history (`history` newest messages, more with `loadOlder`)
   * merged with whatever runs now, from any client. Resolves once the first page is loaded.
   */
  watch(options?: WatchOptions): Promise<SessionView> {
    return SessionView.open(this.deps, this.id, options);
  }
}

export class Sessions extends base.Sessions<Session> {
  constructor(deps: base.SessionDeps) {
    super(deps, Session);
  }

  /** A live list of the project's sessions and open requests (`directory` default: the client's). */
  watchAll(options?: WatchAllOptions): Promise<SessionsView> {
    return SessionsView.open(this.deps, options);
  }
}
