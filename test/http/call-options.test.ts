// Every one-line call takes the per-call options (`signal`, `timeoutMs`, `maxRetries`, `headers`,
// `maxResponseBytes`) and they reach the request; calls that run a model or a command get a long
// default timeout instead of the client's. msw on loopback answers each route with a valid body.
import { http, HttpResponse, delay } from "msw";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AbortError, APITimeoutError, createClient, type CallOptions, type OpencodeClient } from "../../src/index.js";
import { startMswServer, type MswServer } from "../support/msw-server.js";

const session = { id: "ses_1", title: "t", time: { created: 1, updated: 1 } };
const message = { info: { id: "msg_1", role: "assistant", sessionID: "ses_1" }, parts: [] };
const providers = { all: [{ id: "p", models: { m: { name: "M" } } }], connected: ["p"], default: { p: "m" } };

let server: MswServer;
const clients: OpencodeClient[] = [];

beforeAll(async () => {
  server = await startMswServer();
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  server.reset();
});
afterAll(() => server.close());

function routes(wait = 0) {
  const answer = (body: Parameters<typeof HttpResponse.json>[0]) => async () => {
    await delay(wait);
    return HttpResponse.json(body);
  };
  return [
    http.get("*/global/health", () => HttpResponse.json({ healthy: true, version: "1.18.33" })),
    http.get("*/session/status", answer({ ses_1: { type: "idle" } })),
    http.post("*/session", answer(session)),
    http.get("*/session", answer([session])),
    http.get("*/session/ses_1", answer(session)),
    http.patch("*/session/ses_1", answer(session)),
    http.delete("*/session/ses_1", answer(true)),
    http.get("*/session/ses_1/message", answer([message])),
    http.get("*/session/ses_1/children", answer([session])),
    http.get("*/session/ses_1/diff", answer([])),
    http.get("*/session/ses_1/todo", answer([])),
    http.post("*/session/ses_1/fork", answer(session)),
    http.post("*/session/ses_1/share", answer(session)),
    http.delete("*/session/ses_1/share", answer(session)),
    http.post("*/session/ses_1/revert", answer(session)),
    http.post("*/session/ses_1/unrevert", answer(session)),
    http.post("*/session/ses_1/abort", answer(true)),
    http.post("*/session/ses_1/summarize", answer(true)),
    http.post("*/session/ses_1/shell", answer(message)),
    http.post("*/session/ses_1/command", answer(message)),
    http.post("*/permission/per_1/reply", answer(true)),
    http.post("*/question/que_1/reply", answer(true)),
    http.post("*/question/que_1/reject", answer(true)),
    http.get("*/provider", answer(providers)),
    http.get("*/agent", answer([])),
    http.get("*/config", answer({})),
    http.get("*/file", answer([])),
    http.get("*/file/content", answer({ type: "text", content: "" })),
    http.get("*/file/status", answer([])),
    http.get("*/find", answer([])),
    http.get("*/find/file", answer([])),
    http.get("*/find/symbol", answer([])),
  ];
}

