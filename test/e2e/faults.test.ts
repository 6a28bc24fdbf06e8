// Network faults between the client and a real server (through a TCP fault proxy). Each ends in a
// complete turn with intact text, or a typed error, within bounded time — never a hang, never
// duplicated or lost text.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OpencodeClient, Reply, Session } from "../../src/index.js";
import { startFaultProxy, type FaultProxy } from "../support/fault-proxy.js";
import { directive, startModelServer, type ModelServer } from "../support/model-server.js";
import { startTestServer, type TestServer } from "../support/opencode.js";

let model: ModelServer;
let server: TestServer;
let proxy: FaultProxy;
let client: OpencodeClient;

beforeAll(async () => {
  model = await startModelServer();
  server = await startTestServer({ config: model.providerConfig() });
  proxy = await startFaultProxy(server.url);
  client = server.client({ baseUrl: proxy.url, events: { idleTimeoutMs: 1_500, reconnectMaxMs: 500 } });
  // The first turn on a server carries ~50 plugin/catalog events; get it out of the way.
  await (await client.session.create({})).run(`warm up\n${directive({ text: "ok" })}`);
});
afterAll(async () => {
  await proxy?.close();
  await server?.close();
  await model?.close();
});

const words = (n: number) => Array.from({ length: n }, (_, i) => `w${i}`).join(" ") + ".";

async function storedText(session: Session, userMessageID: string): Promise<string> {
  const messages = await session.messages();
  const last = messages.filter((m) => m.info.role === "assistant" && "parentID" in m.info && m.info.parentID === userMessageID).at(-1);
  return (last?.parts ?? []).flatMap((p) => (p.type === "text" ? [p.text] : [])).join("");
}

/** Runs a turn, calling `fault` after `after` deltas; returns the replies and checks the text. */
async function turnWithFault(text: string, after: number, fault: () => void, chunkDelayMs = 60) {
  const session = await client.session.create({});
  const turn = session.prompt(`x\n${directive({ text, chunks: 30, chunkDelayMs })}`);
  const replies: Reply[] = [];
  const started = Date.now();
  for await (const reply of turn) {
    replies.push(reply);
    if (reply.kind === "delta" && replies.filter((r) => r.kind === "delta").length === after) fault();
  }
  const final = await turn.done;
  expect(final.text).toBe(text);
  expect(replies.flatMap((r) => (r.kind === "delta" ? [r.text] : [])).join("")).toBe(text);
  expect(final.text).toBe(await storedText(session, turn.messageID!));
  return { replies, ms: Date.now() - started };
}

describe("faults on the event connection", () => {
  it("a stalled stream (open, silent) is detected by the watchdog and the turn completes", async () => {
    const text = words(30);
    const { ms } = await turnWithFault(text, 3, () => expect(proxy.stall("/event")).toBe(1));
    expect(ms).toBeLessThan(20_000);
  });

  it("bytes dripped one at a time still make whole events", async () => {
    const session = await client.session.create({});
    const text = words(8);
    const turn = session.prompt(`x\n${directive({ text, chunks: 8 })}`);
    void proxy.waitFor("/event").then(() => proxy.drip("/event", { intervalMs: 1, bytesPerTick: 32 }));
    const final = await turn.done;
    expect(final.text).toBe(text);
    expect(turn.text).toBe(text);
  });

  it("a frame cut in half (connection reset mid-frame) loses and repeats nothing", async () => {
    await turnWithFault(words(30), 4, () => proxy.cutMidFrame("/event"));
  });

  it("connections refused for a while: the client keeps trying and catches up", async () => {
    await turnWithFault(words(30), 3, () => {
      proxy.refuse(2_000);
      proxy.cut("/event", { reset: true });
    });
    proxy.refuse(0); // the outage must not outlive this test
  });
});

describe("a cut at the end of a structured-output turn", () => {
  it("still ends with the final and its structured value (the server cannot list that prompt: 400)", async () => {
    const session = await client.session.create({});
    const script = { text: "Looking it up.", chunks: 4, chunkDelayMs: 150, toolCalls: [{ name: "StructuredOutput", input: { answer: 42 } }] };
    const turn = session.prompt(`x\n${directive(script)}`, {
      format: { type: "json_schema", schema: { type: "object", properties: { answer: { type: "number" } }, required: ["answer"] } },
    });
    for await (const reply of turn) {
      // Nothing more reaches the client (the value, the message update, the idle): the watchdog
      // reconnects and the turn must catch up from the server's storage.
      if (reply.kind === "delta") expect(proxy.stall("/event")).toBe(1);
    }
    const final = await turn.done;
    expect(final.structured).toEqual({ answer: 42 });
    expect(final.finish).toBe("tool-calls");
    expect(final.text).toBe("Looking it up.");
  }, 30_000);
});

describe("faults on requests", () => {
  it("prompt_async reset mid-body is retried under the same messageID: one user message, one turn", async () => {
    const session = await client.session.create({});
    proxy.resetRequestAfter(40, (c) => (c.path ?? "").includes("/prompt_async"));
    const text = "Answered once.";
    const turn = session.prompt(`x\n${directive({ text })}`);
    expect((await turn.done).text).toBe(text);
    const messages = await session.messages();
    expect(messages.filter((m) => m.info.role === "user")).toHaveLength(1);
    expect(messages.filter((m) => m.info.id === turn.messageID)).toHaveLength(1);
  });

  it("a prompt while connections are refused waits, then runs", async () => {
    const session = await client.session.create({});
    proxy.refuse(1_500);
    const final = await session.run(`x\n${directive({ text: "After the outage." })}`);
    expect(final.text).toBe("After the outage.");
    proxy.refuse(0);
  });
});
