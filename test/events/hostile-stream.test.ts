// The `/event` stream against a server that frames oddly or without bound: frames ended by lone
// CRs (legal SSE) arrive at once, a frame past `maxFrameChars` closes the connection with a typed
// error while memory stays bounded — once over undici and once over an injected fetch.
import { afterEach, describe, expect, it, vi } from "vitest";
import { createClient, ResponseTooLargeError, type Event, type OpencodeClient, type OpencodeClientOptions } from "../../src/index.js";
import { ENGINES } from "../support/engines.js";
import { connected, startSseServer, type SseServer } from "./sse-server.js";

vi.setConfig({ testTimeout: 10_000 });

const servers: SseServer[] = [];
const clients: OpencodeClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const idle = (n: number) => ({ id: `evt_${n}`, type: "session.idle", properties: { sessionID: "ses_1" } });

describe.each(ENGINES)("over $name", (engine) => {
  async function serve(...args: Parameters<typeof startSseServer>): Promise<SseServer> {
    const server = await startSseServer(...args);
    servers.push(server);
    return server;
  }
  function client(server: SseServer, options: OpencodeClientOptions = {}): OpencodeClient {
    const c = createClient({ baseUrl: server.url, logger: {}, ...engine.options, ...options, events: { reconnectInitialMs: 20, reconnectMaxMs: 100, ...options.events } });
    clients.push(c);
    return c;
  }

  describe("frames ended by lone CRs", () => {
    it("server.connected ended by CR CR opens the stream at once, with no further byte", async () => {
      // The server sends nothing after the frame: a parser that waits for a possible LF holds it.
      const server = await serve((c) => c.write(`data: ${JSON.stringify(connected(0))}\r\r`));
      const c = client(server, { events: { openTimeoutMs: 1_500, readyTimeoutMs: 1_500 } });
      const subscription = c.events.subscribe();
      const started = Date.now();
      await subscription.ready;
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(server.connections).toHaveLength(1);
      subscription.close();
    });

    it("each CR-ended event is delivered before the next byte, and CRLF split across chunks still ends one line", async () => {
      const server = await serve((c) => c.write(`data: ${JSON.stringify(connected(0))}\r\n\r\n`));
      const c = client(server);
      const subscription = c.events.subscribe({ types: ["session.idle"] });
      await subscription.ready;
      const connection = server.connections[0]!;
      const iterator = subscription[Symbol.asyncIterator]();

      connection.write(`data: ${JSON.stringify(idle(1))}\r\r`);
      expect(((await iterator.next()).value as Event).type).toBe("session.idle");

      // CR at the end of one chunk, its LF at the start of the next: one line end, not two.
      connection.write(`data: {"id":"evt_2","type":"session.idle",\r`);
      await new Promise((resolve) => setTimeout(resolve, 50));
      connection.write(`\ndata: "properties":{"sessionID":"ses_1"}}\r\n\r\n`);
      const split = (await iterator.next()).value as Event;
      expect(split).toMatchObject({ id: "evt_2", type: "session.idle" });
      subscription.close();
    });
  });

  describe("frame size", () => {
    it("a frame past maxFrameChars closes the connection with ResponseTooLargeError, then the stream reconnects", async () => {
      const server = await serve((c) => {
        c.send(connected(c.index));
        // Only the first connection is hostile: one frame that never ends, fed as fast as it is read.
        if (c.index === 0) {
          const line = `data: ${"x".repeat(64 * 1024)}\n`;
          const pump = () => {
            while (!c.isClosed()) if (!c.res.write(line)) return void c.res.once("drain", pump);
          };
          pump();
        }
      });
      const errors: unknown[] = [];
      const c = client(server, {
        events: { maxFrameChars: 1024 * 1024 },
        logger: { info: (message) => errors.push(message) },
      });
      const subscription = c.events.subscribe({ gaps: true });
      await subscription.ready;
      const before = process.memoryUsage().rss;
      await server.connections[0]!.closed;
      await server.connection(1);
      expect(process.memoryUsage().rss - before).toBeLessThan(100 * 1024 * 1024);
      expect(errors.some((m) => String(m).includes("the event frame exceeded 1048576 characters; the connection was closed"))).toBe(true);
      server.connections[1]!.send(idle(1));
      const iterator = subscription[Symbol.asyncIterator]();
      const seen: string[] = [];
      for (;;) {
        const { value } = await iterator.next();
        seen.push((value as Event).type);
        if ((value as Event).type === "session.idle") break;
      }
      expect(seen).toContain("client.gap");
      subscription.close();
    });

    it("the error is typed and reconnecting", () => {
      const error = new ResponseTooLargeError("GET", "http://127.0.0.1:1/event", 10, "characters", true);
      expect(error.retryable).toBe(true);
      expect(error.message).toBe("GET /event: the event frame exceeded 10 characters; the connection was closed");
    });
  });
});
