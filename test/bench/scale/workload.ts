// The scale benchmark's workload (one scripted reply of 50 small deltas per turn, each turn's text
// its own) and the messages its parent and client process exchange.

import { directive } from "../../support/model-server.js";

export interface ScaleTurn {
  prompt: string;
  expected: string;
}

export interface ScaleJob {
  server: { url: string; username: string; password: string };
  maxConnections: number;
  warmUp: ScaleTurn;
  turns: ScaleTurn[];
}

export interface ScaleResult {
  turns: number;
  /** Turns whose final text is exactly the scripted one. */
  intact: number;
  /** Turns that ended otherwise, by error name ("wrong": a final with other text). */
  failures: Record<string, number>;
  wallMs: number;
  /** User + system CPU of the client process while the turns ran, per turn. */
  cpuMsPerTurn: number;
  /** Peak resident memory growth while the turns ran, per turn. */
  rssKbPerTurn: number;
  /** Most sockets the client held open at once (event stream included). */
  peakSockets: number;
  /** HTTP requests per turn besides the turn's own prompt_async and the event stream. */
  requestsPerTurn: number;
  /** `/event` connections opened while the turns ran (1: no reconnect). */
  eventConnections: number;
  /** Times the stream was silent past idleTimeoutMs while the server still answered (kept, not reconnected). */
  slowSpells: number;
}

export type ScaleMessage = { type: "result"; result: ScaleResult } | { type: "error"; message: string };

export const DELTAS_PER_REPLY = 50;

export function scaleTurns(n: number): ScaleTurn[] {
  return Array.from({ length: n }, (_, i) => {
    // Ends in a non-space on purpose: the server may trim a text part's trailing whitespace.
    const expected = Array.from({ length: DELTAS_PER_REPLY }, (_, k) => `t${i}w${k}`).join(" ");
    return { prompt: `scale ${i}\n${directive({ text: expected, chunks: DELTAS_PER_REPLY })}`, expected };
  });
}
