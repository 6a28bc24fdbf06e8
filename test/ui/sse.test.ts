// Re-broadcasting turns to browsers: toSSEResponse, pipeTurnToNodeResponse, readReplies.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AbortedError, pipeTurnToNodeResponse, toSSEResponse, type OpencodeClient, type Reply } from "../../src/index.js";
import { readReplies, type WireReply } from "../../src/browser/index.js";
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
      void pipeTurnToNodeResponse(turn, res, { heartbeatMs: 50 });
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
});
