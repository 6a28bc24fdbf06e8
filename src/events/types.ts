// The event types of the `/event` stream as the SDK hands them out, and the connection states
// a subscriber can observe.

import type { components } from "../../generated/opencode.js";

/**
 * Sent by the server every 10 s as an ordinary data frame. The spec pulled from opencode 1.18.33
 * does not list it in its `Event` union, so it is added here.
 */
export interface EventServerHeartbeat {
  id: string;
  type: "server.heartbeat";
  properties: Record<string, never>;
}

/**
 * One event of the `/event` stream: `{ id: "evt_…", type, properties }`. The union is the
 * server's spec; at runtime a newer server may also send types it does not list, which are
 * passed through untouched.
 */
export type Event = components["schemas"]["Event"] | EventServerHeartbeat;

export type EventType = Event["type"];

/** The member of `Event` with that `type`. */
export type EventOf<T extends EventType> = Extract<Event, { type: T }>;

/**
 * - `connecting`: the first attempt of a connection is under way.
 * - `open`: HTTP 200 and the server's first `server.connected` frame were seen (on `/global/event`,
 *   once it also carried a project event or settled: see `link.ts`).
 * - `reconnecting`: a connection dropped, stalled, ended or failed, and another is being
 *   attempted (possibly after a backoff wait).
 * - `closed`: no connection and none being attempted: no subscribers, a terminal failure
 *   (401/403/404, not an event stream), or the client is closed.
 */
export type ConnectionState = "connecting" | "open" | "reconnecting" | "closed";

/**
 * Yielded by a subscription made with `gaps: true` where the connection broke and was opened again:
 * events the server sent in between are lost (it does not replay them). A client-side marker,
 * never sent by the server.
 */
export interface StreamGap {
  readonly type: "client.gap";
  readonly properties: Readonly<Record<string, never>>;
}

export const STREAM_GAP: StreamGap = Object.freeze({ type: "client.gap", properties: Object.freeze({}) });
