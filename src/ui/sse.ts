// Re-broadcasts a Turn to a browser as Server-Sent Events: as a web `Response` (fetch-style
// servers) or onto a Node `http.ServerResponse`, with heartbeats, the connection state, resumable
// frame ids (a reconnect with Last-Event-ID continues where the dropped stream stopped), and the
// browser going away for good aborting the turn.

import type { ConnectionState } from "../events/types.js";
import type { Turn } from "../turn/turn.js";
import {
  CursorTracker,
  frameId,
  parseFrameId,
  skipDelivered,
  sseFrame,
  toWireReply,
  type FramePosition,
  type TextCursor,
  type WireOptions,
  type WireReply,
} from "../browser/wire.js";
import { NotFoundError, StreamError } from "../http/errors.js";
import { ReplayGapError, streamToken, TurnReplays, type TurnReplay } from "./replay.js";
import { abandonOnLeave, sseWebBody, withHeartbeat, type LeaveOptions, type SSEProducer } from "./sse-body.js";

/**
 * What the Node functions use of an `http.ServerResponse`, written out so this module's types need
 * no Node type definitions (a browser or worker build never sees `node:http`).
 */
export interface NodeResponseLike {
  writeHead(status: number, headers: Record<string, string>): NodeResponseLike;
  flushHeaders(): void;
  write(chunk: string): boolean;
  end(chunk?: string): unknown;
  on(event: "close", listener: () => void): unknown;
}

/** What `pipeResumeToNodeResponse` reads of an `http.IncomingMessage`. */
export interface NodeRequestLike {
  headers: Record<string, string | string[] | undefined>;
}

export interface SSEOptions extends WireOptions, LeaveOptions {
  /** Forward this connection's state (e.g. `client.events`) so the page can say "reconnecting…". */
  connection?: { readonly state: ConnectionState; onState(listener: (state: ConnectionState) => void): () => void };
  /** Where the turn's frames are kept for reconnects. Default: one registry per process. */
  replays?: TurnReplays<WireReply>;
  /** Sent as the `opencode-resume` header: the URL `readReplies` reconnects to (with Last-Event-ID). */
  resumeUrl?: string;
}

export const SSE_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache, no-transform",
  connection: "keep-alive",
  // nginx and similar buffer responses unless told not to.
  "x-accel-buffering": "no",
};

/** The header naming the resume URL for `readReplies`. */
export const RESUME_HEADER = "opencode-resume";

const defaultReplays = new TurnReplays<WireReply>();

/**
 * The turn's replies for the wire. A Turn has one reader: one already read elsewhere gets an error
 * frame instead of an exception nobody could catch.
 */
async function* wireReplies(turn: Turn, options: WireOptions): AsyncGenerator<WireReply> {
  if (turn.consumed) {
    const error = new StreamError("this turn's replies are already being read elsewhere (a Turn has one reader)");
    yield toWireReply({ kind: "error", sessionID: turn.sessionID, error });
    return;
  }
  const tracker = new CursorTracker();
  for await (const reply of turn) {
    const wire = toWireReply(reply, options);
    tracker.see(wire);
    cursors.set(wire, tracker.cursor);
    yield wire;
  }
}

/** The browser's text position after each replayed reply (the replay keeps the same objects). */
const cursors = new WeakMap<WireReply, TextCursor[]>();

/** How to stop each replay's turn, for readers (first or resumed) that leave for good. */
const aborts = new WeakMap<TurnReplay<WireReply>, () => void>();

/** Registers the turn for resumption (once) and returns its replay. */
function replayOf(turn: Turn, options: SSEOptions): TurnReplay<WireReply> {
  const replays = options.replays ?? defaultReplays;
  let replay = replays.of(turn);
  if (!replay) {
    replay = replays.add(turn, wireReplies(turn, options));
    aborts.set(replay, () => void turn.abort());
  }
  return replay;
}

type Source =
  | { replay: TurnReplay<WireReply>; after: number }
  | { frames: AsyncIterable<WireReply>; position: FramePosition; stop: AbortController };

