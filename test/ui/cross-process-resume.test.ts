// Resuming a re-broadcast turn on an app "process" that never saw it: two clients of one real
// opencode server, each with its own replay store, stand in for two app processes. The second
// rebuilds the turn from the server (attachFromServer) and the frame id's cursor keeps the text
// whole: nothing lost, nothing repeated, wherever the first stream dropped.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createParser } from "eventsource-parser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  attachFromServer,
  pipeResumeToNodeResponse,
  pipeTurnToNodeResponse,
  resumeSSEResponse,
  toSSEResponse,
  TurnReplays,
  UIChats,
  type OpencodeClient,
  type Session,
} from "../../src/index.js";
import { parseFrameId, readReplies, type WireReply } from "../../src/browser/index.js";
import { directive, startModelServer, type ModelServer } from "../support/model-server.js";
import { startTestServer, type TestServer } from "../support/opencode.js";
import { chunksOfResponse, messageOf } from "./ai-sdk-support.js";

let model: ModelServer;
let server: TestServer;
/** The process that starts turns, and the one reconnects land on. */
let first: { client: OpencodeClient; replays: TurnReplays<WireReply> };
let second: { client: OpencodeClient; replays: TurnReplays<WireReply> };

beforeAll(async () => {
  model = await startModelServer();
  server = await startTestServer({ config: model.providerConfig() });
  const a = server.client();
  const b = server.client();
  first = { client: a, replays: new TurnReplays<WireReply>({ attach: attachFromServer(a.session) }) };
  second = { client: b, replays: new TurnReplays<WireReply>({ attach: attachFromServer(b.session) }) };
});
afterAll(async () => {
  await server?.close();
  await model?.close();
});

const PART_ONE = "The first part streams in small pieces before the tool runs. ";
const PART_TWO = "The second part follows the tool result and ends the turn.";

/** Two text parts in two assistant messages, with a bash call between them, streamed slowly. */
function script(turn: number): string {
  return `turn ${turn}\n${directive({
    chunkDelayMs: 50,
    steps: [
      { text: PART_ONE, chunks: 10, toolCalls: [{ name: "bash", input: { command: `echo step-${turn}`, description: "Step" } }] },
      { text: PART_TWO, chunks: 10 },
    ],
  })}`;
}

const text = (replies: WireReply[]) => replies.flatMap((r) => (r.kind === "delta" ? [r.text] : [])).join("");

/** The assistant text the server stored for the session, in order. */
async function storedText(session: Session): Promise<string> {
  const messages = await server.client().request("get", "/session/{sessionID}/message", { path: { sessionID: session.id } });
  return messages
    .filter((m) => m.info.role === "assistant")
    .flatMap((m) => m.parts.flatMap((p) => (p.type === "text" ? [p.text] : [])))
    .join("");
}

