// The client's one connection across projects, with a scripted transport deciding each byte:
// when a global stream counts as open (its first project event, else a settle time: opencode 1.18
// subscribes after it says `server.connected`), which frames are parsed at all, and a project the
// server refuses failing only its own subscribers.
import { describe, expect, it } from "vitest";
import { EventHub } from "../../src/events/hub.js";
import type { Event, StreamGap } from "../../src/events/types.js";
import { APIError } from "../../src/http/errors.js";
import { Transport, type RawRequest, type StreamResponse } from "../../src/http/transport.js";

/** A stream response the test writes to. */
function controlled(): { response: StreamResponse; write(data: unknown): void } {
  let sink: ((chunk: Uint8Array) => void) | undefined;
  const backlog: Uint8Array[] = [];
  let finish: () => void = () => undefined;
  const response: StreamResponse = {
    status: 200,
    headers: { "content-type": "text/event-stream" },
    stream(onChunk) {
      sink = onChunk;
      for (const chunk of backlog.splice(0)) onChunk(chunk);
      return new Promise<void>((resolve) => (finish = resolve));
    },
    cancel() {
      finish();
    },
  };
  return {
    response,
    write(data) {
      const chunk = new TextEncoder().encode(`data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`);
      if (sink) sink(chunk);
      else backlog.push(chunk);
    },
  };
}

/** Answers `/event?directory=…` and `/global/event` with streams the test writes to, and `GET /path` from a table. */
class ProjectsTransport extends Transport {
  readonly streams: { path: string; query: Record<string, unknown> | undefined; stream: ReturnType<typeof controlled> }[] = [];
  readonly parsed: string[] = [];

  constructor(private readonly canonical: (directory: string | undefined) => string | Error) {
    super({ baseUrl: "http://127.0.0.1:9", logger: {} });
  }

  override async openStream(template: string, init: RawRequest & { signal: AbortSignal }): Promise<StreamResponse> {
    const stream = controlled();
    this.streams.push({ path: template, query: init.query, stream });
    return stream.response;
  }

  override async request(method: string, template: string, init: RawRequest = {}): Promise<unknown> {
    if (template !== "/path") throw new Error(`unexpected ${method} ${template}`);
    const answer = this.canonical(init.query?.["directory"] as string | undefined);
    if (answer instanceof Error) throw answer;
    return { directory: answer };
  }

  latest(path: string): ReturnType<typeof controlled> {
    const found = this.streams.findLast((s) => s.path === path);
    if (!found) throw new Error(`no ${path} stream`);
    return found.stream;
  }
}

const canonicalOf = (directory: string | undefined) => (directory === undefined ? "/work/app" : directory.replace(/\/+$/, "").replace("/link", "/real"));
const created = (id: string) => ({ type: "session.created", properties: { sessionID: id, info: { id, title: id, time: { created: 1, updated: 1 } } } });

