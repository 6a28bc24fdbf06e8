// The wire format a Turn is re-broadcast in to a browser: SSE frames `event: reply` (one Reply as
// JSON, errors flattened to plain objects) and `event: state` (the server connection's state).
// No Node imports: the browser reader shares this file.

import type { ErrorReply, Reply } from "../turn/replies.js";
import type { ConnectionState } from "../events/types.js";

/** A typed error as it crosses the wire: its `name`, `message`, `retryable` and own fields. */
export interface WireError {
  name: string;
  message: string;
  retryable: boolean;
  [field: string]: unknown;
}

export type WireReply = Exclude<Reply, ErrorReply> | (Omit<ErrorReply, "error"> & { error: WireError });

export interface WireState {
  state: ConnectionState;
}

export function toWireReply(reply: Reply): WireReply {
  if (reply.kind !== "error") return reply;
  const error = reply.error;
  const own = typeof error.toJSON === "function" ? error.toJSON() : {};
  return { ...reply, error: { ...own, name: error.name, message: error.message, retryable: error.retryable } };
}

/** One SSE frame; JSON never contains a raw newline, so one `data:` line is enough. */
export function sseFrame(event: "reply" | "state", data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
