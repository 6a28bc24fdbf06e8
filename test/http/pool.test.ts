// The connection pool: however many requests a client sends at once, at most `maxConnections` are
// in flight (on undici, that many sockets plus one for the event stream); the rest wait in order,
// can be aborted while they wait, and all succeed.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { createClient, type OpencodeClient } from "../../src/index.js";
import { ENGINES } from "../support/engines.js";
import { listenOnLoopback, type Loopback } from "../support/loopback.js";

let server: Loopback | undefined;
let client: OpencodeClient | undefined;

afterEach(async () => {
  await client?.close();
  await server?.close();
  client = server = undefined;
});

/** A server that answers every request after `delayMs`, keeps an event stream open, and records its peak of open sockets. */
async function slowServer(delayMs: number) {
  let peak = 0;
  let inFlight = 0;
  let peakInFlight = 0;
  const http = createServer((request: IncomingMessage, response: ServerResponse) => {
    if (request.url?.startsWith("/event")) {
      response.writeHead(200, { "content-type": "text/event-stream" });
      response.write(`data: ${JSON.stringify({ type: "server.connected", properties: {} })}\n\n`);
      return;
    }
    inFlight++;
    peakInFlight = Math.max(peakInFlight, inFlight);
    setTimeout(() => {
      inFlight--;
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ healthy: true, version: "1.18.33" }));
    }, delayMs);
  });
  http.on("connection", () => (peak = Math.max(peak, loopback.openSockets() + 1)));
  const loopback = await listenOnLoopback(http);
  server = loopback;
  return { origin: loopback.origin, peakSockets: () => peak, peakInFlight: () => peakInFlight };
}

describe.each(ENGINES)("connection pool ($name)", (engine) => {
  it("200 concurrent requests use at most maxConnections sockets, plus one for the event stream, and all succeed", async () => {
    const slow = await slowServer(20);
    client = createClient({ baseUrl: slow.origin, maxConnections: 8, logger: {}, ...engine.options });
    const subscription = client.events.subscribe({});
    await subscription.ready;
    const answers = await Promise.all(Array.from({ length: 200 }, () => client!.request("get", "/global/health")));
    expect(answers).toHaveLength(200);
    expect(answers.every((answer) => answer.healthy)).toBe(true);
    expect(slow.peakInFlight()).toBeLessThanOrEqual(8);
    expect(slow.peakInFlight()).toBeGreaterThan(1);
    // A fetch owns no pool (a browser caps sockets itself; Node's global fetch may open a fresh one
    // before the last is back in its pool): there the bound is on requests in flight.
    if (engine.fetchCalls() === 0) expect(slow.peakSockets()).toBeLessThanOrEqual(8 + 1);
    subscription.close();
  });

  it("a request's timeout starts when it is sent, not while it waits for a connection", async () => {
    const slow = await slowServer(250);
    client = createClient({ baseUrl: slow.origin, maxConnections: 1, timeoutMs: 400, maxRetries: 0, logger: {}, ...engine.options });
    // The third waits ~500 ms for the connection, longer than its timeout, and still succeeds.
    const answers = await Promise.all([1, 2, 3].map(() => client!.request("get", "/global/health")));
    expect(answers.map((answer) => answer.healthy)).toEqual([true, true, true]);
  });

  it("a request waiting for a connection can be aborted while it waits", async () => {
    const slow = await slowServer(300);
    client = createClient({ baseUrl: slow.origin, maxConnections: 1, logger: {}, ...engine.options });
    const first = client.request("get", "/global/health");
    const controller = new AbortController();
    const waiting = client.request("get", "/global/health", { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await expect(waiting).rejects.toMatchObject({ name: "AbortError" });
    await expect(first).resolves.toMatchObject({ healthy: true });
  });
});
