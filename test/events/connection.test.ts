// The shared `/event` connection against a scripted loopback server: opening, reconnecting,
// the silence watchdog, terminal statuses, releasing the socket and closing without leftovers —
// once over the Node default (undici) and once over an injected WHATWG fetch.
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  AbortError,
  APIConnectionError,
  APITimeoutError,
  AuthenticationError,
  createClient,
  InternalServerError,
  NotFoundError,
  PermissionDeniedError,
  StreamError,
  type ConnectionState,
  type Event,
  type EventSubscription,
  type OpencodeClient,
  type OpencodeClientOptions,
} from "../../src/index.js";
import { ENGINES, type EngineUnderTest } from "../support/engines.js";
import { connected, startSseServer, type SseServer } from "./sse-server.js";

// Every wait here is on loopback or in memory: a hang is a failure, not slowness.
vi.setConfig({ testTimeout: 5_000 });

const servers: SseServer[] = [];
const clients: OpencodeClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(...args: Parameters<typeof startSseServer>): Promise<SseServer> {
  const server = await startSseServer(...args);
  servers.push(server);
  return server;
}

function clientOver(engine: EngineUnderTest, server: { url: string }, options: OpencodeClientOptions = {}): OpencodeClient {
  const c = createClient({
    baseUrl: server.url,
    logger: {},
    ...engine.options,
    ...options,
    events: { reconnectInitialMs: 20, reconnectMaxMs: 100, ...options.events },
  });
  clients.push(c);
  return c;
}

const idle = (n: number, sessionID = "ses_1") => ({ id: `evt_${n}`, type: "session.idle", properties: { sessionID } });

/** Reads `count` events from the subscription (fails the test after `ms`). */
async function take(subscription: EventSubscription<Event>, count: number, ms = 2_000): Promise<Event[]> {
  const events: Event[] = [];
  const timeout = setTimeout(() => subscription.close(), ms);
  for await (const event of subscription) {
    events.push(event);
    if (events.length === count) break;
  }
  clearTimeout(timeout);
  return events;
}

