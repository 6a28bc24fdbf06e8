// Transport behaviour against a real loopback socket whose answers come from msw handlers, once
// over the Node default (undici) and once over an injected WHATWG fetch: both must behave the same.
import { http, HttpResponse, delay } from "msw";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
  AbortError,
  APIConnectionError,
  APIError,
  APITimeoutError,
  AuthenticationError,
  BadRequestError,
  ConfigurationError,
  ConflictError,
  createClient,
  InternalServerError,
  InvalidResponseError,
  NotFoundError,
  PermissionDeniedError,
  TooManyRequestsError,
  UnprocessableEntityError,
  type ClientOptions,
} from "../../src/index.js";
import { ENGINES, type EngineUnderTest } from "../support/engines.js";
import { startMswServer, type MswServer } from "../support/msw-server.js";

let server: MswServer;
const clients: { close(): Promise<void> }[] = [];
const quiet = { logger: {} };

function clientOver(engine: EngineUnderTest, options: ClientOptions = {}) {
  const c = createClient({ baseUrl: server.url, ...quiet, ...engine.options, ...options });
  clients.push(c);
  return c;
}

const session = { id: "ses_1", title: "t" };
const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;

beforeAll(async () => {
  server = await startMswServer();
});
afterEach(async () => {
  vi.useRealTimers();
  vi.unstubAllEnvs();
  await Promise.all(clients.splice(0).map((c) => c.close()));
  server.reset();
});
afterAll(() => server.close());

