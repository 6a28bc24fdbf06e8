// A hostile or broken server on the other end: empty and wrong-shaped success bodies, huge bodies,
// redirects. Each ends in a typed OpencodeError (never a bare TypeError), with memory bounded and
// no hang — once over the Node default (undici) and once over an injected WHATWG fetch, which must
// behave the same. msw on loopback, since a real opencode server never answers like this.
import { createServer, type Server } from "node:http";
import { http, HttpResponse } from "msw";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  APIConnectionError,
  createClient,
  InvalidResponseError,
  NotOpencodeError,
  OpencodeError,
  RedirectError,
  ResponseTooLargeError,
  type ClientOptions,
  type OpencodeClient,
} from "../../src/index.js";
import { ENGINES } from "../support/engines.js";
import { listenOnLoopback, type Loopback } from "../support/loopback.js";
import { startMswServer, type MswServer } from "../support/msw-server.js";

let server: MswServer;
/** Answers every request with 200 MB of JSON-typed bytes, written only as fast as the client reads. */
let endless: Loopback;
const clients: OpencodeClient[] = [];
const ENDLESS_BYTES = 200 * 1024 * 1024;

beforeAll(async () => {
  server = await startMswServer();
  const block = Buffer.alloc(1024 * 1024, "a");
  const app: Server = createServer((_, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    let sent = 0;
    const pump = () => {
      while (sent < ENDLESS_BYTES) {
        sent += block.length;
        if (!res.write(block)) return void res.once("drain", pump);
      }
      res.end();
    };
    res.on("close", () => (sent = ENDLESS_BYTES));
    pump();
  });
  endless = await listenOnLoopback(app);
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  server.reset();
});
afterAll(async () => {
  await server.close();
  await endless.close();
});

const session = { id: "ses_1", title: "t", time: { created: 1, updated: 1 } };
const message = { info: { id: "msg_1", role: "assistant", sessionID: "ses_1" }, parts: [] };

/** The bodies a broken server or proxy sends where a JSON value with fields belongs. */
const EMPTY_ANSWERS: [string, () => Response][] = [
  ["204", () => new HttpResponse(null, { status: 204 })],
  ["an empty 200", () => new HttpResponse("", { status: 200, headers: { "content-type": "application/json" } })],
  ["null", () => HttpResponse.json(null)],
  ["{}", () => HttpResponse.json({})],
];

