// Which session an event concerns: the one rule the hub's session filter, the codec and the Turn
// share. Events name it as `properties.sessionID`; servers before 1.14 name it only inside the
// event's `info` (a session: its `id`; a message: its `sessionID`) or `part`.

/** The session an event concerns, or undefined for events of no session (`server.*`, …). */
export function sessionOfEvent(event: { readonly type: string; readonly properties?: unknown }): string | undefined {
  const properties = event.properties;
  if (typeof properties !== "object" || properties === null) return undefined;
  const { sessionID, info, part } = properties as { sessionID?: unknown; info?: unknown; part?: unknown };
  if (typeof sessionID === "string") return sessionID;
  // A `session.*` event's `info` is the session itself.
  if (event.type.startsWith("session.") && typeof info === "object" && info !== null) {
    const id = (info as { id?: unknown }).id;
    if (typeof id === "string") return id;
  }
  return nestedSession(info) ?? nestedSession(part);
}

function nestedSession(value: unknown): string | undefined {
  const id = typeof value === "object" && value !== null ? (value as { sessionID?: unknown }).sessionID : undefined;
  return typeof id === "string" ? id : undefined;
}
