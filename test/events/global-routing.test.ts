// One event connection per client across projects, on a real server: a client following one
// project reads its scoped `/event`; following a second, it moves to `/global/event` and routes
// each frame to its project by the directory the server names (canonical: a symlinked or
// slash-ended path still matches). A turn streams on that shared connection, a project's disposal
// is a gap for that project only, and a server without `/global/event` gets one `/event` per project.
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient, type OpencodeClient } from "../../src/index.js";
import { globalLayout } from "../../src/events/link.js";
import type { Event, StreamGap } from "../../src/events/types.js";
import { startFaultProxy, type FaultProxy } from "../support/fault-proxy.js";
import { directive, startModelServer, type ModelServer } from "../support/model-server.js";
import { startTestServer, type TestServer } from "../support/opencode.js";

let model: ModelServer;
let server: TestServer;
let proxy: FaultProxy;
let second: string;
/** The second project as a client may name it: through a symlink, with a trailing slash. */
let secondAlias: string;
let clients: OpencodeClient[] = [];

beforeAll(async () => {
  model = await startModelServer();
  server = await startTestServer({ config: model.providerConfig() });
  proxy = await startFaultProxy(server.url);
  second = mkdtempSync(join(tmpdir(), "opencode-routing-"));
  secondAlias = `${second}-alias`;
  symlinkSync(second, secondAlias);
  secondAlias += "/";
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await proxy?.close();
  await server?.close();
  await model?.close();
  if (second) rmSync(second, { recursive: true, force: true });
  if (secondAlias) rmSync(secondAlias.slice(0, -1), { force: true });
});

function connect(baseUrl = proxy.url): OpencodeClient {
  const client = createClient({ baseUrl, username: server.username, password: server.password, logger: {}, events: { reconnectInitialMs: 50, reconnectMaxMs: 500 } });
  clients.push(client);
  return client;
}

/** A client acting behind the subscribers' back, in `directory`. */
function actor(directory: string): OpencodeClient {
  const client = createClient({ baseUrl: server.url, username: server.username, password: server.password, logger: {}, directory });
  clients.push(client);
  return client;
}

/** Collects a subscription's events until `stop()`. */
function collect(iterable: AsyncIterable<Event | StreamGap>): { seen: (Event | StreamGap)[]; done: Promise<void> } {
  const seen: (Event | StreamGap)[] = [];
  const done = (async () => {
    for await (const event of iterable) seen.push(event);
  })();
  return { seen, done };
}