async function until(check: () => boolean, ms = 2_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function drain(iterable: AsyncIterable<Event | StreamGap>): (Event | StreamGap)[] {
  const seen: (Event | StreamGap)[] = [];
  void (async () => {
    for await (const event of iterable) seen.push(event);
  })().catch(() => undefined);
  return seen;
}

/** A hub with the client's project open on its scoped stream, then a second project joined: the global stream's opening. */
async function twoProjects(transport = new ProjectsTransport(canonicalOf)) {
  const hub = new EventHub(transport, { reconnectInitialMs: 10 });
  const own = hub.subscribe({ gaps: true });
  const mine = drain(own);
  await until(() => transport.streams.length === 1);
  transport.latest("/event").write({ type: "server.connected", properties: {} });
  await own.ready;
  const other = hub.forDirectory("/work/link/lib/");
  const theirs = other.subscribe({ gaps: true });
  const yours = drain(theirs);
  await until(() => transport.streams.some((s) => s.path === "/global/event"));
  return { transport, hub, other, own, theirs, mine, yours, global: transport.latest("/global/event") };
}

describe("a global stream's opening", () => {
  it("counts as open at its first project event, not at server.connected", async () => {
    const { hub, other, global, mine, yours } = await twoProjects();
    global.write({ payload: { type: "server.connected", properties: {} } });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect([hub.state, other.state]).toEqual(["reconnecting", "reconnecting"]);
    // Any project's event proves the subscription delivers, a project nobody follows included.
    global.write({ directory: "/elsewhere", payload: created("ses_elsewhere") });
    await until(() => hub.state === "open" && other.state === "open");
    global.write({ directory: "/work/real/lib", project: "p", payload: created("ses_lib") });
    global.write({ directory: "/work/app", project: "p", payload: created("ses_app") });
    await until(() => yours.length === 1 && mine.some((e) => e.type === "session.created"));
    expect(yours.map((e) => e.type === "session.created" && e.properties.info.id)).toEqual(["ses_lib"]);
    // The first project: its scoped stream's events, then one gap (the move), then the global stream's.
    expect(mine.map((e) => e.type)).toEqual(["server.connected", "client.gap", "session.created"]);
    await hub.close();
  });

  it("or once it has settled, when no project speaks", async () => {
    const { hub, other, global } = await twoProjects();
    const connectedAt = Date.now();
    global.write({ payload: { type: "server.connected", properties: {} } });
    await until(() => other.state === "open");
    expect(Date.now() - connectedAt).toBeGreaterThanOrEqual(290);
    expect(hub.state).toBe("open");
    await hub.close();
  });

  it("skips sync payloads and other projects' frames without parsing them", async () => {
    const { transport, hub, global, yours } = await twoProjects();
    const warnings: string[] = [];
    transport.options.logger.warn = (message: string) => void warnings.push(message);
    global.write({ payload: { type: "server.connected", properties: {} } });
    global.write({ directory: "/work/real/lib", payload: created("ses_first") });
    // Not JSON after the layout: parsed, it would be a warning; skipped, it is nothing.
    global.write('{"directory":"/elsewhere","payload":{"type":"session.created", not json');
    global.write('{"directory":"/work/real/lib","project":"p","payload":{"type":"sync", not json');
    global.write({ directory: "/work/real/lib", payload: created("ses_second") });
    await until(() => yours.length === 2);
    expect(warnings).toEqual([]);
    await hub.close();
  });
});

it("a project whose directory the server refuses fails only that project's subscribers", async () => {
  const refused = new APIError({ status: 400, headers: {}, body: undefined, method: "GET", url: "http://127.0.0.1:9/path" });
  const transport = new ProjectsTransport((directory) => (directory === "/nowhere" ? refused : canonicalOf(directory)));
  const { hub, global, mine, yours } = await twoProjects(transport);
  global.write({ payload: { type: "server.connected", properties: {} } });
  global.write({ directory: "/work/app", payload: created("ses_app") });
  await until(() => mine.some((e) => e.type === "session.created"));
  const bad = hub.forDirectory("/nowhere").subscribe();
  await expect(bad.ready).rejects.toBe(refused);
  // The connection and the other projects carry on.
  global.write({ directory: "/work/real/lib", payload: created("ses_lib") });
  await until(() => yours.some((e) => e.type === "session.created"));
  expect(hub.state).toBe("open");
  expect(transport.streams.filter((s) => s.path === "/global/event")).toHaveLength(1);
  await hub.close();
});

it("projects followed in the same tick (views opened together) go straight to one global stream", async () => {
  const transport = new ProjectsTransport(canonicalOf);
  const hub = new EventHub(transport);
  const subscriptions = [hub.subscribe(), hub.forDirectory("/work/lib").subscribe(), hub.forDirectory("/work/docs").subscribe()];
  await until(() => transport.streams.length > 0);
  const global = transport.latest("/global/event");
  global.write({ payload: { type: "server.connected", properties: {} } });
  global.write({ directory: "/work/app", payload: created("ses_app") });
  await Promise.all(subscriptions.map((s) => s.ready));
  expect(transport.streams.map((s) => s.path)).toEqual(["/global/event"]);
  await hub.close();
});
