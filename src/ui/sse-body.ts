// The SSE response plumbing both UI adapters share (the opencode wire in sse.ts, the AI SDK UI
// message stream in ai-sdk.ts): a producer writing text into a body that drops writes once the
// browser left, heartbeat comments while it is open, and what a browser leaving early means for
// the turn it was reading.

import type { TurnReplay } from "./replay.js";

export interface SSEWriter {
  write(text: string): void;
  /** Ends the body (after the turn's last frame); later writes are dropped. */
  end(): void;
}

/** Starts writing into `out`; returns what to call when the browser leaves before `end()`. */
export type SSEProducer = (out: SSEWriter) => () => void;

export interface LeaveOptions {
  /** An SSE comment this often keeps proxies from closing a quiet stream. Default 15 000 ms. */
  heartbeatMs?: number;
  /** Abort the turn when the browser leaves before it ends and does not come back within `reconnectGraceMs`. Default true. */
  abortOnDisconnect?: boolean;
  /** Default 5 000 ms. */
  reconnectGraceMs?: number;
}

/** The producer with heartbeat comments every `heartbeatMs`, stopped when it ends or the browser leaves. */
export function withHeartbeat(produce: SSEProducer, heartbeatMs = 15_000): SSEProducer {
  return (out) => {
    const timer = setInterval(() => out.write(": heartbeat\n\n"), heartbeatMs);
    const leave = produce({
      write: (text) => out.write(text),
      end: () => {
        clearInterval(timer);
        out.end();
      },
    });
    return () => {
      clearInterval(timer);
      leave();
    };
  };
}

/** A web body for the producer (heartbeats included); the reader cancelling is the browser leaving. */
export function sseWebBody(produce: SSEProducer, heartbeatMs?: number): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let leave = () => {};
  // Once the browser cancelled, the controller is closed: writing or closing it again would throw.
  let open = true;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      leave = withHeartbeat(produce, heartbeatMs)({
        write: (text) => open && controller.enqueue(encoder.encode(text)),
        end: () => {
          if (open) controller.close();
          open = false;
        },
      });
    },
    cancel() {
      open = false;
      leave();
    },
  });
}

/** A browser left before the turn ended: unless a reader comes back within the grace, `abort` the turn. */
export function abandonOnLeave(replay: TurnReplay<unknown>, options: LeaveOptions, abort: () => void): void {
  if (options.abortOnDisconnect !== false) replay.abandon(options.reconnectGraceMs ?? 5_000, abort);
}
