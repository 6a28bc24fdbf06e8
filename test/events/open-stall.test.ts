// An `/event` connection that stalls while opening, against a real `opencode serve` behind the
// fault proxy: the proxy lets the request through but forwards nothing back (no headers, no
// `server.connected`). The event hub abandons the attempt after `openTimeoutMs` and opens another,
// well inside the turn's ready bound, and the turn completes with its whole text.

import { afterAll, beforeAll, expect, it } from "vitest";
import type { Reply } from "../../src/index.js";
import { startFaultProxy, type FaultProxy } from "../support/fault-proxy.js";
import { directive, startModelServer, type ModelServer } from "../support/model-server.js";
import { startTestServer, type TestServer } from "../support/opencode.js";

let model: ModelServer;
let server: TestServer;
let proxy: FaultProxy;

beforeAll(async () => {
  model = await startModelServer();
  server = await startTestServer({ config: model.providerConfig() });
  proxy = await startFaultProxy(server.url);
  // The first turn on a server loads plugins and the catalog for seconds; keep that out of the timing.
  await (await server.client().session.create({})).run(`warm up\n${directive({ text: "ok" })}`);
});
afterAll(async () => {
  await proxy?.close();
  await server?.close();
  await model?.close();
});

it("a turn completes when its event connection stalls while opening: the hub retries the opening itself", async () => {
  // The watchdog (idleTimeoutMs) is far away: only the opening bound can rescue this turn in time.
  const client = server.client({ baseUrl: proxy.url, events: { openTimeoutMs: 1_000, idleTimeoutMs: 60_000, readyTimeoutMs: 10_000 } });
  // Created over another client, so the stream is this client's first request and so its own
  // connection (the proxy names a connection after its first request).
  const session = client.session.get((await server.client().session.create({})).id);
  const known = proxy.connections.length;
  const isNewEventStream = (c: { id: number; path: string | undefined }) => c.id > known && (c.path ?? "").startsWith("/event");
  // Stalled as soon as its request line passes, before the server's answer can come back.
  const stalled = proxy.waitFor(isNewEventStream).then((connection) => {
    connection.mode = "stall";
    return connection;
  });

  const started = Date.now();
  const text = "Opened on the second try.";
  const turn = session.prompt(`x\n${directive({ text, chunks: 4 })}`);
  const replies: Reply[] = [];
  for await (const reply of turn) replies.push(reply);
  const final = await turn.done;

  expect(final.text).toBe(text);
  expect(replies.flatMap((r) => (r.kind === "delta" ? [r.text] : [])).join("")).toBe(text);
  const first = await stalled;
  expect(first.closed).toBe(true);
  expect(first.bytesDown).toBe(0);
  // The retry may ride a pooled keep-alive socket opened earlier, so look at every connection.
  const retried = proxy.connections.filter((c) => c !== first && (c.path ?? "").startsWith("/event") && c.bytesDown > 0);
  expect(retried.length).toBeGreaterThanOrEqual(1);
  const elapsed = Date.now() - started;
  expect(elapsed).toBeGreaterThanOrEqual(1_000);
  expect(elapsed).toBeLessThan(8_000);
});
