// The turn benchmark's workload (scripted reply shapes, with the text each must end with) and the
// messages its parent and its client processes exchange over IPC.

import { directive } from "../../support/model-server.js";

export const SHAPES = ["short", "medium", "tool"] as const;
export type Shape = (typeof SHAPES)[number];

export interface TurnScript {
  prompt: string;
  /** The text both clients must report as the turn's final text. */
  expected: string;
}

// Ends in a non-space on purpose: the server may trim a text part's trailing whitespace.
const MEDIUM_TEXT = Array.from({ length: 36 }, (_, i) => `Sentence ${i} of the medium reply streams in many small chunks.`).join(" ");

/** A fresh script per turn: `directive()` gives every prompt its own id. */
export function scriptFor(shape: Shape): TurnScript {
  switch (shape) {
    case "short": {
      const text = "A short reply in five chunks.";
      return { prompt: `short\n${directive({ text, chunks: 5 })}`, expected: text };
    }
    case "medium":
      return { prompt: `medium\n${directive({ text: MEDIUM_TEXT, chunks: 200 })}`, expected: MEDIUM_TEXT };
    case "tool": {
      const text = "The command printed bench-42.";
      return {
        prompt: `tool\n${directive({
          toolCalls: [{ name: "bash", input: { command: "echo bench-42", description: "echo a marker" } }],
          then: { text, chunks: 5 },
        })}`,
        expected: text,
      };
    }
  }
}

/** Where the client processes find the server. Sent over IPC, so the password never shows in `ps`. */
export interface ServerAddress {
  url: string;
  username: string;
  password: string;
}

export type ParentMessage =
  | { type: "init"; server: ServerAddress }
  | { type: "turn"; seq: number; prompt: string }
  | { type: "close" };

/** One measured turn, as its client process saw it. Times are ms since the call that started the turn. */
export interface TurnMeasurement {
  /** The client's `/event` subscription was open: the part of the wait the client itself adds before prompting. */
  connectedMs: number;
  firstDeltaMs: number;
  finalMs: number;
  /** User + system CPU of the client's process from the start of the turn until the client's loop ended. */
  cpuMs: number;
  /** The turn's final text as the client reports it. */
  text: string;
  /** `/event` connections the client opened for this turn. */
  connections: number;
}

export type ChildMessage =
  | { type: "ready" }
  | ({ type: "result"; seq: number } & TurnMeasurement)
  | { type: "error"; seq: number; message: string };