async function until(check: () => boolean, ms = 2_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > ms) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe.each(ENGINES)("over $name", (engine) => {
  const client = (server: { url: string }, options: OpencodeClientOptions = {}) => clientOver(engine, server, options);

  describe("opening", () => {
    it("sends auth and directory on the stream, and is open only after server.connected", async () => {
      const server = await serve((c) => c.open());
      const c = client(server, { password: "pw", username: "ann", directory: "/tmp/my project" });
      const subscription = c.events.subscribe();
      let ready = false;
      void subscription.ready.then(() => (ready = true));
      expect(c.events.state).toBe("connecting");

      const connection = await server.connection(0);
      expect(connection.req.headers["authorization"]).toBe(`Basic ${Buffer.from("ann:pw").toString("base64")}`);
      expect(connection.req.headers["accept"]).toBe("text/event-stream");
      expect(new URL(connection.req.url!, server.url).searchParams.get("directory")).toBe("/tmp/my project");

      // Headers are out (200) but no server.connected yet: not open.
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(ready).toBe(false);
      expect(subscription.state).toBe("connecting");

      connection.send(connected());
      await subscription.ready;
      expect(subscription.state).toBe("open");
      expect(c.events.state).toBe("open");
      expect(await take(subscription, 1)).toEqual([connected()]);
    });

    it("a subscriber joining an open stream is ready at once and shares the socket", async () => {
      const server = await serve();
      const c = client(server);
      const first = c.events.subscribe();
      await first.ready;
      const second = c.events.subscribe();
      await second.ready;
      (await server.connection(0)).send(idle(1));
      expect(await take(second, 1)).toEqual([idle(1)]);
      expect(server.connections).toHaveLength(1);
    });
  });

  describe("reconnecting", () => {
    it("reconnects after the server ends the stream; the next connection's events arrive", async () => {
      const server = await serve((c) => {
        c.send(connected(c.index));
        c.send(idle(c.index));
        if (c.index === 0) {
          c.send({ id: "evt_d", type: "server.instance.disposed", properties: { directory: "/p" } });
          c.res.end();
        }
      });
      const c = client(server);
      const subscription = c.events.subscribe();
      const states: ConnectionState[] = [];
      subscription.onState((state) => states.push(state));
      const reconnects = vi.fn();
      subscription.onReconnect(reconnects);

      const events = await take(subscription, 5);
      expect(events.map((e) => e.id)).toEqual(["evt_connected_0", "evt_0", "evt_d", "evt_connected_1", "evt_1"]);
      // The last "closed" is this subscription ending (the `break` in take).
      expect(states).toEqual(["open", "reconnecting", "open", "closed"]);
      expect(reconnects).toHaveBeenCalledTimes(1);
      expect(server.connections).toHaveLength(2);
    });

    it("onReconnect tells how many queued events predate the gap", async () => {
      const server = await serve((c) => {
        c.send(connected(c.index));
        c.send(idle(c.index));
        if (c.index === 0) c.res.end();
      });
      const subscription = client(server).events.subscribe();
      const queued = new Promise<number>((resolve) => subscription.onReconnect((info) => resolve(info.queued)));
      // Nobody reads, so connection 0's two events are still queued when connection 1 opens.
      expect(await queued).toBe(2);
      expect((await take(subscription, 4)).map((e) => e.id)).toEqual(["evt_connected_0", "evt_0", "evt_connected_1", "evt_1"]);
    });

    it("reconnects after the connection is reset mid-stream", async () => {
      const server = await serve((c) => {
        c.send(connected(c.index));
        if (c.index === 0) setTimeout(() => c.req.socket.destroy(), 20);
        else c.send(idle(1));
      });
      const subscription = client(server).events.subscribe();
      expect((await take(subscription, 3)).map((e) => e.id)).toEqual(["evt_connected_0", "evt_connected_1", "evt_1"]);
    });

    it.each([
      ["after server.connected", (c: { send(e: object): void }) => c.send(connected())],
      ["before any response headers", () => {}],
    ])("the watchdog drops a silent socket (%s) and reconnects in bounded time", async (_, start) => {
      const server = await serve((c) => {
        if (c.index === 0) start(c);
        else c.send(connected(c.index));
      });
      // Silence alone decides here (maxSilenceMs = idleTimeoutMs); the tests below ask the server first.
      const c = client(server, { events: { idleTimeoutMs: 150, maxSilenceMs: 150 } });
      const subscription = c.events.subscribe();
      const began = Date.now();
      const reconnected = await server.connection(1);
      const elapsed = Date.now() - began;
      expect(elapsed).toBeGreaterThanOrEqual(140);
      expect(elapsed).toBeLessThan(1_000);
      await server.connections[0]!.closed;
      await subscription.ready;
      expect(reconnected.index).toBe(1);
    });

    it.each([
      ["accepts the connection and never answers", () => {}],
      ["sends headers but never server.connected", (c: { open(): void }) => c.open()],
    ])("an opening that %s is abandoned after openTimeoutMs and retried with backoff, not left to the watchdog", async (_, stall) => {
      const server = await serve((c) => {
        if (c.index < 2) stall(c);
        else c.send(connected(c.index));
      });
      const c = client(server, { events: { openTimeoutMs: 150, idleTimeoutMs: 60_000, readyTimeoutMs: 3_000 } });
      const began = Date.now();
      const subscription = c.events.subscribe();
      await subscription.ready;
      expect(server.connections).toHaveLength(3);
      await server.connections[0]!.closed;
      await server.connections[1]!.closed;
      // Two abandoned openings of 150 ms each, plus backoff (20 ms, then 40 ms, halved by jitter at most).
      const elapsed = Date.now() - began;
      expect(elapsed).toBeGreaterThanOrEqual(300);
      expect(elapsed).toBeLessThan(2_000);
      // The second request cannot leave before the first opening's bound ran out.
      expect(server.connections[1]!.at - began).toBeGreaterThanOrEqual(150);
    });

    it("several openings fit in readyTimeoutMs; ready then fails with the opening stall as its cause", async () => {
      const server = await serve(() => {});
      const c = client(server, { events: { openTimeoutMs: 200, readyTimeoutMs: 1_000, reconnectInitialMs: 20, reconnectMaxMs: 100 } });
      const subscription = c.events.subscribe();
      const error = await subscription.ready.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(APITimeoutError);
      expect((error as Error).cause).toBeInstanceOf(APITimeoutError);
      expect((error as Error).message).toMatch(/did not open .* within 200 ms/);
      expect(server.connections.length).toBeGreaterThanOrEqual(4);
      expect(subscription.state).toBe("reconnecting");
    });

    it("heartbeats keep a quiet stream alive", async () => {
      const server = await serve((c) => {
        c.send(connected());
        const timer = setInterval(() => c.send({ id: "evt_hb", type: "server.heartbeat", properties: {} }), 40);
        c.res.once("close", () => clearInterval(timer));
      });
      const subscription = client(server, { events: { idleTimeoutMs: 150 } }).events.subscribe({ types: ["session.idle"] });
      await subscription.ready;
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(server.connections).toHaveLength(1);
      expect(subscription.state).toBe("open");
    });

    it("a silent stream whose server still answers is slow, not gone: kept until maxSilenceMs, asked a few times", async () => {
      const server = await serve((c) => (c.index === 0 ? c.send(connected()) : c.send(connected(c.index))));
      const c = client(server, { events: { idleTimeoutMs: 150, maxSilenceMs: 900 } });
      const subscription = c.events.subscribe();
      await subscription.ready;
      const began = Date.now();
      await new Promise((resolve) => setTimeout(resolve, 600));
      // Four idle periods of silence, and still the first connection: no reconnect while the server answers.
      expect(server.connections).toHaveLength(1);
      expect(server.otherRequests.length).toBeGreaterThanOrEqual(2);
      expect(server.otherRequests.every((path) => path.startsWith("/global/health"))).toBe(true);
      await server.connection(1);
      expect(Date.now() - began).toBeGreaterThanOrEqual(650);
      expect(Date.now() - began).toBeLessThan(2_500);
    });

    it("a silent stream whose server answers nothing is gone: dropped after idleTimeoutMs and the health check's bound", async () => {
      const server = await serve((c) => (c.index === 0 ? c.send(connected()) : c.send(connected(c.index))));
      server.health = "hang";
      const c = client(server, { events: { idleTimeoutMs: 150, maxSilenceMs: 10_000 } });
      const subscription = c.events.subscribe();
      await subscription.ready;
      const began = Date.now();
      await server.connection(1);
      expect(server.otherRequests).toHaveLength(1);
      expect(Date.now() - began).toBeLessThan(1_500);
    });

    it("reconnect delays grow exponentially, with jitter, up to the cap", async () => {
      const server = await serve((c) => c.res.writeHead(503).end());
      client(server, { events: { reconnectInitialMs: 40, reconnectMaxMs: 160 } }).events.subscribe({ readyTimeoutMs: 0 });
      await until(() => server.connections.length >= 6, 5_000);
      const gaps = server.connections.slice(1, 6).map((c, i) => c.at - server.connections[i]!.at);
      // Attempt n waits min(40·2^n, 160) · [0.5, 1]; the upper bounds leave room for a busy machine.
      const bounds = [40, 80, 160, 160, 160];
      gaps.forEach((gap, i) => {
        expect(gap).toBeGreaterThanOrEqual(bounds[i]! / 2 - 3);
        expect(gap).toBeLessThan(bounds[i]! + 150);
      });
      expect(Math.min(...gaps.slice(2))).toBeGreaterThanOrEqual(77);
    });

    it("backs off while the server answers 5xx, then recovers", async () => {
      const server = await serve((c) => {
        if (c.index < 3) c.res.writeHead(503).end("busy");
        else c.send(connected(c.index));
      });
      const subscription = client(server).events.subscribe();
      const states: ConnectionState[] = [];
      subscription.onState((state) => states.push(state));
      await subscription.ready;
      expect(server.connections).toHaveLength(4);
      expect(states).toEqual(["reconnecting", "open"]);
    });
  });

  describe("terminal failures", () => {
    it.each([
      [401, AuthenticationError],
      [403, PermissionDeniedError],
      [404, NotFoundError],
    ])("%i: the iterator and ready throw the typed error after exactly one request", async (status, type) => {
      const server = await serve((c) => c.res.writeHead(status, { "www-authenticate": "Basic" }).end());
      const c = client(server, { password: "secret-pw", events: { reconnectInitialMs: 1 } });
      const subscription = c.events.subscribe();
      const other = c.events.subscribe({ sessionID: "ses_1" });
      const error = await subscription.ready.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(type);
      expect((error as AuthenticationError).status).toBe(status);
      expect(String((error as Error).message)).not.toContain("secret-pw");
      await expect(subscription.next()).rejects.toBe(error);
      await expect(subscription.next()).resolves.toEqual({ done: true, value: undefined });
      await expect(other.next()).rejects.toBe(error);
      expect(c.events.state).toBe("closed");
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(server.connections).toHaveLength(1);
    });

    it("a 200 that is not an event stream is a terminal StreamError", async () => {
      const server = await serve((c) => c.res.writeHead(200, { "content-type": "text/html" }).end("<html>"));
      const subscription = client(server).events.subscribe();
      await expect(subscription.ready).rejects.toBeInstanceOf(StreamError);
      expect(server.connections).toHaveLength(1);
    });

    it("a later subscriber tries again (one request each)", async () => {
      const server = await serve((c) => c.res.writeHead(401).end());
      const c = client(server);
      await expect(c.events.subscribe().ready).rejects.toBeInstanceOf(AuthenticationError);
      await expect(c.events.subscribe().ready).rejects.toBeInstanceOf(AuthenticationError);
      expect(server.connections).toHaveLength(2);
    });
  });

  describe("ready never hangs", () => {
    it("rejects with APITimeoutError carrying the last 5xx after readyTimeoutMs, while retries go on", async () => {
      const server = await serve((c) => c.res.writeHead(502).end());
      const subscription = client(server, { events: { readyTimeoutMs: 200 } }).events.subscribe();
      const error = await subscription.ready.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(APITimeoutError);
      expect(error).toBeInstanceOf(APIConnectionError);
      expect((error as Error).cause).toBeInstanceOf(InternalServerError);
      expect(server.connections.length).toBeGreaterThan(1);
      expect(subscription.state).toBe("reconnecting");
    });

    it("rejects with APIConnectionError at once when nothing ever listened there (no waiting out readyTimeoutMs)", async () => {
      const server = await serve();
      const url = server.url;
      await server.close();
      servers.length = 0;
      const subscription = client({ url }).events.subscribe({ readyTimeoutMs: 60_000 });
      const error = await subscription.ready.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(APIConnectionError);
      expect(error).not.toBeInstanceOf(APITimeoutError);
      expect((error as Error).message).toMatch(/ECONNREFUSED/);
    });

    it("rejects with AbortError when the subscription's signal aborts first, and the iterator finishes", async () => {
      const server = await serve((c) => c.open());
      const controller = new AbortController();
      const subscription = client(server).events.subscribe({ signal: controller.signal });
      await server.connection(0);
      const pending = subscription.next();
      controller.abort();
      await expect(subscription.ready).rejects.toBeInstanceOf(AbortError);
      await expect(pending).resolves.toEqual({ done: true, value: undefined });
      await server.connections[0]!.closed;
    });

    it("an already aborted signal gives a closed subscription and no request", async () => {
      const server = await serve();
      const subscription = client(server).events.subscribe({ signal: AbortSignal.abort() });
      await expect(subscription.ready).rejects.toBeInstanceOf(AbortError);
      expect(subscription.state).toBe("closed");
      await new Promise((resolve) => setTimeout(resolve, 30));
      expect(server.connections).toHaveLength(0);
    });
  });

  describe("releasing", () => {
    it("break releases a subscriber; the last one leaving closes the socket; a new one reconnects", async () => {
      const server = await serve();
      const c = client(server);
      const first = c.events.subscribe();
      const second = c.events.subscribe();
      await take(first, 1);
      const connection = await server.connection(0);
      await new Promise((resolve) => setTimeout(resolve, 30));
      expect(connection.isClosed()).toBe(false);

      await take(second, 1);
      await connection.closed;
      expect(c.events.state).toBe("closed");

      const third = c.events.subscribe();
      await third.ready;
      expect(server.connections).toHaveLength(2);
    });

    it("client.close() ends iterators, rejects pending ready, and leaves no socket or timer", async () => {
      const server = await serve((c) => (c.index === 0 ? c.send(connected()) : c.open()));
      await until(() => handles().TCPSocketWrap === 0); // earlier tests' sockets
      const before = handles();
      const c = createClient({ baseUrl: server.url, logger: {}, ...engine.options, events: { idleTimeoutMs: 60_000 } });
      const reading = c.events.subscribe();
      const pending = reading.next().then(() => reading.next());
      await server.connection(0);
      await reading.ready;
      const states: ConnectionState[] = [];
      c.events.onState((state) => states.push(state));

      await c.close();
      await expect(pending).resolves.toEqual({ done: true, value: undefined });
      expect(states).toEqual(["closed"]);
      await server.connections[0]!.closed;
      await until(() => server.openSockets() === 0);
      expectNoNewHandles(before);

      const late = c.events.subscribe();
      await expect(late.ready).rejects.toBeInstanceOf(AbortError);
      await expect(late.next()).rejects.toBeInstanceOf(AbortError);
      expect(server.connections).toHaveLength(1);
    });

    it("client.close() during a reconnect backoff leaves no timer", async () => {
      const server = await serve((c) => c.res.writeHead(503).end());
      await until(() => handles().TCPSocketWrap === 0);
      const before = handles();
      const c = createClient({ baseUrl: server.url, logger: {}, ...engine.options, events: { reconnectInitialMs: 5_000, reconnectMaxMs: 5_000 } });
      const subscription = c.events.subscribe({ readyTimeoutMs: 60_000 });
      await until(() => c.events.state === "reconnecting");
      await c.close();
      await expect(subscription.ready).rejects.toBeInstanceOf(AbortError);
      if (engine.options.fetch === undefined) {
        await until(() => server.openSockets() === 0);
        expectNoNewHandles(before);
      } else {
        // The 503s went back to the injected fetch's own keep-alive pool, which the client does not own.
        expect(handles().Timeout).toBeLessThanOrEqual(before.Timeout!);
      }
    });
  });
});

/** Nothing the test made is left: a timer of an earlier test (undici's own clock) may have ended meanwhile. */
function expectNoNewHandles(before: Record<string, number>): void {
  const after = handles();
  for (const [kind, count] of Object.entries(before)) expect(after[kind], kind).toBeLessThanOrEqual(count);
}

/** Counts of the process's TCP handles and timers. */
function handles(): Record<string, number> {
  const counts: Record<string, number> = { TCPSocketWrap: 0, Timeout: 0 };
  for (const resource of process.getActiveResourcesInfo()) {
    if (resource in counts) counts[resource]!++;
  }
  return counts;
}
