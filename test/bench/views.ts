// Session views benchmark (`npm run bench -- views`). Four measurements, each printed as a figure
// against its reference measured in the same run; nothing here asserts a timing.
//
// 1. codec: client CPU to fold the same stream (a recorded turn repeated into one long turn,
//    ~100k events) with the turn codec (`mapEvent`) and with the view's reducer, the view holding
//    a 10-message and a 10,000-message history: the ratio view / codec (target ≤ 1.2×).
// 2. history: a 10,000-message session paged in 100 at a time by a real client in a process of
//    its own (as an app runs; the local HTTP server answering like opencode, `X-Next-Cursor`, is
//    this process): total time and, each round, the longest the client's event loop was blocked
//    (target ≤ 50 ms) and its longest GC pause.
// 3. subscribers: one view with 1,000 subscribers while 5,000 deltas stream: notifications per
//    subscriber (coalesced) and CPU per event against the same view with one subscriber.
// 4. views: 200 session views on one client: time to open them all, event connections used, and
//    CPU per event while every session streams.

import { createServer, type ServerResponse } from "node:http";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { spawn } from "node:child_process";
import { parseArgs } from "node:util";
import { createParser } from "eventsource-parser";
import { createClient } from "../../src/index.js";
import type { Event } from "../../src/events/types.js";
import type { StoredMessage } from "../../src/session/session.js";
import { initialTurnState, mapEvent } from "../../src/turn/map-event.js";
import { initialSessionState, mergeHistory, reduceSession } from "../../src/views/session-state.js";
import { listenOnLoopback } from "../support/loopback.js";
import { BenchmarkFailure } from "./events.js";
import type { PagingResult, PagingRun } from "./views-paging.js";

const FIXTURE = fileURLToPath(new URL("../fixtures/", import.meta.url));

export async function runViewsBenchmark(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { rounds: { type: "string", default: "5" } } });
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) throw new BenchmarkFailure("--rounds must be a positive integer");
  console.log(`views benchmark: ${rounds} rounds for the CPU comparison and the paging`);
  codecVersusView(rounds);
  await historyPaging(rounds);
  await subscribersAndViews();
}

// ---------------------------------------------------------------------------------------------
// 1. codec vs view

/** The recorded `text` turn, its assistant deltas repeated so the one turn has ~100k events. */
function longTurn(): { sessionID: string; userMessageID: string; events: Event[] } {
  const meta = JSON.parse(readFileSync(`${FIXTURE}text.json`, "utf8")) as { sessionID: string; userMessageID: string };
  const events: Event[] = [];
  createParser({ onEvent: (m) => events.push(JSON.parse(m.data) as Event) }).feed(readFileSync(`${FIXTURE}text.sse`, "utf8"));
  const firstDelta = events.findIndex((e) => e.type === "message.part.delta");
  const lastDelta = events.findLastIndex((e) => e.type === "message.part.delta");
  const delta = events[firstDelta] as Extract<Event, { type: "message.part.delta" }>;
  const many: Event[] = [];
  for (let i = 0; i < 100_000; i++) many.push({ ...delta, id: `evt_bench${String(i).padStart(7, "0")}`, properties: { ...delta.properties, delta: "word " } });
  return { ...meta, events: [...events.slice(0, firstDelta), ...many, ...events.slice(lastDelta + 1)] };
}

