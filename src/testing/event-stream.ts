// Recording and replaying `GET /event` streams for fixture tests: `recordEvents` keeps the raw
// bytes a real server sends (never re-encoded, so a replay is what the wire carried),
// `readEvents` parses a recording into events for the codec (`mapEvent`), and `replayEvents`
// serves a recording on loopback so a client's `events.subscribe()` reads it as from a server.

import { createServer } from "node:http";
import { createParser } from "eventsource-parser";
import { request } from "undici";
import type { Event } from "../node.js";
import { listenOnLoopback } from "./loopback.js";

export interface EventRecording {
  /** The bytes recorded so far, as text. */
  text(): string;
  /** Ends the recording and closes its connection; resolves to everything recorded. */
  stop(): Promise<string>;
}

export interface RecordTarget {
  /** The server's base URL. */
  url: string;
  username?: string;
  password?: string;
  /** Record one project directory's events (opencode's `directory` query). */
  directory?: string;
}

/** Opens `GET /event` on the server and records from its first byte; resolves once the server answered 200. */
export async function recordEvents(target: RecordTarget): Promise<EventRecording> {
  const url = new URL("event", target.url.endsWith("/") ? target.url : `${target.url}/`);
  if (target.directory) url.searchParams.set("directory", target.directory);
  const headers: Record<string, string> = { accept: "text/event-stream" };
  if (target.password) headers["authorization"] = `Basic ${Buffer.from(`${target.username ?? "opencode"}:${target.password}`).toString("base64")}`;
  const controller = new AbortController();
  // A quiet stream is normal (heartbeats every 10 s): no body timeout.
  const response = await request(url, { headers, signal: controller.signal, bodyTimeout: 0 });
  if (response.statusCode !== 200) {
    await response.body.dump();
    throw new Error(`recordEvents: GET ${url.pathname} answered ${response.statusCode}`);
  }
  const decoder = new TextDecoder();
  let recorded = "";
  const reading = (async () => {
    try {
      for await (const chunk of response.body) recorded += decoder.decode(chunk as Buffer, { stream: true });
    } catch {
      // stop() aborts the body; the recording ends there.
    }
  })();
  return {
    text: () => recorded,
    async stop() {
      controller.abort();
      await reading;
      return recorded;
    },
  };
}

/** The events of a recorded stream, in order; frames whose data is not a JSON object are skipped. */
export function readEvents(recording: string): Event[] {
  const events: Event[] = [];
  const parser = createParser({
    onEvent(message) {
      try {
        const value: unknown = JSON.parse(message.data);
        if (value && typeof value === "object" && typeof (value as { type?: unknown }).type === "string") events.push(value as Event);
      } catch {
        // not an event frame
      }
    },
  });
  parser.feed(recording);
  return events;
}

export interface ReplayOptions {
  /** Write the recording in chunks of this many bytes (default: all at once). */
  chunkSize?: number;
  /** Wait this long between chunks. */
  delayMs?: number;
  /** The version `GET /global/health` reports; default "1.18.33". */
  version?: string;
}

export interface EventReplay {
  /** Base URL for `createClient({ baseUrl })`. */
  url: string;
  close(): Promise<void>;
}

/**
 * Serves a recording: `GET /event` sends its bytes and then stays open (a real stream does not end
 * after a turn), `GET /global/health` answers healthy; anything else is 404.
 */
export async function replayEvents(recording: string, options: ReplayOptions = {}): Promise<EventReplay> {
  const bytes = Buffer.from(recording, "utf8");
  const chunkSize = options.chunkSize ?? bytes.length;
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method === "GET" && path === "/global/health") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ healthy: true, version: options.version ?? "1.18.33" }));
      return;
    }
    if (req.method !== "GET" || path !== "/event") {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ name: "NotFoundError", data: { message: `not in the replay: ${req.method} ${path}` } }));
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    void (async () => {
      for (let at = 0; at < bytes.length && !res.destroyed; at += Math.max(1, chunkSize)) {
        if (at > 0 && options.delayMs) await new Promise((resolve) => setTimeout(resolve, options.delayMs));
        res.write(bytes.subarray(at, at + Math.max(1, chunkSize)));
      }
    })();
  });
  const loopback = await listenOnLoopback(server);
  return { url: loopback.origin, close: loopback.close };
}