/** The frame id of `seq` in the replay's turn (its user message id exists once it has frames). */
function replayFrameId(replay: TurnReplay<WireReply>, seq: number, cursor?: TextCursor[]): string {
  return frameId({ sessionID: replay.sessionID, messageID: replay.messageID ?? "", stream: replay.stream, seq, ...(cursor?.length ? { cursor } : {}) });
}

/**
 * Writes `state` changes, the `turn` frame (its id names the turn), every reply with its id; ends
 * after the terminal reply. Returns what to call when the browser leaves.
 */
function frames(source: Source, options: SSEOptions): SSEProducer {
  return ({ write, end }) => {
    let finished = false;
    const stopReading = new AbortController();
    if (options.connection) write(sseFrame("state", { state: options.connection.state }));
    const unsubscribe = options.connection?.onState((state) => write(sseFrame("state", { state })));
    void (async () => {
      try {
        if ("replay" in source) {
          const replay = source.replay;
          for await (const { seq, item } of replay.read(source.after, stopReading.signal)) {
            // The turn frame first: it names the turn, so a reader that drops right after still finds it.
            if (seq === 1) write(sseFrame("turn", { sessionID: replay.sessionID, messageID: replay.messageID }, replayFrameId(replay, 0)));
            write(sseFrame("reply", item, replayFrameId(replay, seq, cursors.get(item))));
          }
        } else {
          // Rebuilt from the server: a stream of its own, numbered from 1, positioned by the cursor.
          const { sessionID, messageID } = source.position;
          const stream = streamToken();
          const tracker = new CursorTracker(source.position.cursor);
          const id = (seq: number) => frameId({ sessionID, messageID, stream, seq, cursor: tracker.cursor });
          // Its turn frame keeps the browser's cursor, so a drop before the first reply loses nothing.
          write(sseFrame("turn", { sessionID, messageID }, id(0)));
          let seq = 0;
          for await (const reply of source.frames) {
            tracker.see(reply);
            write(sseFrame("reply", reply, id(++seq)));
          }
        }
        finished = !stopReading.signal.aborted;
      } catch (error) {
        // A reader further behind than the replay keeps: say so in-band, the browser cannot resume.
        if (error instanceof ReplayGapError) write(sseFrame("gone", { message: error.message }));
        finished = true;
      } finally {
        unsubscribe?.();
        end();
      }
    })();
    // The browser left: stop writing and, unless it comes back in time, stop the turn on the server.
    return () => {
      unsubscribe?.();
      stopReading.abort();
      // A turn rebuilt from the server only stops being followed here; it runs on for its owner.
      if (!("replay" in source)) return source.stop.abort();
      const abort = aborts.get(source.replay);
      if (!finished && abort) abandonOnLeave(source.replay, options, abort);
    };
  };
}

function sourceFor(turn: Turn, options: SSEOptions): Source {
  return { replay: replayOf(turn, options), after: 0 };
}

/**
 * What a reconnect with this Last-Event-ID reads: this process's replay of the turn, or the attach
 * hook's frames for a turn it never saw. `undefined`: no such turn.
 */
async function resumeSource(lastEventId: string | null | undefined, options: SSEOptions): Promise<Source | undefined> {
  const position = parseFrameId(lastEventId);
  if (!position) return undefined;
  const replays = options.replays ?? defaultReplays;
  const replay = replays.get(position.sessionID, position.messageID);
  // Our own stream (or an id that names none): its frame numbers are exact.
  if (replay && (position.stream === undefined || position.stream === replay.stream)) return { replay, after: position.seq };
  const stop = new AbortController();
  const attached = await replays.attach?.(position, stop.signal);
  return attached ? { frames: attached as AsyncIterable<WireReply>, position, stop } : undefined;
}

/** What `attachFromServer` needs of `client.session`. */
export interface AttachableSessions {
  get(id: string): { attach(options: { signal?: AbortSignal }): Promise<Turn | undefined> };
}

/**
 * The `ReplayOptions.attach` hook that resumes a turn this process never streamed (it started on
 * another app process, or before a restart): `session.attach()` rebuilds it from the opencode
 * server, and the reconnect's cursor drops the text the browser already shows (the rule is at
 * `FramePosition`). Undefined (a 404) when that turn is no longer running.
 *
 *     const replays = new TurnReplays<WireReply>({ attach: attachFromServer(client.session) });
 *     pipeResumeToNodeResponse(req, res, { replays });
 */