async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`never: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const createdIn = (seen: readonly (Event | StreamGap)[]) =>
  seen.flatMap((e) => (e.type === "session.created" ? [(e.properties as { info: { id: string } }).info.id] : []));
const gaps = (seen: readonly (Event | StreamGap)[]) => seen.filter((e) => e.type === "client.gap").length;

describe("one connection for every project of a client", () => {
  it("a second project moves the client to /global/event; each project gets only its own events", async () => {
    const client = connect();
    const from = proxy.connections.length;
    const streams = () => proxy.connections.slice(from).filter((c) => c.path?.startsWith("/event") || c.path?.startsWith("/global/event"));
    const own = client.events.subscribe({ gaps: true });
    await own.ready;
    // (A cold 1.2.27 can keep a first opening silent past openTimeoutMs: that attempt was abandoned.)
    expect(streams().filter((c) => !c.closed).map((c) => c.path?.split("?")[0])).toEqual(["/event"]);

    const mine = collect(own);
    const theirs = client.events.forDirectory(secondAlias).subscribe({ gaps: true });
    const other = collect(theirs);
    await theirs.ready;
    // The scoped stream was replaced: one open connection, the global one, and one gap for the first project.
    await until(() => streams().filter((c) => !c.closed).length === 1, "the scoped stream closed");
    expect(streams().filter((c) => !c.closed).map((c) => c.path?.split("?")[0])).toEqual(["/global/event"]);
    await own.ready;
    expect(gaps(mine.seen)).toBe(1);

    const inFirst = await actor(server.project).session.create({ title: "first" });
    const inSecond = await actor(second).session.create({ title: "second" });
    await until(() => createdIn(mine.seen).includes(inFirst.id) && createdIn(other.seen).includes(inSecond.id), "both creations routed");
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(createdIn(mine.seen)).not.toContain(inSecond.id);
    expect(createdIn(other.seen)).not.toContain(inFirst.id);
    expect(gaps(other.seen)).toBe(0);

    // The second project leaving keeps the connection (no reconnect, no gap); the last one out closes it.
    theirs.close();
    const inFirstAgain = await actor(server.project).session.create({ title: "first again" });
    await until(() => createdIn(mine.seen).includes(inFirstAgain.id), "the first project still live");
    expect(gaps(mine.seen)).toBe(1);
    own.close();
    await Promise.all([mine.done, other.done]);
    await until(() => streams().every((c) => c.closed), "no stream left open");
    expect(client.events.state).toBe("closed");
  });

  it("a turn streams on the shared connection while another project is followed", async () => {
    const client = connect();
    const from = proxy.connections.length;
    const streams = () => proxy.connections.slice(from).filter((c) => c.path?.startsWith("/event") || c.path?.startsWith("/global/event"));
    await using list = await client.session.watchAll({ directory: second });
    const session = await client.session.create({});
    const turn = session.prompt(`hi\n${directive({ text: "routed by directory" })}`);
    let text = "";
    for await (const reply of turn) if (reply.kind === "delta") text += reply.text;
    expect(text).toBe("routed by directory");
    expect(streams().filter((c) => !c.closed).map((c) => c.path?.split("?")[0])).toEqual(["/global/event"]);
    // The other project's list stayed live on the same connection.
    const elsewhere = await actor(second).session.create({ title: "elsewhere" });
    await until(() => list.get().sessions.some((e) => e.info.id === elsewhere.id), "the other project's list updated");
    expect(list.get().sessions.some((e) => e.info.id === session.id)).toBe(false);
  });

  it("a project's disposal is a gap for that project only", async () => {
    const client = connect();
    const own = client.events.subscribe({ gaps: true });
    const theirs = client.events.forDirectory(second).subscribe({ gaps: true });
    const mine = collect(own);
    const other = collect(theirs);
    await Promise.all([own.ready, theirs.ready]);
    const before = { mine: gaps(mine.seen), other: gaps(other.seen) };
    await actor(second).request("patch", "/config", { body: {} });
    await until(() => gaps(other.seen) === before.other + 1, "the disposed project's gap");
    const disposedAt = other.seen.findIndex((e) => e.type === "server.instance.disposed");
    expect(disposedAt).toBeGreaterThanOrEqual(0);
    expect(other.seen.slice(disposedAt + 1).some((e) => e.type === "client.gap")).toBe(true);
    // The other project's events keep flowing: it was not disposed and saw no gap.
    const inFirst = await actor(server.project).session.create({});
    await until(() => createdIn(mine.seen).includes(inFirst.id), "the first project still live");
    expect(gaps(mine.seen)).toBe(before.mine);
    expect(mine.seen.some((e) => e.type === "server.instance.disposed")).toBe(false);
    own.close();
    theirs.close();
    await Promise.all([mine.done, other.done]);
  });
});

describe("a server without /global/event", () => {
  let gateway: Server;
  let gatewayUrl: string;
  const paths: string[] = [];

  beforeAll(async () => {
    // Forwards everything but the global stream, which it answers 404, as an older server or a narrow proxy would.
    const target = new URL(server.url);
    gateway = createServer((req, res) => {
      paths.push(req.url ?? "");
      if (req.url?.startsWith("/global/event")) return void res.writeHead(404, { "content-type": "text/plain" }).end("Not Found");
      const upstream = request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on("error", () => res.destroy());
      res.on("close", () => upstream.destroy());
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => gateway.listen(0, "127.0.0.1", resolve));
    gatewayUrl = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    gateway?.closeAllConnections();
    await new Promise((resolve) => gateway?.close(resolve));
  });

  it("gets one /event stream per project, each with its own events", async () => {
    const client = connect(gatewayUrl);
    const own = client.events.subscribe({ gaps: true });
    const mine = collect(own);
    await own.ready;
    const theirs = client.events.forDirectory(second).subscribe({ gaps: true });
    const other = collect(theirs);
    await theirs.ready;
    expect(paths.filter((p) => p.startsWith("/global/event"))).toHaveLength(1);
    const inFirst = await actor(server.project).session.create({});
    const inSecond = await actor(second).session.create({});
    await until(() => createdIn(mine.seen).includes(inFirst.id) && createdIn(other.seen).includes(inSecond.id), "both creations delivered");
    expect(createdIn(mine.seen)).not.toContain(inSecond.id);
    expect(createdIn(other.seen)).not.toContain(inFirst.id);
    // Asked once: a third project goes straight to its own stream.
    const third = client.events.forDirectory(secondAlias).subscribe();
    await third.ready;
    expect(paths.filter((p) => p.startsWith("/global/event"))).toHaveLength(1);
    expect(paths.filter((p) => p.startsWith("/event")).length).toBeGreaterThanOrEqual(3);
    own.close();
    theirs.close();
    third.close();
    await Promise.all([mine.done, other.done]);
  });
});

describe("globalLayout", () => {
  it("reads the directory and where the payload starts, as each server version writes them", () => {
    const payload = '{"type":"session.idle","properties":{"sessionID":"ses_1"}}';
    const old = `{"directory":"/tmp/a","payload":${payload}}`;
    expect(globalLayout(old)).toEqual({ directory: "/tmp/a", payloadAt: old.indexOf(payload) });
    const current = `{"directory":"/tmp/a","project":"global","payload":${payload}}`;
    expect(globalLayout(current)).toEqual({ directory: "/tmp/a", payloadAt: current.indexOf(payload) });
    const own = `{"payload":${payload}}`;
    expect(globalLayout(own)).toEqual({ directory: undefined, payloadAt: own.indexOf(payload) });
  });

  it("decodes escaped directories and leaves other layouts to the full parse", () => {
    const windows = JSON.stringify({ directory: 'C:\\work\\"quoted"', payload: {} });
    expect(globalLayout(windows)?.directory).toBe('C:\\work\\"quoted"');
    expect(globalLayout('{"payload":{},"directory":"/tmp/a"}')?.directory).toBeUndefined();
    expect(globalLayout('{"project":"p","directory":"/tmp/a","payload":{}}')).toBeUndefined();
    expect(globalLayout('{"directory":"/tmp/a"')).toBeUndefined();
    expect(globalLayout('{"directory":"/tmp/a","other":1,"payload":{}}')).toBeUndefined();
  });
});
