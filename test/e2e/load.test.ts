// Many concurrent turns on one client against a real server whose event stream stalls for seconds
// (a fault proxy holds the `/event` connection open and silent while requests still pass): the
// client waits for a server that still answers instead of reconnecting at once, reconnects once
// when the silence outlasts maxSilenceMs, catches every turn up with a few shared reads, keeps its
// sockets within the pool, and every turn ends with exactly its scripted text.
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { OpencodeClient } from "../../src/index.js";
import { startFaultProxy, type FaultProxy } from "../support/fault-proxy.js";
import { directive, startModelServer, type ModelServer } from "../support/model-server.js";
import { startTestServer, type TestServer } from "../support/opencode.js";

const TURNS = 60;
const POOL = 8;

let model: ModelServer;
let server: TestServer;
let proxy: FaultProxy;
let client: OpencodeClient;

beforeAll(async () => {
  model = await startModelServer();
  server = await startTestServer({ config: model.providerConfig() });
  proxy = await startFaultProxy(server.url);
  client = server.client({
    baseUrl: proxy.url,
    maxConnections: POOL,
    // Heartbeats come every 10 s: a stream may be quiet that long before the replies flow.
    events: { idleTimeoutMs: 3_000, maxSilenceMs: 12_000, reconnectMaxMs: 500 },
  });
  await (await client.session.create({})).run(`warm up\n${directive({ text: "ok" })}`);
}, 60_000);
afterAll(async () => {
  await client?.close();
  await proxy?.close();
  await server?.close();
  await model?.close();
});

it(`${TURNS} concurrent turns survive a long event-stream stall: one reconnect, few reads, pool-bounded sockets, exact text`, { timeout: 120_000 }, async () => {
  const sessions = await Promise.all(Array.from({ length: TURNS }, (_, i) => client.session.create({ title: `load ${i}` })));
  const expected = sessions.map((_, i) => Array.from({ length: 40 }, (_, k) => `t${i}w${k}`).join(" "));

  const paths: string[] = [];
  const streamOpenedAt: number[] = [];
  const onRequest = (message: unknown) => {
    const path = (message as { request: { path: string } }).request.path;
    paths.push(path);
    if (path.startsWith("/event")) streamOpenedAt.push(Date.now());
  };
  subscribe("undici:request:create", onRequest);
  let peakOpen = 0;
  const sampler = setInterval(() => (peakOpen = Math.max(peakOpen, proxy.open().length)), 5);
  let stalledAt = 0;
  try {
    const turns = sessions.map((session, i) => session.prompt(`load ${i}\n${directive({ text: expected[i]!, chunks: 40, chunkDelayMs: 100 })}`));
    // Stall the stream once the replies are flowing: most of every reply is still to come.
    while (!turns.some((turn) => turn.text.length > 0)) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(proxy.stall("/event")).toBe(1);
    stalledAt = Date.now();
    const outcomes = await Promise.all(turns.map((turn) => turn.done.then((final) => final.text, (error: unknown) => String(error))));

    expect(outcomes).toEqual(expected);
    // Slow, not gone: requests were answered all along, so the stream was kept well past
    // idleTimeoutMs, then reconnected (an opening slower than its bound on a loaded machine is
    // retried, hence "at most" two).
    const reopened = streamOpenedAt.filter((at) => at > stalledAt);
    expect(reopened.length).toBeGreaterThanOrEqual(1);
    expect(reopened.length).toBeLessThanOrEqual(2);
    expect(reopened[0]! - stalledAt).toBeGreaterThanOrEqual(9_000);
    expect(peakOpen).toBeLessThanOrEqual(POOL + 1);
    const prompts = paths.filter((p) => p.includes("/prompt_async")).length;
    const others = paths.length - prompts - streamOpenedAt.length;
    expect(others / TURNS).toBeLessThanOrEqual(3);
  } finally {
    clearInterval(sampler);
    unsubscribe("undici:request:create", onRequest);
  }
});
