// Knowing the server: the version of a 1.x server, and an OpenCode 2 server (which cannot run here,
// so msw answers as one: no /global/health, `GET /api/info` → {version}) refused with a typed error
// before any session request or prompt reaches it.
import { http, HttpResponse } from "msw";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AuthenticationError, createClient, NotFoundError, NotOpencodeError, UnsupportedServerError } from "../../src/index.js";
import { startMswServer, type MswServer } from "../support/msw-server.js";

let server: MswServer;
const clients: { close(): Promise<void> }[] = [];

function client() {
  const c = createClient({ baseUrl: server.url, logger: {}, maxRetries: 0 });
  clients.push(c);
  return c;
}

const opencode1 = (version = "1.18.33") => [
  http.get("*/global/health", () => HttpResponse.json({ healthy: true, version })),
  http.post("*/session", () => HttpResponse.json({ id: "ses_1", title: "t" })),
];
const opencode2 = [
  http.get("*/global/health", () => new HttpResponse("Not Found", { status: 404 })),
  http.get("*/api/info", () => HttpResponse.json({ version: "2.0.3", name: "opencode" })),
  // A 2.x server may keep an event stream; the prompt must still never be sent.
  http.get("*/event", () => new HttpResponse('data: {"type":"server.connected","properties":{}}\n\n', { headers: { "content-type": "text/event-stream" } })),
  http.post("*/session", () => HttpResponse.json({ id: "ses_1", title: "t" })),
  http.post("*/session/:id/prompt_async", () => new HttpResponse(null, { status: 204 })),
];
const paths = () => server.requests.map((r) => `${r.method} ${r.url.pathname}`);

beforeAll(async () => {
  server = await startMswServer();
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  server.reset();
  server.requests.length = 0;
});
afterAll(() => server.close());

describe("client.server", () => {
  it("reports a 1.x server's version and health", async () => {
    server.use(...opencode1("1.3.2"));
    const c = client();
    expect(await c.server.version()).toBe("1.3.2");
    expect(await c.server.health()).toEqual({ healthy: true, version: "1.3.2" });
  });

  it("an OpenCode 2 server is UnsupportedServerError naming its version", async () => {
    server.use(...opencode2);
    const error = await client().server.version().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnsupportedServerError);
    expect((error as UnsupportedServerError).version).toBe("2.0.3");
    expect((error as UnsupportedServerError).retryable).toBe(false);
    expect((error as Error).message).toContain("opencode 2.0.3 is not supported");
    expect(paths()).toEqual(["GET /global/health", "GET /api/info"]);
  });

  it("a health answer with a 2.x version is refused too", async () => {
    server.use(...opencode1("2.1.0"));
    await expect(client().server.check()).rejects.toMatchObject({ name: "UnsupportedServerError", version: "2.1.0" });
  });

  it("a server with neither endpoint is NotOpencodeError, keeping the original 404 as its cause", async () => {
    server.use(http.get("*/global/health", () => new HttpResponse("no", { status: 404 })));
    const error = await client().server.version().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotOpencodeError);
    expect((error as Error).cause).toBeInstanceOf(NotFoundError);
  });
});

describe("session requests and turns check the server once, first", () => {
  it("on 1.x: one health request before the first session request, none after", async () => {
    server.use(...opencode1());
    const c = client();
    await c.session.create({ title: "a" });
    await c.session.create({ title: "b" });
    expect(paths()).toEqual(["GET /global/health", "POST /session", "POST /session"]);
  });

  it("on OpenCode 2: session.create fails fast and sends nothing else, now and later", async () => {
    server.use(...opencode2);
    const c = client();
    await expect(c.session.create({ title: "a" })).rejects.toBeInstanceOf(UnsupportedServerError);
    await expect(c.session.create({ title: "b" })).rejects.toBeInstanceOf(UnsupportedServerError);
    expect(paths()).toEqual(["GET /global/health", "GET /api/info"]);
  });

  it("on OpenCode 2: a turn ends with UnsupportedServerError and its prompt is never posted", async () => {
    server.use(...opencode2);
    const turn = client().session.get("ses_1").prompt("hello");
    const replies = [];
    for await (const reply of turn) replies.push(reply);
    await expect(turn.done).rejects.toBeInstanceOf(UnsupportedServerError);
    expect(replies.at(-1)).toMatchObject({ kind: "error", error: { name: "UnsupportedServerError", version: "2.0.3" } });
    expect(paths()).not.toContain("POST /session/ses_1/prompt_async");
  });

  it("a wrong password is the AuthenticationError of one request, and the next call asks again", async () => {
    server.use(
      http.get("*/global/health", () => new HttpResponse("unauthorized", { status: 401, headers: { "www-authenticate": "Basic" } })),
    );
    const c = client();
    await expect(c.session.create({})).rejects.toBeInstanceOf(AuthenticationError);
    expect(paths()).toEqual(["GET /global/health"]);
    server.reset(...opencode1()); // also forgets the recorded requests
    await c.session.create({});
    expect(paths()).toEqual(["GET /global/health", "POST /session"]);
  });
});