function cpuMs(run: () => void): number {
  const start = process.cpuUsage();
  run();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

function codecVersusView(rounds: number): void {
  const turn = longTurn();
  const history = (count: number): StoredMessage[] =>
    Array.from({ length: count }, (_, i) => ({
      info: { id: `msg_0000${String(i).padStart(6, "0")}`, sessionID: turn.sessionID, role: "user", time: { created: i }, agent: "build", model: { providerID: "p", modelID: "m" } },
      parts: [{ id: `prt_0000${String(i).padStart(6, "0")}`, sessionID: turn.sessionID, messageID: `msg_0000${String(i).padStart(6, "0")}`, type: "text", text: `old message ${i}` }],
    })) as StoredMessage[];
  const small = mergeHistory(initialSessionState(turn.sessionID), { messages: history(10), status: { type: "idle" } });
  const large = mergeHistory(initialSessionState(turn.sessionID), { messages: history(10_000), status: { type: "idle" } });
  const samples = { codec: [] as number[], view10: [] as number[], view10k: [] as number[] };
  let codecText = "";
  let viewText = "";
  for (let round = -1; round < rounds; round++) {
    const codec = cpuMs(() => {
      let state = initialTurnState({ sessionID: turn.sessionID, userMessageID: turn.userMessageID });
      for (const event of turn.events) state = mapEvent(state, event).state;
      codecText = String(state.parts.size);
    });
    const view10 = cpuMs(() => {
      let state = small;
      for (const event of turn.events) state = reduceSession(state, event);
      viewText = String(state.messages.size);
    });
    const view10k = cpuMs(() => {
      let state = large;
      for (const event of turn.events) state = reduceSession(state, event);
    });
    if (round >= 0) {
      samples.codec.push(codec);
      samples.view10.push(view10);
      samples.view10k.push(view10k);
    }
  }
  if (!codecText || !viewText) throw new BenchmarkFailure("a fold produced nothing");
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const perEvent = (ms: number) => ((ms * 1000) / turn.events.length).toFixed(2);
  const c = median(samples.codec);
  console.log(`\n  1. the same ${turn.events.length} events (one turn), client CPU, median of ${rounds}:`);
  console.log(`     turn codec (mapEvent)                ${c.toFixed(0)} ms  (${perEvent(c)} µs/event)`);
  for (const [name, key] of [["view, 10 messages loaded", "view10"], ["view, 10,000 messages loaded", "view10k"]] as const) {
    const v = median(samples[key]);
    console.log(`     ${name.padEnd(36)} ${v.toFixed(0)} ms  (${perEvent(v)} µs/event)  ${(v / c).toFixed(2)}× the codec`);
  }
}

// ---------------------------------------------------------------------------------------------
// A local server answering the few routes a view reads, like opencode 1.18.33.

interface FakeServer {
  url: string;
  broadcast(events: readonly object[]): void;
  eventConnections(): number;
  close(): Promise<void>;
}

async function fakeOpencode(messagesOf: (sessionID: string) => StoredMessage[]): Promise<FakeServer> {
  const streams = new Set<ServerResponse>();
  let connections = 0;
  const server = createServer((request, response) => {
    const url = new URL(request.url!, "http://localhost");
    const json = (body: unknown, headers: Record<string, string> = {}) => {
      response.writeHead(200, { "content-type": "application/json", ...headers });
      response.end(JSON.stringify(body));
    };
    const path = url.pathname;
    if (path === "/event") {
      connections++;
      response.writeHead(200, { "content-type": "text/event-stream" });
      response.write(`data: ${JSON.stringify({ id: "evt_0", type: "server.connected", properties: {} })}\n\n`);
      streams.add(response);
      request.on("close", () => streams.delete(response));
      return;
    }
    if (path === "/global/health") return json({ healthy: true, version: "1.18.33" });
    if (path === "/session/status") return json({});
    if (path === "/permission" || path === "/question") return json([]);
    if (path === "/provider") return json({ all: [], default: {}, connected: [] });
    const match = /^\/session\/([^/]+)(\/.*)?$/.exec(path);
    if (match) {
      const [, id, rest] = match;
      if (rest === undefined) return json({ id, slug: id, projectID: "p", directory: "/", title: id, version: "1.18.33", time: { created: 1, updated: 1 } });
      if (rest === "/todo" || rest === "/children") return json([]);
      if (rest === "/message") {
        const all = messagesOf(id!);
        const limit = Number(url.searchParams.get("limit") ?? all.length);
        const before = url.searchParams.get("before");
        const end = before === null ? all.length : Number(Buffer.from(before, "base64url").toString());
        const start = Math.max(0, end - limit);
        return json(all.slice(start, end), start > 0 ? { "x-next-cursor": Buffer.from(String(start)).toString("base64url") } : {});
      }
    }
    response.writeHead(404, { "content-type": "application/json" });
    response.end("{}");
  });
  const loopback = await listenOnLoopback(server);
  return {
    url: loopback.origin,
    broadcast(events) {
      const frames = events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join("");
      for (const stream of streams) stream.write(frames);
    },
    eventConnections: () => connections,
    async close() {
      for (const stream of streams) stream.end();
      await loopback.close();
    },
  };
}

function storedHistory(sessionID: string, count: number): StoredMessage[] {
  return Array.from({ length: count }, (_, i) => {
    const id = `msg_${String(i).padStart(10, "0")}`;
    return {
      info: { id, sessionID, role: "user", time: { created: i }, agent: "build", model: { providerID: "p", modelID: "m" } },
      parts: [{ id: `prt_${String(i).padStart(10, "0")}`, sessionID, messageID: id, type: "text", text: `message ${i} `.repeat(20) }],
    } as StoredMessage;
  });
}

// ---------------------------------------------------------------------------------------------
// 2. history paging

const PAGING_CLIENT = new URL("./views-paging.ts", import.meta.url);
const ROOT = new URL("../../", import.meta.url);

async function historyPaging(rounds: number): Promise<void> {
  const history = storedHistory("ses_history", 10_000);
  const server = await fakeOpencode(() => history);
  const run: PagingRun = { url: server.url, sessionID: "ses_history", pageSize: 100 };
  try {
    console.log(`\n  2. a 10,000-message history, 100 per page, paged in by a client process of its own (one per round):`);
    let worst = 0;
    for (let round = 0; round < rounds; round++) {
      const r = await pagingClient(run);
      if (r.loaded !== history.length) throw new BenchmarkFailure(`paged ${r.loaded} of ${history.length} messages`);
      worst = Math.max(worst, r.blockedMaxMs);
      console.log(
        `     round ${round + 1}: opened in ${r.openMs.toFixed(0)} ms, then ${r.pages} more pages in ${r.pagingMs.toFixed(0)} ms; ` +
          `event loop blocked at most ${r.blockedMaxMs.toFixed(1)} ms (p99 ${r.blockedP99Ms.toFixed(1)} ms; longest GC pause ${r.gcMaxMs.toFixed(1)} ms)`,
      );
    }
    console.log(`     worst of ${rounds}: blocked ${worst.toFixed(1)} ms (target ≤ 50 ms)`);
  } finally {
    await server.close();
  }
}

function pagingClient(run: PagingRun): Promise<PagingResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", PAGING_CLIENT.pathname, JSON.stringify(run)], { cwd: ROOT.pathname, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (text: string) => (stdout += text));
    child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr = (stderr + text).slice(-8_000)));
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    child.on("error", (error) => reject(new BenchmarkFailure(`the paging client could not start: ${error.message}`)));
    child.on("close", (code) => {
      clearTimeout(timer);
      const line = stdout.trim().split("\n").at(-1);
      if (code === 0 && line) resolve(JSON.parse(line) as PagingResult);
      else reject(new BenchmarkFailure(`the paging client exited (${code})\n${stderr.trim()}`));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// 3 and 4. subscribers and views

const delta = (sessionID: string, i: number) => ({
  id: `evt_${sessionID}_${String(i).padStart(7, "0")}`,
  type: "message.part.delta",
  properties: { sessionID, messageID: "msg_live", partID: "prt_live", field: "text", delta: "word " },
});

function turnStart(sessionID: string): object[] {
  return [
    { id: `evt_${sessionID}_a`, type: "message.updated", properties: { sessionID, info: { id: "msg_live", sessionID, role: "assistant", parentID: "msg_x", time: { created: 1 }, modelID: "m", providerID: "p", mode: "build", agent: "build", path: { cwd: "/", root: "/" }, cost: 0, tokens: { input: 0, output: 0, reasoning: 0, cache: { read: 0, write: 0 } } } } },
    { id: `evt_${sessionID}_b`, type: "message.part.updated", properties: { sessionID, part: { id: "prt_live", sessionID, messageID: "msg_live", type: "text", text: "", time: { start: 1 } } } },
  ];
}

/** Streams `count` deltas per session in batches and waits until every view shows them all. */
async function stream(server: FakeServer, sessionIDs: string[], count: number, done: () => boolean): Promise<number> {
  const start = process.cpuUsage();
  server.broadcast(sessionIDs.flatMap(turnStart));
  for (let i = 0; i < count; i += 100) {
    server.broadcast(sessionIDs.flatMap((id) => Array.from({ length: Math.min(100, count - i) }, (_, j) => delta(id, i + j))));
    await new Promise((resolve) => setImmediate(resolve));
  }
  const deadline = Date.now() + 60_000;
  while (!done()) {
    if (Date.now() > deadline) throw new BenchmarkFailure("the views never showed every delta");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

const liveText = (view: { get(): { messages: readonly StoredMessage[] } }) => {
  const part = view.get().messages.find((m) => m.info.id === "msg_live")?.parts[0];
  return part?.type === "text" ? part.text.length : 0;
};

async function subscribersAndViews(): Promise<void> {
  const server = await fakeOpencode((id) => storedHistory(id, 5));
  try {
    const DELTAS = 5_000;
    const cpuWith = async (subscribers: number) => {
      const client = createClient({ baseUrl: server.url, logger: {} });
      const id = `ses_subs${subscribers}`;
      const view = await client.session.get(id).watch();
      const calls = new Array<number>(subscribers).fill(0);
      for (let i = 0; i < subscribers; i++) view.subscribe(() => (calls[i]! += 1, view.get()));
      const ms = await stream(server, [id], DELTAS, () => liveText(view) === DELTAS * 5);
      view.close();
      await client.close();
      return { ms, notifications: calls[0]! };
    };
    await cpuWith(1);
    const one = await cpuWith(1);
    const many = await cpuWith(1_000);
    console.log(`\n  3. one view, ${DELTAS} deltas: 1 subscriber ${one.ms.toFixed(0)} ms CPU (${one.notifications} notifications); ` +
      `1,000 subscribers ${many.ms.toFixed(0)} ms CPU (${many.notifications} notifications each, ${(many.ms / one.ms).toFixed(2)}× the CPU)`);

    const VIEWS = 200;
    const PER_VIEW = 200;
    const client = createClient({ baseUrl: server.url, logger: {} });
    const before = server.eventConnections();
    const opened = performance.now();
    const ids = Array.from({ length: VIEWS }, (_, i) => `ses_many${String(i).padStart(3, "0")}`);
    const views = await Promise.all(ids.map((id) => client.session.get(id).watch()));
    const openMs = performance.now() - opened;
    const ms = await stream(server, ids, PER_VIEW, () => views.every((v) => liveText(v) === PER_VIEW * 5));
    const events = VIEWS * (PER_VIEW + 2);
    console.log(`  4. ${VIEWS} views on one client: opened in ${openMs.toFixed(0)} ms over ${server.eventConnections() - before} event connection(s); ` +
      `${events} events in ${ms.toFixed(0)} ms CPU (${((ms * 1000) / events).toFixed(1)} µs/event)`);
    for (const view of views) view.close();
    await client.close();
  } finally {
    await server.close();
  }
}