describe.each(ENGINES)("over $name", (engine) => {
  const client = (options: ClientOptions = {}) => clientOver(engine, options);

  it("sends through this transport", async () => {
    server.use(http.get("*/session", () => HttpResponse.json([])));
    const fetchSpy = vi.spyOn(globalThis, "fetch");
    const before = engine.fetchCalls();
    await client().request("get", "/session");
    if (engine.options.fetch === undefined) {
      // The Node default is undici's dispatcher, not the global fetch (also undici, but slower on streams).
      expect(fetchSpy).not.toHaveBeenCalled();
    } else {
      expect(engine.fetchCalls()).toBe(before + 1);
    }
    fetchSpy.mockRestore();
  });

  describe("auth", () => {
    it("sends basic auth from the options", async () => {
      server.use(http.get("*/session", () => HttpResponse.json([session])));
      await client({ password: "pw", username: "alice" }).request("get", "/session");
      expect(server.requests[0]?.headers["authorization"]).toBe(basic("alice", "pw"));
    });

    it("takes user:pass from the base URL and never sends it as userinfo", async () => {
      server.use(http.get("*/session", () => HttpResponse.json([])));
      const url = new URL(server.url);
      url.username = "bob";
      url.password = "s3cr%t";
      await client({ baseUrl: url.href }).request("get", "/session");
      expect(server.requests[0]?.headers["authorization"]).toBe(basic("bob", "s3cr%t"));
    });

    it("reads OPENCODE_SERVER_PASSWORD and defaults the user to opencode", async () => {
      vi.stubEnv("OPENCODE_SERVER_PASSWORD", "from-env");
      vi.stubEnv("OPENCODE_SERVER_USERNAME", undefined);
      server.use(http.get("*/session", () => HttpResponse.json([])));
      await client().request("get", "/session");
      expect(server.requests[0]?.headers["authorization"]).toBe(basic("opencode", "from-env"));
    });

    it("reads OPENCODE_SERVER_USERNAME and OPENCODE_BASE_URL", async () => {
      vi.stubEnv("OPENCODE_SERVER_PASSWORD", "pw");
      vi.stubEnv("OPENCODE_SERVER_USERNAME", "carol");
      vi.stubEnv("OPENCODE_BASE_URL", `${server.url}/from-env/`);
      server.use(http.get("*/from-env/session", () => HttpResponse.json([])));
      const c = createClient({ ...quiet, ...engine.options });
      clients.push(c);
      await c.request("get", "/session");
      expect(server.requests[0]?.url.pathname).toBe("/from-env/session");
      expect(server.requests[0]?.headers["authorization"]).toBe(basic("carol", "pw"));
    });

    it("sends no Authorization header when no password is configured", async () => {
      vi.stubEnv("OPENCODE_SERVER_PASSWORD", "");
      server.use(http.get("*/session", () => HttpResponse.json([])));
      await client().request("get", "/session");
      expect(server.requests[0]?.headers["authorization"]).toBeUndefined();
    });

    it("warns once when basic auth would cross a non-loopback network in plain http", () => {
      const warn = vi.fn();
      createClient({ baseUrl: "http://example.invalid:4096", password: "pw", logger: { warn } });
      createClient({ baseUrl: "https://example.invalid", password: "pw", logger: { warn } });
      createClient({ baseUrl: "http://127.0.0.1:4096", password: "pw", logger: { warn } });
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0]?.[0])).not.toContain("pw");
    });
  });

  describe("URLs", () => {
    it.each(["/opencode", "/opencode/"])("keeps a reverse-proxy path prefix (%s)", async (prefix) => {
      server.use(http.get("*/opencode/session/:id", ({ params }) => HttpResponse.json({ ...session, id: params["id"] })));
      const got = await client({ baseUrl: server.url + prefix }).request("get", "/session/{sessionID}", {
        path: { sessionID: "ses_9" },
      });
      expect(got.id).toBe("ses_9");
      expect(server.requests[0]?.url.pathname).toBe("/opencode/session/ses_9");
    });

    it.each([
      ["../config", "/session/..%2Fconfig"],
      ["a b?c#d", "/session/a%20b%3Fc%23d"],
    ])("percent-encodes path params so %j stays in its segment", async (id, expected) => {
      server.use(http.get("*", () => HttpResponse.json(session)));
      await client().request("get", "/session/{sessionID}", { path: { sessionID: id } });
      const raw = server.requests[0]!;
      expect(raw.url.pathname).toBe(expected);
    });

    it("refuses dot-segment path params instead of sending them", async () => {
      server.use(http.get("*", () => HttpResponse.json(session)));
      await expect(client().request("get", "/session/{sessionID}", { path: { sessionID: ".." } })).rejects.toThrow(ConfigurationError);
      expect(server.requests).toHaveLength(0);
    });

    it("scopes requests to the configured directory", async () => {
      server.use(http.get("*/session", () => HttpResponse.json([])));
      await client({ directory: "/tmp/my project" }).request("get", "/session", { query: { roots: true } });
      expect(server.requests[0]?.url.searchParams.get("directory")).toBe("/tmp/my project");
      expect(server.requests[0]?.url.searchParams.get("roots")).toBe("true");
    });

    it("sends JSON bodies with a content-type", async () => {
      server.use(http.post("*/session", async ({ request }) => HttpResponse.json({ ...session, title: ((await request.json()) as { title: string }).title })));
      const created = await client().request("post", "/session", { body: { title: "hello" } });
      expect(created.title).toBe("hello");
      expect(server.requests[0]?.headers["content-type"]).toBe("application/json");
    });

    it("returns undefined for 204", async () => {
      server.use(http.post("*/session/:id/prompt_async", () => new HttpResponse(null, { status: 204 })));
      const result = await client().request("post", "/session/{sessionID}/prompt_async", {
        path: { sessionID: "ses_1" },
        body: { parts: [{ type: "text", text: "hi" }] },
      });
      expect(result).toBeUndefined();
    });
  });

  describe("errors", () => {
    it.each([
      [400, BadRequestError],
      [401, AuthenticationError],
      [403, PermissionDeniedError],
      [404, NotFoundError],
      [409, ConflictError],
      [422, UnprocessableEntityError],
      [429, TooManyRequestsError],
      [500, InternalServerError],
      [503, InternalServerError],
      [418, APIError],
    ] as const)("status %i becomes %s with method, path, body and headers", async (status, ErrorClass) => {
      server.use(
        http.delete("*/session/:id", () =>
          HttpResponse.json({ name: "Boom", data: { message: `nope ${status}` } }, { status, headers: { "x-request-id": "r1" } }),
        ),
      );
      const error = await client({ maxRetries: 0 })
        .request("delete", "/session/{sessionID}", { path: { sessionID: "ses_1" } })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ErrorClass);
      expect(error).toBeInstanceOf(APIError);
      const apiError = error as APIError;
      expect(apiError.status).toBe(status);
      expect(apiError.method).toBe("DELETE");
      expect(apiError.message).toContain("DELETE /session/ses_1");
      expect(apiError.message).toContain(`nope ${status}`);
      expect(apiError.body).toEqual({ name: "Boom", data: { message: `nope ${status}` } });
      expect(apiError.headers["x-request-id"]).toBe("r1");
      expect(apiError.retryable).toBe(status === 429 || status >= 500);
    });

    it("an HTML page where JSON was expected is an InvalidResponseError, not a crash", async () => {
      server.use(http.get("*/session", () => HttpResponse.html("<!doctype html><title>Sign in</title>")));
      const error = await client().request("get", "/session").catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidResponseError);
      expect((error as InvalidResponseError).message).toMatch(/GET \/session answered 200 with text\/html/);
      expect((error as InvalidResponseError).snippet).toContain("Sign in");
    });

    it("broken JSON is an InvalidResponseError that keeps the parse error as cause", async () => {
      server.use(http.get("*/session", () => new HttpResponse('{"id": ', { headers: { "content-type": "application/json" } })));
      const error = (await client().request("get", "/session").catch((e: unknown) => e)) as InvalidResponseError;
      expect(error).toBeInstanceOf(InvalidResponseError);
      expect(error.cause).toBeInstanceOf(SyntaxError);
    });

    it("a dead server is an APIConnectionError naming the origin", async () => {
      const dead = await startMswServer();
      const url = dead.url;
      await dead.close();
      const error = await client({ baseUrl: url, maxRetries: 0 }).request("get", "/session").catch((e: unknown) => e);
      expect(error).toBeInstanceOf(APIConnectionError);
      expect((error as Error).message).toContain(url);
      expect((error as Error).message).toContain("ECONNREFUSED");
    });
  });

  describe("retries", () => {
    it("retries 503 on GET honoring retry-after (seconds)", async () => {
      vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
      let calls = 0;
      server.use(
        http.get("*/session", () =>
          ++calls === 1 ? HttpResponse.json({}, { status: 503, headers: { "retry-after": "7" } }) : HttpResponse.json([session]),
        ),
      );
      const pending = client().request("get", "/session");
      await vi.waitFor(() => expect(server.requests).toHaveLength(1));
      await vi.advanceTimersByTimeAsync(6_990);
      expect(server.requests).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(20);
      await expect(pending).resolves.toEqual([session]);
      expect(server.requests).toHaveLength(2);
    });

    it("honors retry-after-ms over Retry-After", async () => {
      vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
      let calls = 0;
      server.use(
        http.get("*/session", () =>
          ++calls === 1
            ? HttpResponse.json({}, { status: 429, headers: { "retry-after-ms": "250", "retry-after": "30" } })
            : HttpResponse.json([]),
        ),
      );
      const pending = client().request("get", "/session");
      await vi.waitFor(() => expect(server.requests).toHaveLength(1));
      await vi.advanceTimersByTimeAsync(240);
      expect(server.requests).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(20);
      await expect(pending).resolves.toEqual([]);
    });

    it("backs off exponentially (0.5 s, 1 s) and gives up after maxRetries", async () => {
      vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
      server.use(http.get("*/session", () => HttpResponse.json({ message: "down" }, { status: 500 })));
      const pending = client({ maxRetries: 2 }).request("get", "/session").catch((e: unknown) => e);
      await vi.waitFor(() => expect(server.requests).toHaveLength(1));
      await vi.advanceTimersByTimeAsync(374); // jitter takes at most 25 % off 500 ms
      expect(server.requests).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(127);
      await vi.waitFor(() => expect(server.requests).toHaveLength(2));
      await vi.advanceTimersByTimeAsync(749);
      expect(server.requests).toHaveLength(2);
      await vi.advanceTimersByTimeAsync(252);
      expect(await pending).toBeInstanceOf(InternalServerError);
      expect(server.requests).toHaveLength(3);
    });

    it.each([400, 401, 403, 404])("never retries %i", async (status) => {
      server.use(http.get("*/session", () => HttpResponse.json({}, { status })));
      await expect(client({ maxRetries: 5 }).request("get", "/session")).rejects.toBeInstanceOf(APIError);
      expect(server.requests).toHaveLength(1);
    });

    it("never retries a POST unless the call marks it idempotent", async () => {
      server.use(http.post("*/session", () => HttpResponse.json({}, { status: 503, headers: { "retry-after-ms": "1" } })));
      await expect(client().request("post", "/session", { body: {} })).rejects.toBeInstanceOf(InternalServerError);
      expect(server.requests).toHaveLength(1);
      server.reset(http.post("*/session", () => HttpResponse.json({}, { status: 503, headers: { "retry-after-ms": "1" } })));
      await expect(client().request("post", "/session", { body: {}, idempotent: true })).rejects.toBeInstanceOf(InternalServerError);
      expect(server.requests).toHaveLength(3);
    });

    it("retries a GET whose connection is reset", async () => {
      let calls = 0;
      server.use(http.get("*/session", () => (++calls === 1 ? HttpResponse.error() : HttpResponse.json([session]))));
      await expect(client().request("get", "/session", { timeoutMs: 5_000 })).resolves.toEqual([session]);
      expect(calls).toBe(2);
    });
  });

  describe("timeouts and abort", () => {
    it("times out a slow answer with APITimeoutError", async () => {
      server.use(http.get("*/session", async () => {
        await delay(2_000);
        return HttpResponse.json([]);
      }));
      const started = Date.now();
      const error = await client({ timeoutMs: 150, maxRetries: 0 }).request("get", "/session").catch((e: unknown) => e);
      expect(error).toBeInstanceOf(APITimeoutError);
      expect((error as APITimeoutError).message).toBe("GET /session timed out after 150 ms");
      expect(Date.now() - started).toBeLessThan(1_500);
    });

    it("an AbortSignal stops the request with AbortError and no retry", async () => {
      server.use(http.get("*/session", async () => {
        await delay(2_000);
        return HttpResponse.json([]);
      }));
      const controller = new AbortController();
      const pending = client({ maxRetries: 3 }).request("get", "/session", { signal: controller.signal }).catch((e: unknown) => e);
      await vi.waitFor(() => expect(server.requests).toHaveLength(1));
      controller.abort();
      expect(await pending).toBeInstanceOf(AbortError);
      expect(server.requests).toHaveLength(1);
    });

    it("an already-aborted signal sends nothing", async () => {
      server.use(http.get("*/session", () => HttpResponse.json([])));
      await expect(client().request("get", "/session", { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError);
      expect(server.requests).toHaveLength(0);
    });

    it("a closed client refuses new requests", async () => {
      const c = client();
      await c.close();
      await expect(c.request("get", "/session")).rejects.toBeInstanceOf(AbortError);
    });
  });

  describe("openStream", () => {
    it("bounds only the wait for headers: a stream may outlive timeoutMs", async () => {
      server.use(
        http.get("*/event", () => {
          const encoder = new TextEncoder();
          const stream = new ReadableStream<Uint8Array>({
            async start(controller) {
              for (let i = 0; i < 5; i++) {
                controller.enqueue(encoder.encode(`data: ${i}\n\n`));
                await delay(100);
              }
              controller.close();
            },
          });
          return new HttpResponse(stream, { headers: { "content-type": "text/event-stream" } });
        }),
      );
      const response = await client({ timeoutMs: 150 }).transport.openStream("/event", { signal: new AbortController().signal });
      let body = "";
      const decoder = new TextDecoder();
      await response.stream((chunk) => (body += decoder.decode(chunk, { stream: true })));
      expect(body).toBe("data: 0\n\ndata: 1\n\ndata: 2\n\ndata: 3\n\ndata: 4\n\n");
    });

    it("times out when the headers do not come", async () => {
      server.use(http.get("*/event", async () => {
        await delay(2_000);
        return new HttpResponse("", { headers: { "content-type": "text/event-stream" } });
      }));
      const error = await client({ timeoutMs: 150 })
        .transport.openStream("/event", { signal: new AbortController().signal })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(APITimeoutError);
    });
  });
});
