// Synthetic opencode-shaped `GET /event` server for the event-stream benchmark: one pre-built
// byte stream per shape (`server.connected`, then the shape's events, then end), written as fast
// as the consumer reads and no faster. `GET /global/event` serves the same events as a client
// following several projects reads them: each wrapped as `{directory, project, payload}` (the
// connection's own `server.connected` as `{payload}`), with `GET /path` naming the project.
//
// The whole stream is built once, before any timing, and written as slices of that one buffer, so
// the server costs the same for every consumer and only the client's work differs between runs.

import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { components } from "../../generated/opencode.js";
import { listenOnLoopback } from "../support/loopback.js";

type Event = components["schemas"]["Event"];
type ServerConnected = components["schemas"]["EventServerConnected"];
type PartDelta = components["schemas"]["EventMessagePartDelta"];
type PartUpdated = components["schemas"]["EventMessagePartUpdated"];

export const SHAPES = ["small", "large", "huge"] as const;
export type Shape = (typeof SHAPES)[number];

/** A shape's stream, plus what a correct consumer of it must count. */
export interface StreamPayload {
  shape: Shape;
  bytes: Buffer;
  /** The same events as `/global/event` frames, all of them in the project `BENCH_PROJECT`. */
  globalBytes: Buffer;
  /** Every event, `server.connected` included. */
  events: number;
  lastID: string;
  /** The session an `ours-filtered` consumer subscribes to, its event count and last event id. */
  filter: { sessionID: string; events: number; lastID: string };
}

export const BENCH_USERNAME = "opencode";
export const BENCH_PASSWORD = "bench-password";
/** The project every event of the global stream belongs to (what `GET /path` names without a directory). */
export const BENCH_PROJECT = "/bench/project";

// Four sessions interleaved, as when several turns stream at once: a session filter has 3/4 of
// the stream to skip.
const SESSIONS = 4;
const SMALL_EVENTS = 100_000;
const LARGE_EVENTS = 20;
const MiB = 1024 * 1024;

// Few-word deltas like a model's tokens; some carry newlines, quotes and multibyte characters so
// JSON unescaping and UTF-8 decoding across chunk boundaries are part of the cost, as in real text.
const DELTAS = [
  "The quick ",
  "brown fox ",
  "jumps over the ",
  "lazy dog.\n\n",
  "Here is the ",
  "`config.ts` file ",
  "with a \"quoted\" ",
  "value — note ",
  "the café's ",
  "naïve résumé ",
  "so that ",
  "tests pass ✅ ",
];

const PARAGRAPH =
  "Streaming text from the model arrives in parts; this paragraph stands in for a long tool " +
  'output or a file the assistant quoted in full, with "quotes", tabs\tand newlines.\n';

/** Opencode-looking ids (`evt_` + hex time + base62 tail), deterministic so runs are comparable. */
function fakeID(prefix: string, n: number): string {
  const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  let tail = "";
  for (let i = 0, x = n * 2_654_435_761 + 97; i < 14; i++, x = Math.floor(x / 62) + i * 7_919) {
    tail += alphabet[x % 62];
  }
  return `${prefix}_${(0x19a0000000 + n).toString(16).padStart(12, "0")}${tail}`;
}

function textOf(length: number): string {
  return PARAGRAPH.repeat(Math.ceil(length / PARAGRAPH.length)).slice(0, length);
}

function frame(event: Event): string {
  return `data: ${JSON.stringify(event)}\n\n`;
}

/** The event as opencode 1.18 writes it on `/global/event`. */
function globalFrame(event: Event, directory: string | undefined): string {
  const wrapped = directory === undefined ? { payload: event } : { directory, project: "global", payload: event };
  return `data: ${JSON.stringify(wrapped)}\n\n`;
}