/** Reads the first stream until `stop` says so, then drops it; returns the replies and the last id. */
async function readUntil(response: Response, stop: (replies: WireReply[], named: boolean) => boolean): Promise<{ replies: WireReply[]; lastId: string }> {
  const replies: WireReply[] = [];
  let lastId = "";
  const parser = createParser({
    onEvent(message) {
      if (message.event === "turn") lastId = message.id!;
      if (message.event !== "reply" || stop(replies, lastId !== "")) return;
      replies.push(JSON.parse(message.data) as WireReply);
      lastId = message.id!;
    },
  });
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  while (!stop(replies, lastId !== "")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the first stream ended before the drop point");
    parser.feed(decoder.decode(value, { stream: true }));
  }
  await reader.cancel();
  return { replies, lastId };
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

describe("resuming on another app process", () => {
  // Drop points: before any text, mid first part (still streaming: the server stores it only when
  // it closes), after the tool call, mid second part.
  const drops: [string, (replies: WireReply[], named: boolean) => boolean][] = [
    ["before the first reply", (_, named) => named],
    ["in the middle of the first text part", (r) => text(r).length >= 20],
    ["right after the tool call", (r) => r.some((x) => x.kind === "tool_call" || x.kind === "tool_result")],
    ["in the middle of the second text part", (r) => text(r).length >= PART_ONE.length + 15],
  ];
  let turns = 0;
  for (const [where, stop] of drops) {
    it(`a reconnect ${where} continues from the server with every character exactly once`, async () => {
      const session = await first.client.session.create({});
      const turn = session.prompt(script(++turns));
      // Behind a load balancer the reconnect may land elsewhere: this process must not stop the turn.
      const response = toSSEResponse(turn, { replays: first.replays, abortOnDisconnect: false });
      const { replies: before, lastId } = await readUntil(response, stop);
      const position = parseFrameId(lastId)!;
      expect(position.messageID).toBe(turn.messageID);

      const resumed = await resumeSSEResponse(lastId, { replays: second.replays });
      expect(resumed.status).toBe(200);
      const after = await collect(readReplies(resumed));
      const all = [...before, ...after];
      expect(all.at(-1)).toMatchObject({ kind: "final", text: PART_TWO });
      expect(text(all)).toBe(PART_ONE + PART_TWO);
      expect(await storedText(session)).toBe(PART_ONE + PART_TWO);
      // The tool's state arrives on the second process too (again, if the first had sent it).
      expect(after.some((r) => r.kind === "tool_result" && r.status === "completed")).toBe(true);
      await expect(turn.done).resolves.toMatchObject({ text: PART_TWO });
    });
  }

  it("readReplies reconnects by itself when its stream drops, to a process that never saw the turn", async () => {
    const servers: Server[] = [];
    const listen = async (handler: Parameters<typeof createServer>[1]) => {
      const http = createServer(handler);
      servers.push(http);
      await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
      return `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    };
    const other = await listen((req, res) => void pipeResumeToNodeResponse(req, res, { replays: second.replays }));
    const session = await first.client.session.create({});
    const origin = await listen((req, res) => {
      const turn = first.client.session.get(session.id).prompt(script(++turns));
      void pipeTurnToNodeResponse(turn, res, { replays: first.replays, abortOnDisconnect: false, resumeUrl: `${other}/resume` });
      // Cut the connection mid first part, as a flaky network would.
      let deltas = 0;
      const write = res.write.bind(res);
      res.write = ((chunk: string) => {
        // Cut once the frames so far left for the reader (so it has an id to resume from).
        if (typeof chunk === "string" && chunk.includes('"kind":"delta"') && ++deltas === 3) return write(chunk, () => res.socket?.destroy());
        return write(chunk);
      }) as typeof res.write;
    });
    try {
      const states: string[] = [];
      const replies = await collect(readReplies(await fetch(`${origin}/prompt`), { onState: (s) => states.push(s), reconnectDelayMs: 50 }));
      expect(text(replies)).toBe(PART_ONE + PART_TWO);
      expect(replies.at(-1)).toMatchObject({ kind: "final", text: PART_TWO });
      expect(states).toContain("reconnecting");
      expect(await storedText(session)).toBe(PART_ONE + PART_TWO);
    } finally {
      for (const http of servers) {
        http.closeAllConnections();
        http.close();
      }
    }
  });

  it("a reconnect for a turn that has ended, on a process that never saw it, is answered 404", async () => {
    const session = await first.client.session.create({});
    const turn = session.prompt(`x\n${directive({ text: "Short." })}`);
    await turn.done;
    expect((await resumeSSEResponse(`${session.id}:${turn.messageID}:zzz.3`, { replays: second.replays })).status).toBe(404);
  });

  it("useChat's resume on a process that never saw the turn streams it from its start, attached from the server", async () => {
    const session = await first.client.session.create({});
    const chatsA = new UIChats({ abortOnDisconnect: false });
    const chatsB = new UIChats({ sessions: second.client.session });
    const turn = session.prompt(script(++turns));
    const response = chatsA.start(turn);
    // The page reloads after the first text arrived: its stream is gone.
    const reader = response.body!.getReader();
    let seen = "";
    while (!seen.includes("text-delta")) seen += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();

    const resumed = await chatsB.resumeFromServer(session.id);
    expect(resumed.status).toBe(200);
    const { message, errors } = await messageOf(await chunksOfResponse(resumed));
    expect(errors).toEqual([]);
    const texts = message!.parts.flatMap((part) => (part.type === "text" ? [part.text] : []));
    expect(texts.join("")).toBe(PART_ONE + PART_TWO);
    expect(message!.parts.some((part) => part.type === "dynamic-tool" && part.toolName === "bash" && part.state === "output-available")).toBe(true);
    // Once the turn is over, a resume there finds nothing running.
    await turn.done;
    expect((await new UIChats({ sessions: second.client.session }).resumeFromServer(session.id)).status).toBe(204);
  });

  it("two browsers resuming the same turn on one process that never saw it both follow it live", async () => {
    const session = await first.client.session.create({});
    const turn = session.prompt(script(++turns));
    let ended = false;
    void turn.done.then(
      () => (ended = true),
      () => (ended = true),
    );
    const start = `${session.id}:${await runningTurn(session.id, turn)}:0`;
    // Two tabs reloaded onto the second process: each attaches to the running turn there.
    const reads = [0, 1].map(async () => {
      const response = await resumeSSEResponse(start, { replays: second.replays });
      let liveText = "";
      let all = "";
      for await (const reply of readReplies(response)) {
        if (reply.kind !== "delta") continue;
        all += reply.text;
        if (!ended) liveText = all;
      }
      return { all, liveText };
    });
    const [a, b] = await Promise.all(reads);
    for (const read of [a!, b!]) {
      expect(read.all).toBe(PART_ONE + PART_TWO);
      // Followed live: text arrived while the turn still ran, not all of it after the end.
      expect(read.liveText.length).toBeGreaterThan(0);
    }
  });
});

/** The turn's user message id, once the server runs it (attach finds only a busy session's turn). */
async function runningTurn(sessionID: string, turn: { messageID: string | undefined }): Promise<string> {
  for (let i = 0; i < 500; i++) {
    const statuses = await server.client().request("get", "/session/status", {});
    if (turn.messageID !== undefined && statuses[sessionID]?.type === "busy") return turn.messageID;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error("the turn never ran");
}
