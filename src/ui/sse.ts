// Re-broadcasts a Turn to a browser as Server-Sent Events: as a web `Response` (fetch-style
// servers) or onto a Node `http.ServerResponse`, with heartbeats, the connection state, and
// the browser going away aborting the turn.

import type { IncomingMessage, ServerResponse } from "node:http";
import type { ConnectionState } from "../events/types.js";
import type { Turn } from "../turn/turn.js";
import { sseFrame, toWireReply } from "../browser/wire.js";

export interface SSEOptions {
  /** A comment line this often keeps proxies from closing a quiet stream. Default 15 000 ms. */
  heartbeatMs?: number;
  /** Abort the turn when the browser disconnects before it ends. Default true. */
  abortOnDisconnect?: boolean;
  /** Forward this connection's state (e.g. `client.events`) so the page can say "reconnecting…". */
  connection?: { readonly state: ConnectionState; onState(listener: (state: ConnectionState) => void): () => void };
}

export const SSE_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache, no-transform",
  connection: "keep-alive",
  // nginx and similar buffer responses unless told not to.
  "x-accel-buffering": "no",
};

/** The turn as SSE frames: `state` changes, every reply, heartbeat comments; ends after the terminal reply. */
function frames(turn: Turn, options: SSEOptions, write: (chunk: string) => void, end: () => void): () => void {
  let finished = false;
  const heartbeat = setInterval(() => write(": heartbeat\n\n"), options.heartbeatMs ?? 15_000);
  if (options.connection) write(sseFrame("state", { state: options.connection.state }));
  const unsubscribe = options.connection?.onState((state) => write(sseFrame("state", { state })));
  const stop = () => {
    clearInterval(heartbeat);
    unsubscribe?.();
  };
  void (async () => {
    try {
      for await (const reply of turn) write(sseFrame("reply", toWireReply(reply)));
    } finally {
      finished = true;
      stop();
      end();
    }
  })();
  // The browser left: stop writing and, unless told otherwise, stop the turn on the server.
  return () => {
    stop();
    if (!finished && options.abortOnDisconnect !== false) void turn.abort();
  };
}

/** A web `Response` streaming the turn as SSE (for fetch-style handlers: Hono, Next.js, Bun, Deno). */
export function toSSEResponse(turn: Turn, options: SSEOptions = {}, init: ResponseInit = {}): Response {
  const encoder = new TextEncoder();
  let disconnect = () => {};
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      let open = true;
      disconnect = frames(
        turn,
        options,
        (chunk) => open && controller.enqueue(encoder.encode(chunk)),
        () => {
          if (open) controller.close();
          open = false;
        },
      );
    },
    cancel() {
      disconnect();
    },
  });
  const headers = new Headers(init.headers);
  for (const [key, value] of Object.entries(SSE_HEADERS)) headers.set(key, value);
  return new Response(body, { ...init, headers });
}

/** Streams the turn as SSE onto a Node response; resolves when the turn ended or the browser left. */
export function pipeTurnToNodeResponse(
  turn: Turn,
  response: ServerResponse<IncomingMessage>,
  options: SSEOptions = {},
): Promise<void> {
  return new Promise((resolve) => {
    response.writeHead(200, SSE_HEADERS);
    response.flushHeaders();
    let ended = false;
    const disconnect = frames(
      turn,
      options,
      (chunk) => !ended && response.write(chunk),
      () => {
        if (!ended) response.end();
        ended = true;
        resolve();
      },
    );
    response.on("close", () => {
      if (ended) return;
      ended = true;
      disconnect();
      resolve();
    });
  });
}
