// Re-broadcasting turns to browsers: toSSEResponse, pipeTurnToNodeResponse, readReplies.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AbortedError,
  pipeResumeToNodeResponse,
  pipeTurnToNodeResponse,
  resumeSSEResponse,
  toSSEResponse,
  type OpencodeClient,
  type Reply,
} from "../../src/index.js";
import { parseFrameId, readReplies, type WireReply } from "../../src/browser/index.js";
import { createParser } from "eventsource-parser";
import { directive, startModelServer, type ModelServer } from "../support/model-server.js";
import { startTestServer, type TestServer } from "../support/opencode.js";

let model: ModelServer;
let server: TestServer;
let client: OpencodeClient;

beforeAll(async () => {
  model = await startModelServer();
  server = await startTestServer({ config: model.providerConfig() });
  client = server.client();
});
afterAll(async () => {
  await server?.close();
  await model?.close();
});

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

const text = (replies: (Reply | WireReply)[]) => replies.flatMap((r) => (r.kind === "delta" ? [r.text] : [])).join("");

describe("streaming turns to UIs", () => {
  it("toSSEResponse: SSE headers, every reply in order, readReplies gets them back", async () => {
    const session = await client.session.create({});
    const turn = session.prompt(`x\n${directive({ text: "Streamed to the browser.", chunks: 4 })}`);
    const response = toSSEResponse(turn, { connection: client.events });
    expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(response.headers.get("cache-control")).toContain("no-cache");
    expect(response.headers.get("x-accel-buffering")).toBe("no");
    const states: string[] = [];
    const replies = await collect(readReplies(response, { onState: (s) => states.push(s) }));
    expect(text(replies)).toBe("Streamed to the browser.");
    expect(replies.filter((r) => r.kind === "delta").length).toBeGreaterThanOrEqual(4);
    expect(replies.at(-1)).toMatchObject({ kind: "final", text: "Streamed to the browser." });
    expect(states).toContain("open");
  });

  it("errors cross the wire as plain objects with name, message and retryable", async () => {
    const session = await client.session.create({});
    const turn = session.prompt(`x\n${directive({ error: { status: 401, message: "bad key" } })}`);
    const replies = await collect(readReplies(toSSEResponse(turn)));
    const last = replies.at(-1);
    expect(last?.kind).toBe("error");
    if (last?.kind === "error") {
      expect(last.error).toMatchObject({ name: "ProviderAuthError", retryable: false });
      expect(last.error.message).toContain("bad key");
    }
  });

  it("pipeTurnToNodeResponse streams onto a Node response; the browser leaving aborts the turn", async () => {
    const session = await client.session.create({});
    let turnDone: Promise<unknown> | undefined;
    const http = createServer((req, res) => {
      const turn = session.prompt(`x\n${directive({ text: "word ".repeat(50), chunks: 50, chunkDelayMs: 80 })}`);
      turnDone = turn.done.catch((e: unknown) => e);
      void pipeTurnToNodeResponse(turn, res, { heartbeatMs: 50, reconnectGraceMs: 300 });
    });
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    const { port } = http.address() as AddressInfo;
    const controller = new AbortController();
    const response = await fetch(`http://127.0.0.1:${port}/`, { signal: controller.signal });
    expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    const seen: WireReply[] = [];
    for await (const reply of readReplies(response, { signal: controller.signal })) {
      seen.push(reply);
      if (seen.length === 3) controller.abort();
    }
    expect(seen).toHaveLength(3);
    expect(await turnDone).toBeInstanceOf(AbortedError);
    http.close();
  });

  it("readReplies parses the stream split at every byte, multibyte characters included", async () => {
    const frames = [
      `event: state\ndata: {"state":"open"}\n\n`,
      `: heartbeat\n\n`,
      `event: reply\ndata: {"kind":"delta","sessionID":"s","messageID":"m","partID":"p","text":"héllo 🌍 世界"}\n\n`,
      `event: reply\r\ndata: {"kind":"final","sessionID":"s","messageID":"m","text":"héllo 🌍 世界","finish":"stop","usage":{"input":1,"output":1,"reasoning":0,"cacheRead":0,"cacheWrite":0,"cost":0}}\r\n\r\n`,
    ];
    const bytes = new TextEncoder().encode(frames.join(""));
    for (let cut = 1; cut < bytes.length; cut++) {
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(bytes.slice(0, cut));
          controller.enqueue(bytes.slice(cut));
          controller.close();
        },
      });
      const states: string[] = [];
      const replies = await collect(readReplies(stream, { onState: (s) => states.push(s) }));
      expect(replies.map((r) => r.kind)).toEqual(["delta", "final"]);
      expect(text(replies)).toBe("héllo 🌍 世界");
      expect(states).toEqual(["open"]);
    }
  });

  it("readReplies rejects a non-SSE answer and a stream that ends before the turn", async () => {
    await expect(collect(readReplies(new Response("<html>", { headers: { "content-type": "text/html" } })))).rejects.toThrow(/text\/html/);
    await expect(collect(readReplies(new Response("nope", { status: 502 })))).rejects.toThrow(/502/);
    const cut = new Response(`event: reply\ndata: {"kind":"delta","sessionID":"s","messageID":"m","partID":"p","text":"a"}\n\n`, {
      headers: { "content-type": "text/event-stream" },
    });
    await expect(collect(readReplies(cut))).rejects.toThrow(/ended before the turn/);
  });

  it("turn.toReadableStream yields the same replies", async () => {
    const session = await client.session.create({});
    const turn = session.prompt(`x\n${directive({ text: "Via a web stream.", chunks: 3 })}`);
    const replies: Reply[] = [];
    const reader = turn.toReadableStream().getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      replies.push(value);
    }
    expect(text(replies)).toBe("Via a web stream.");
    expect(replies.at(-1)?.kind).toBe("final");
  });

  it("every reply frame has an id naming the turn and its position; a reconnect with Last-Event-ID gets the rest, once", async () => {
    const session = await client.session.create({});
    const expected = "one two three four five six seven eight nine ten eleven twelve";
    const turn = session.prompt(`x\n${directive({ text: expected, chunks: 12, chunkDelayMs: 60 })}`);
    const first = toSSEResponse(turn, { reconnectGraceMs: 10_000 });
    const ids: string[] = [];
    const seen: Reply[] = [];
    const reader = first.body!.getReader();
    const decoder = new TextDecoder();
    const parser = createParser({
      onEvent(message) {
        if (message.event === "turn") expect(parseFrameId(message.id)).toEqual({ sessionID: session.id, messageID: turn.messageID, stream: expect.stringMatching(/^[a-z0-9]{6}$/), seq: 0 });
        if (message.event !== "reply") return;
        ids.push(message.id!);
        seen.push(JSON.parse(message.data) as Reply);
      },
    });
    // Read until four deltas arrived, then drop the stream as a flaky network would.
    while (seen.filter((r) => r.kind === "delta").length < 4) {
      const { value, done } = await reader.read();
      if (done) throw new Error("ended early");
      parser.feed(decoder.decode(value, { stream: true }));
    }
    await reader.cancel();
    expect(ids.map((id) => parseFrameId(id)?.seq)).toEqual(ids.map((_, i) => i + 1));

    const resumed = await collect(readReplies(await resumeSSEResponse(ids.at(-1))));
    const all = [...seen, ...resumed];
    expect(text(all)).toBe(expected);
    expect(all.at(-1)).toMatchObject({ kind: "final", text: expected });
    expect(resumed.length).toBeGreaterThan(0);
    // The turn was not aborted by the drop: a reader came back within the grace period.
    await expect(turn.done).resolves.toMatchObject({ text: expected });

    // An id of no known turn, and one this process never issued, are answered 404.
    expect((await resumeSSEResponse(`${session.id}:msg_unknown:3`)).status).toBe(404);
    expect((await resumeSSEResponse("not-an-id")).status).toBe(404);
  });

  it("readReplies reconnects by itself when the stream drops mid-turn, and shows 'reconnecting'", async () => {
    const session = await client.session.create({});
    const expected = "alpha beta gamma delta epsilon zeta eta theta iota kappa";
    let drops = 0;
    const http = createServer((req, res) => {
      if (req.url === "/resume") return void pipeResumeToNodeResponse(req, res, { reconnectGraceMs: 10_000 });
      const turn = session.prompt(`x\n${directive({ text: expected, chunks: 10, chunkDelayMs: 80 })}`);
      void pipeTurnToNodeResponse(turn, res, { resumeUrl: "/resume", reconnectGraceMs: 10_000 });
      // Cut the connection after a few frames went out, without ending the response properly.
      let frames = 0;
      const write = res.write.bind(res);
      res.write = ((chunk: string) => {
        if (typeof chunk === "string" && chunk.includes("event: reply") && ++frames === 4) {
          drops++;
          // Cut once the frames so far left for the reader: a destroy with them still buffered
          // (a busy machine) would drop them too, and the reader would have no id to resume from.
          write(chunk, () => res.socket?.destroy());
          return true;
        }
        return write(chunk);
      }) as typeof res.write;
    });
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    const { port } = http.address() as AddressInfo;
    const base = `http://127.0.0.1:${port}`;
    const states: string[] = [];
    const replies = await collect(
      readReplies(await fetch(`${base}/`), {
        resume: new URL("/resume", base),
        reconnectDelayMs: 50,
        onState: (state) => states.push(state),
      }),
    );
    http.close();
    expect(drops).toBe(1);
    expect(states).toEqual(["reconnecting", "open"]);
    expect(text(replies)).toBe(expected);
    expect(replies.at(-1)).toMatchObject({ kind: "final", text: expected });
    const ids = replies.map((r) => JSON.stringify(r));
    expect(new Set(ids).size).toBe(ids.length);
  });
});