describe.each(ENGINES)("over $name", (engine) => {
  const client = (options: ClientOptions = {}) => {
    const c = createClient({ baseUrl: server.url, logger: {}, maxRetries: 0, ...engine.options, ...options });
    clients.push(c);
    return c;
  };

  async function failure(call: Promise<unknown>): Promise<OpencodeError> {
    const error = await call.then(
      (value) => {
        throw new Error(`expected a failure, got ${JSON.stringify(value)}`);
      },
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(OpencodeError);
    return error as OpencodeError;
  }

  describe("success bodies that are not what the operation promises", () => {
    /** Each hand-written call whose answer the SDK reads, with the route it takes. */
    const calls: [string, string, RegExp, (c: OpencodeClient) => Promise<unknown>][] = [
      ["session.create", "post", /\/session$/, (c) => c.session.create({ title: "x" })],
      ["session.list", "get", /\/session$/, (c) => c.session.list()],
      ["session refresh", "get", /\/session\/ses_1$/, (c) => c.session.get("ses_1").refresh()],
      ["session.messages", "get", /\/session\/ses_1\/message$/, (c) => c.session.get("ses_1").messages()],
      ["session.fork", "post", /\/session\/ses_1\/fork$/, (c) => c.session.get("ses_1").fork()],
      ["session.children", "get", /\/session\/ses_1\/children$/, (c) => c.session.get("ses_1").children()],
      ["session.abort", "post", /\/session\/ses_1\/abort$/, (c) => c.session.get("ses_1").abort()],
      // (`{}` is a valid status map: no session is busy.)
      ["session.attach (status)", "get", /\/session\/status$/, (c) => c.session.get("ses_1").attach()],
      ["provider.models", "get", /\/provider$/, (c) => c.provider.models()],
      ["permission list", "get", /\/permission$/, (c) => c.request("get", "/permission")],
      ["question list", "get", /\/question$/, (c) => c.request("get", "/question")],
      ["server.version", "get", /\/global\/health$/, (c) => c.server.version()],
    ];

    for (const [label, answer] of EMPTY_ANSWERS) {
      it.each(calls.filter(([name]) => !(label === "{}" && name.startsWith("session.attach"))))(`%s answered with ${label} is an InvalidResponseError naming the operation`, async (_, method, path, call) => {
        server.use(
          // Session calls check the server's version once first.
          http.get("*/global/health", () => (path.test("/global/health") ? answer() : HttpResponse.json({ healthy: true, version: "1.18.33" }))),
          http.get("*/api/info", () => new HttpResponse("not here", { status: 404 })),
          http[method as "get" | "post"](path, answer),
          // attach and abort first make sure the session exists.
          http.get("*/session/ses_1", () => HttpResponse.json(session)),
        );
        let error = await failure(call(client()));
        if (path.test("/global/health")) {
          // The health check is how the client recognises opencode: such an answer is not opencode.
          expect(error).toBeInstanceOf(NotOpencodeError);
          error = error.cause as OpencodeError;
        }
        expect(error).toBeInstanceOf(InvalidResponseError);
        const invalid = error as InvalidResponseError;
        expect(invalid.operation).toMatch(new RegExp(`^${method.toUpperCase()} /`));
        expect(invalid.status).toBe(label === "204" ? 204 : 200);
        expect(invalid.message).toMatch(/ where .+ was expected/);
        expect(typeof invalid.snippet).toBe("string");
      });
    }

    it("a session list with a hole in it is refused, not half-read", async () => {
      server.use(http.get("*/global/health", () => HttpResponse.json({ healthy: true, version: "1.18.33" })), http.get("*/session", () => HttpResponse.json([session, null])));
      const error = await failure(client().session.list());
      expect(error).toBeInstanceOf(InvalidResponseError);
      expect(error.message).toContain("GET /session answered 200 with an array where a list of sessions was expected");
    });

    it("answers that fit pass through untouched", async () => {
      server.use(
        http.get("*/global/health", () => HttpResponse.json({ healthy: true, version: "1.18.33" })),
        http.get("*/session/ses_1/message", () => HttpResponse.json([message])),
        http.post("*/session/ses_1/abort", () => HttpResponse.json(false)),
        http.get("*/session/ses_1", () => HttpResponse.json(session)),
      );
      await expect(client().session.get("ses_1").messages()).resolves.toEqual([message]);
      await expect(client().session.get("ses_1").abort()).resolves.toBe(false);
    });

    it("an operation the SDK does not read itself may answer 204", async () => {
      server.use(http.post("*/session/ses_1/prompt_async", () => new HttpResponse(null, { status: 204 })));
      await expect(client().request("post", "/session/{sessionID}/prompt_async", { path: { sessionID: "ses_1" }, body: { parts: [] } })).resolves.toBeUndefined();
    });
  });

  describe("body size", () => {
    it("a body larger than maxResponseBytes (per call) fails typed and the connection is closed", async () => {
      const c = createClient({ baseUrl: endless.origin, logger: {}, maxRetries: 0, ...engine.options });
      clients.push(c);
      const error = await failure(c.request("get", "/session", { maxResponseBytes: 100_000 }));
      expect(error).toBeInstanceOf(ResponseTooLargeError);
      expect(error.message).toBe("GET /session: the response body exceeded 100000 bytes; the connection was closed");
      expect(error.retryable).toBe(false);
      // Only closing the connection ends an endless body.
      await expect.poll(() => endless.openSockets(), { timeout: 2_000 }).toBe(0);
    });

    it("a declared content-length over the client's bound fails before the body is read", async () => {
      server.use(http.get("*/session", () => HttpResponse.json([session, session, session])));
      const error = await failure(client({ maxResponseBytes: 20 }).request("get", "/session"));
      expect(error).toBeInstanceOf(ResponseTooLargeError);
      expect((error as ResponseTooLargeError).limit).toBe(20);
    });

    it("an error body is bounded the same way", async () => {
      server.use(http.get("*/session", () => new HttpResponse("x".repeat(50_000), { status: 500 })));
      const error = await failure(client().request("get", "/session", { maxResponseBytes: 1_000 }));
      expect(error).toBeInstanceOf(ResponseTooLargeError);
    });
  });

  describe("connections that break", () => {
    it("a body cut off midway is an APIConnectionError, retried for a GET", async () => {
      let requests = 0;
      const app = createServer((_, res) => {
        requests++;
        res.writeHead(200, { "content-type": "application/json", "content-length": "1000" });
        res.write('[{"id":"ses_1"');
        setTimeout(() => res.socket?.destroy(), 20);
      });
      const cut = await listenOnLoopback(app);
      try {
        const c = createClient({ baseUrl: cut.origin, logger: {}, maxRetries: 1, ...engine.options });
        clients.push(c);
        const error = await failure(c.request("get", "/session"));
        expect(error).toBeInstanceOf(APIConnectionError);
        expect(error.retryable).toBe(true);
        expect(requests).toBe(2);
      } finally {
        await cut.close();
      }
    });
  });

  describe("redirects", () => {
    it.each([301, 302, 303, 307, 308])("%i is a RedirectError naming the Location, not followed", async (status) => {
      server.use(
        http.get("*/session", () => new HttpResponse(null, { status, headers: { location: `${server.url}/elsewhere` } })),
        http.get("*/elsewhere", () => HttpResponse.json([session])),
      );
      const error = await failure(client({ password: "pw-secret" }).request("get", "/session"));
      expect(error).toBeInstanceOf(RedirectError);
      expect((error as RedirectError).location).toBe(`${server.url}/elsewhere`);
      expect((error as RedirectError).status).toBe(status);
      expect(error.message).toContain(`to ${server.url}/elsewhere`);
      expect(error.retryable).toBe(false);
      expect(server.requests.map((r) => r.url.pathname)).toEqual(["/session"]);
    });

    it("a redirect to another origin never receives the Authorization header", async () => {
      const other = await startMswServer(http.get("*", () => HttpResponse.json([])));
      try {
        server.use(http.get("*/session", () => new HttpResponse(null, { status: 307, headers: { location: `${other.url}/session` } })));
        const error = await failure(client({ password: "pw-secret" }).request("get", "/session"));
        expect(error).toBeInstanceOf(RedirectError);
        expect(other.requests).toHaveLength(0);
      } finally {
        await other.close();
      }
    });

    it("a redirected event stream is a RedirectError too", async () => {
      server.use(http.get("*/event", () => new HttpResponse(null, { status: 302, headers: { location: "/login" } })));
      const c = client();
      const subscription = c.events.subscribe({ readyTimeoutMs: 2_000 });
      const error = await failure(subscription.ready);
      expect(error).toBeInstanceOf(RedirectError);
      expect((error as RedirectError).location).toBe("/login");
      subscription.close();
    });
  });
});

describe("memory stays bounded against a huge body", () => {
  it.each(ENGINES)("a 200 MB body over $name with the default bound: ResponseTooLargeError, rss grows < 150 MB", async (engine) => {
    const c = createClient({ baseUrl: endless.origin, logger: {}, maxRetries: 0, ...engine.options });
    clients.push(c);
    globalThis.gc?.();
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    const error = await c.request("get", "/config").catch((e: unknown) => e);
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);
    expect(error).toBeInstanceOf(ResponseTooLargeError);
    expect((error as ResponseTooLargeError).limit).toBe(32 * 1024 * 1024);
    expect(peak - before).toBeLessThan(150 * 1024 * 1024);
    await expect.poll(() => endless.openSockets(), { timeout: 2_000 }).toBe(0);
  });
});