export function attachFromServer(
  sessions: AttachableSessions,
  options: WireOptions = {},
): (position: FramePosition, signal: AbortSignal) => Promise<AsyncIterable<WireReply> | undefined> {
  return async (position, signal) => {
    // A session the server does not have (attach says NotFoundError) runs no turn to resume either.
    const turn = await sessions
      .get(position.sessionID)
      .attach({ signal })
      .catch((error: unknown) => {
        if (error instanceof NotFoundError) return undefined;
        throw error;
      });
    if (!turn) return undefined;
    if (turn.messageID !== position.messageID) {
      // The session runs a later turn: the one asked for has ended. Stop following (only here).
      void turn.abort();
      return undefined;
    }
    return skipDelivered(wireReplies(turn, options), position.cursor);
  };
}

function sseHeaders(options: SSEOptions, init: HeadersInit | undefined): Headers {
  const headers = new Headers(init);
  for (const [key, value] of Object.entries(SSE_HEADERS)) headers.set(key, value);
  if (options.resumeUrl) headers.set(RESUME_HEADER, options.resumeUrl);
  return headers;
}

function sourceResponse(source: Source, options: SSEOptions, init: ResponseInit): Response {
  return new Response(sseWebBody(frames(source, options), options.heartbeatMs), { ...init, headers: sseHeaders(options, init.headers) });
}

/** A web `Response` streaming the turn as SSE (for fetch-style handlers: Hono, Next.js, Bun, Deno). */
export function toSSEResponse(turn: Turn, options: SSEOptions = {}, init: ResponseInit = {}): Response {
  return sourceResponse(sourceFor(turn, options), options, init);
}

/**
 * Answers a reconnect: the frames after its `Last-Event-ID`, then live. 404 when no turn of that
 * id is known here (and the attach hook has none), 410 when its frames were already dropped.
 */
export async function resumeSSEResponse(lastEventId: string | null | undefined, options: SSEOptions = {}, init: ResponseInit = {}): Promise<Response> {
  const source = await resumeSource(lastEventId, options);
  if (!source) return new Response("no such turn to resume", { status: 404 });
  if ("replay" in source && !source.replay.keeps(source.after)) return new Response("the turn's frames after that id are no longer kept", { status: 410 });
  return sourceResponse(source, options, init);
}

function pipeSource(source: Source, response: NodeResponseLike, options: SSEOptions): Promise<void> {
  return new Promise((resolve) => {
    response.writeHead(200, Object.fromEntries(sseHeaders(options, undefined)));
    response.flushHeaders();
    let ended = false;
    const leave = withHeartbeat(frames(source, options), options.heartbeatMs)({
      write: (chunk) => !ended && response.write(chunk),
      end: () => {
        if (!ended) response.end();
        ended = true;
        resolve();
      },
    });
    response.on("close", () => {
      if (ended) return;
      ended = true;
      leave();
      resolve();
    });
  });
}

/** Streams the turn as SSE onto a Node response; resolves when the turn ended or the browser left. */
export function pipeTurnToNodeResponse(turn: Turn, response: NodeResponseLike, options: SSEOptions = {}): Promise<void> {
  return pipeSource(sourceFor(turn, options), response, options);
}

/** `resumeSSEResponse` for Node: reads Last-Event-ID from `request` and answers on `response`. */
export async function pipeResumeToNodeResponse(
  request: NodeRequestLike,
  response: NodeResponseLike,
  options: SSEOptions = {},
): Promise<void> {
  const header = request.headers["last-event-id"];
  const source = await resumeSource(Array.isArray(header) ? header[0] : header, options);
  if (!source) return void response.writeHead(404, { "content-type": "text/plain" }).end("no such turn to resume");
  if ("replay" in source && !source.replay.keeps(source.after)) {
    return void response.writeHead(410, { "content-type": "text/plain" }).end("the turn's frames after that id are no longer kept");
  }
  return pipeSource(source, response, options);
}