/** Every one-line call, given the options to pass. */
const CALLS: [string, (c: OpencodeClient, o: CallOptions) => Promise<unknown>][] = [
  ["session.create", (c, o) => c.session.create({}, o)],
  ["session.list", (c, o) => c.session.list(o)],
  ["attach", (c, o) => c.session.get("ses_1").attach(o)],
  ["respond", (c, o) => c.session.get("ses_1").respond("per_1", "once", undefined, o)],
  ["answer", (c, o) => c.session.get("ses_1").answer("que_1", [["a"]], o)],
  ["rejectQuestion", (c, o) => c.session.get("ses_1").rejectQuestion("que_1", o)],
  ["abort", (c, o) => c.session.get("ses_1").abort(o)],
  ["messages", (c, o) => c.session.get("ses_1").messages(o)],
  ["refresh", (c, o) => c.session.get("ses_1").refresh(o)],
  ["delete", (c, o) => c.session.get("ses_1").delete(o)],
  ["fork", (c, o) => c.session.get("ses_1").fork(o)],
  ["share", (c, o) => c.session.get("ses_1").share(o)],
  ["unshare", (c, o) => c.session.get("ses_1").unshare(o)],
  ["revert", (c, o) => c.session.get("ses_1").revert("msg_1", o)],
  ["unrevert", (c, o) => c.session.get("ses_1").unrevert(o)],
  ["summarize", (c, o) => c.session.get("ses_1").summarize({ model: "p/m", ...o })],
  ["diff", (c, o) => c.session.get("ses_1").diff(o)],
  ["todo", (c, o) => c.session.get("ses_1").todo(o)],
  ["children", (c, o) => c.session.get("ses_1").children(o)],
  ["update", (c, o) => c.session.get("ses_1").update({ title: "x" }, o)],
  ["provider.list", (c, o) => c.provider.list(o)],
  ["provider.models", (c, o) => c.provider.models(o)],
  ["agent.list", (c, o) => c.agent.list(o)],
  ["config.get", (c, o) => c.config.get(o)],
  ["file.read", (c, o) => c.file.read("a", o)],
  ["file.list", (c, o) => c.file.list("", o)],
  ["file.status", (c, o) => c.file.status(o)],
  ["find.text", (c, o) => c.find.text("a", o)],
  ["find.files", (c, o) => c.find.files("a", o)],
  ["find.symbols", (c, o) => c.find.symbols("a", o)],
];

const client = (timeoutMs?: number) => {
  const c = createClient({ baseUrl: server.url, logger: {}, ...(timeoutMs === undefined ? {} : { timeoutMs }) });
  clients.push(c);
  return c;
};

describe("per-call options", () => {
  it.each(CALLS)("%s sends the call's headers", async (name, call) => {
    server.use(...routes());
    await call(client(), { headers: { "x-call": name } });
    const sent = server.requests.filter((r) => r.headers["x-call"] === name);
    expect(sent.length).toBeGreaterThan(0);
  });

  it.each(CALLS)("%s stops at the call's signal", async (_, call) => {
    server.use(...routes(5_000));
    const error = await call(client(), { signal: AbortSignal.timeout(50) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortError);
  });

  it.each(CALLS)("%s honours the call's timeoutMs", async (_, call) => {
    server.use(...routes(5_000));
    const error = await call(client(), { timeoutMs: 50, maxRetries: 0 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(APITimeoutError);
  });
});

describe("server.health (the version check every session call waits for)", () => {
  it("takes headers, signal and timeoutMs", async () => {
    server.use(
      http.get("*/global/health", async ({ request }) => {
        if (request.headers.get("x-call") !== "health") await delay(5_000);
        return HttpResponse.json({ healthy: true, version: "1.18.33" });
      }),
    );
    await expect(client().server.health({ headers: { "x-call": "health" } })).resolves.toMatchObject({ version: "1.18.33" });
    await expect(client().server.health({ signal: AbortSignal.timeout(50) })).rejects.toBeInstanceOf(AbortError);
    await expect(client().server.health({ timeoutMs: 50, maxRetries: 0 })).rejects.toBeInstanceOf(APITimeoutError);
  });
});

describe("calls that run a model or a command", () => {
  // (shell and command are Turns: their requests have no timeout at all, see test/turn/engine.test.ts.)
  it.each(["summarize"])("%s outlasts the client's timeout by default", async (name) => {
    server.use(...routes(400));
    const [, call] = CALLS.find(([n]) => n === name)!;
    await expect(call(client(100), {})).resolves.toBeDefined();
  });

  it("an ordinary call keeps the client's timeout", async () => {
    server.use(...routes(400));
    const error = await client(100).session.get("ses_1").messages({ maxRetries: 0 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(APITimeoutError);
  });
});