export function buildPayload(shape: Shape): StreamPayload {
  const sessions = Array.from({ length: SESSIONS }, (_, s) => fakeID("ses", s));
  const messages = sessions.map((_, s) => fakeID("msg", s));
  const connected: ServerConnected = { id: fakeID("evt", 0), type: "server.connected", properties: {} };
  const frames: string[] = [frame(connected)];
  const globalFrames: string[] = [globalFrame(connected, undefined)];
  const ids: { id: string; session: number }[] = [{ id: connected.id, session: -1 }];

  const push = (event: PartDelta | PartUpdated, session: number): void => {
    frames.push(frame(event));
    globalFrames.push(globalFrame(event, BENCH_PROJECT));
    ids.push({ id: event.id, session });
  };

  if (shape === "small") {
    for (let i = 0; i < SMALL_EVENTS; i++) {
      const s = i % SESSIONS;
      push(
        {
          id: fakeID("evt", i + 1),
          type: "message.part.delta",
          properties: {
            sessionID: sessions[s]!,
            messageID: messages[s]!,
            // A new text part every ~200 deltas per session, as a multi-step turn has.
            partID: fakeID("prt", s * 1_000 + Math.floor(i / (SESSIONS * 200))),
            field: "text",
            delta: DELTAS[i % DELTAS.length]!,
          },
        },
        s,
      );
    }
  } else {
    const count = shape === "large" ? LARGE_EVENTS : 1;
    const text = textOf(shape === "large" ? MiB : 20 * MiB);
    for (let i = 0; i < count; i++) {
      const s = i % SESSIONS;
      push(
        {
          id: fakeID("evt", i + 1),
          type: "message.part.updated",
          properties: {
            sessionID: sessions[s]!,
            part: {
              id: fakeID("prt", i),
              sessionID: sessions[s]!,
              messageID: messages[s]!,
              type: "text",
              text,
              time: { start: 1_760_000_000_000 + i, end: 1_760_000_001_000 + i },
            },
            time: 1_760_000_001_000 + i,
          },
        },
        s,
      );
    }
  }

  const ofFilter = ids.filter((entry) => entry.session === 0);
  return {
    shape,
    bytes: Buffer.from(frames.join(""), "utf8"),
    globalBytes: Buffer.from(globalFrames.join(""), "utf8"),
    events: ids.length,
    lastID: ids[ids.length - 1]!.id,
    filter: { sessionID: sessions[0]!, events: ofFilter.length, lastID: ofFilter[ofFilter.length - 1]!.id },
  };
}

export interface SseServer {
  url: string;
  /** `GET /event` and `GET /global/event` requests served so far; a consumer that reconnects re-reads the stream. */
  connections(): number;
  close(): Promise<void>;
}

// 64 KiB slices: what a socket read delivers anyway, so no consumer gets friendlier chunking.
const SLICE = 64 * 1024;

export async function startSseServer(payload: StreamPayload): Promise<SseServer> {
  const expectedAuth = `Basic ${Buffer.from(`${BENCH_USERNAME}:${BENCH_PASSWORD}`).toString("base64")}`;
  let connections = 0;

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://bench");
    const bytes = url.pathname === "/event" ? payload.bytes : url.pathname === "/global/event" ? payload.globalBytes : undefined;
    if (req.method !== "GET" || (bytes === undefined && url.pathname !== "/path")) {
      res.writeHead(404).end();
      return;
    }
    if (req.headers.authorization !== expectedAuth) {
      res.writeHead(401, { "www-authenticate": "Basic" }).end();
      return;
    }
    if (bytes === undefined) {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ directory: url.searchParams.get("directory") ?? BENCH_PROJECT }));
      return;
    }
    connections++;
    res.socket?.setNoDelay(true);
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    // The first frame goes out on its own, as opencode flushes `server.connected` at once.
    const firstFrameEnd = bytes.indexOf("\n\n") + 2;
    res.write(bytes.subarray(0, firstFrameEnd));
    let offset = firstFrameEnd;
    const pump = (): void => {
      while (offset < bytes.length) {
        const end = Math.min(offset + SLICE, bytes.length);
        const flushed = res.write(bytes.subarray(offset, end));
        offset = end;
        if (!flushed) {
          res.once("drain", pump);
          return;
        }
      }
      res.end();
    };
    res.on("close", () => res.off("drain", pump));
    pump();
  });
  const loopback = await listenOnLoopback(server);
  return {
    url: loopback.origin,
    connections: () => connections,
    close: loopback.close,
  };
}
