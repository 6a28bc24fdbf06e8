// Fan-out of the one connection: per-subscriber filters, bounded queues, and the raw-text
// prefilter that skips parsing frames no subscriber can want.
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  createClient,
  SubscriberOverflowError,
  type Event,
  type EventSubscription,
  type Logger,
  type OpencodeClient,
} from "../../src/index.js";
import { connected, startSseServer, type SseConnection, type SseServer } from "./sse-server.js";

// Every wait here is on loopback or in memory: a hang is a failure, not slowness.
vi.setConfig({ testTimeout: 5_000 });

let server: SseServer;
const clients: OpencodeClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await server?.close();
});

async function setup(logger: Logger = {}): Promise<{ client: OpencodeClient; stream: () => Promise<SseConnection> }> {
  server = await startSseServer();
  const client = createClient({ baseUrl: server.url, logger });
  clients.push(client);
  return { client, stream: () => server.connection(0) };
}

/** Event ids up to and including `lastID`; gives up (closing the subscription) after 2 s. */
async function drain(subscription: EventSubscription<Event>, lastID: string): Promise<string[]> {
  const ids: string[] = [];
  const timeout = setTimeout(() => subscription.close(), 2_000);
  for await (const event of subscription) {
    ids.push(event.id);
    if (event.id === lastID) break;
  }
  clearTimeout(timeout);
  return ids;
}

const end = { id: "evt_end", type: "server.heartbeat", properties: {} };
/** A frame laid out as opencode writes it, cut off so that parsing it fails (and is logged). */
const broken = (sessionID: string) => `data: {"id":"evt_x","type":"session.idle","properties":{"sessionID":"${sessionID}"\n\n`;

describe("filters", () => {
  const events = [
    { id: "a1", type: "session.idle", properties: { sessionID: "ses_A" } },
    { id: "b1", type: "session.idle", properties: { sessionID: "ses_B" } },
    { id: "a2", type: "message.updated", properties: { info: { id: "msg_1", sessionID: "ses_A", role: "user" } } },
    { id: "b2", type: "message.part.updated", properties: { part: { id: "p", sessionID: "ses_B", messageID: "m", type: "text" } } },
    { id: "a3", type: "session.status", properties: { sessionID: "ses_A", status: { type: "busy" } } },
    { id: "g1", type: "file.edited", properties: { file: "/x/ses_A.txt" } },
    { id: "s1", type: "server.instance.disposed", properties: { directory: "/p" } },
    // Another key order: the prefilter cannot read the type in place, so it must parse.
    { properties: {}, type: "server.heartbeat", id: "s2" },
    // Mentions ses_A in its text but belongs to ses_B: the prefilter lets it through, the filter does not.
    { id: "b3", type: "message.part.delta", properties: { sessionID: "ses_B", messageID: "m", partID: "p", field: "text", delta: "ses_A" } },
  ];

  it("delivers a session's events (sessionID, info.sessionID, part.sessionID) plus server.* events", async () => {
    const { client, stream } = await setup();
    const a = client.events.subscribe({ sessionID: "ses_A" });
    const b = client.events.subscribe({ sessionID: "ses_B" });
    const all = client.events.subscribe();
    await a.ready;
    const connection = await stream();
    for (const event of [...events, end]) connection.send(event);
    expect(await drain(a, "evt_end")).toEqual(["evt_connected_0", "a1", "a2", "a3", "s1", "s2", "evt_end"]);
    expect(await drain(b, "evt_end")).toEqual(["evt_connected_0", "b1", "b2", "s1", "s2", "b3", "evt_end"]);
    expect(await drain(all, "evt_end")).toEqual(["evt_connected_0", ...events.map((e) => e.id), "evt_end"]);
  });

  it("delivers only the requested types, combined with the session filter", async () => {
    const { client, stream } = await setup();
    const idle = client.events.subscribe({ types: ["session.idle", "server.heartbeat"] });
    const idleA = client.events.subscribe({ sessionID: "ses_A", types: ["session.idle", "server.heartbeat"] });
    await idle.ready;
    const connection = await stream();
    for (const event of [...events, end]) connection.send(event);
    expect(await drain(idle, "evt_end")).toEqual(["a1", "b1", "s2", "evt_end"]);
    expect(await drain(idleA, "evt_end")).toEqual(["a1", "s2", "evt_end"]);
  });

  it("types narrow the iterator's event type", async () => {
    const { client, stream } = await setup();
    const deltas = client.events.subscribe({ types: ["message.part.delta"] });
    await deltas.ready;
    (await stream()).send(events.find((e) => e.id === "b3")!);
    for await (const event of deltas) {
      // Compiles only because `event` is EventMessagePartDelta.
      expect(event.properties.delta).toBe("ses_A");
      break;
    }
  });

  it("does not parse frames that mention no subscribed session when every subscriber filters by session", async () => {
    const warn = vi.fn();
    const { client, stream } = await setup({ warn });
    const a = client.events.subscribe({ sessionID: "ses_A" });
    client.events.subscribe({ sessionID: "ses_Z" }); // keeps the connection once `a` is done
    await a.ready;
    const connection = await stream();
    connection.write(broken("ses_B"));
    connection.write(broken("ses_A"));
    connection.send(end);
    expect(await drain(a, "evt_end")).toEqual(["evt_connected_0", "evt_end"]);
    // Only the frame that could concern ses_A was parsed (and found broken).
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]?.[1]).toMatchObject({ data: expect.stringContaining("ses_A") });

    // A subscriber without a session filter needs every frame parsed.
    const all = client.events.subscribe();
    connection.write(broken("ses_B"));
    connection.send({ ...end, id: "evt_end2" });
    expect(await drain(all, "evt_end2")).toEqual(["evt_end2"]);
    expect(warn).toHaveBeenCalledTimes(2);
  });
  it("the prefilter pauses while every frame is wanted, and resumes at the first unwanted one", async () => {
    const warn = vi.fn();
    const { client, stream } = await setup({ warn });
    const a = client.events.subscribe({ sessionID: "ses_A", types: ["session.idle", "server.heartbeat"] });
    await a.ready;
    const connection = await stream();
    for (let i = 0; i < 100; i++) connection.send({ id: `evt_${i}`, type: "session.idle", properties: { sessionID: "ses_A" } });
    connection.write(broken("ses_B")); // paused: parsed, so logged
    connection.send({ id: "evt_b", type: "session.idle", properties: { sessionID: "ses_B" } }); // parsed for nobody: resume
    connection.write(broken("ses_B")); // skipped unparsed
    connection.send(end);
    const ids = await drain(a, "evt_end");
    expect(ids).toHaveLength(100 + 1);
    expect(warn).toHaveBeenCalledTimes(1);
  });
});

describe("bounded queues", () => {
  it("a subscriber that stops reading overflows alone; the reading one gets everything", async () => {
    const warn = vi.fn();
    const { client, stream } = await setup({ warn });
    const fast = client.events.subscribe();
    const slow = client.events.subscribe({ maxQueue: 50 });
    client.events.subscribe({ types: ["session.idle"] }); // keeps the connection once `fast` is done
    await fast.ready;
    const connection = await stream();
    const total = 2_000;
    for (let i = 0; i < total; i++) {
      connection.send({ id: `evt_${i}`, type: "message.part.delta", properties: { sessionID: "ses_1", messageID: "m", partID: "p", field: "text", delta: `${i} ` } });
    }
    connection.send(end);
    const received = await drain(fast, "evt_end");
    expect(received).toEqual(["evt_connected_0", ...Array.from({ length: total }, (_, i) => `evt_${i}`), "evt_end"]);

    const error = await slow.next().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SubscriberOverflowError);
    expect((error as SubscriberOverflowError).maxQueue).toBe(50);
    await expect(slow.next()).resolves.toEqual({ done: true, value: undefined });
    expect(slow.state).toBe("closed");
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/fell behind/), expect.anything());

    // The stream itself goes on for the others.
    const later = client.events.subscribe();
    connection.send({ ...end, id: "evt_later" });
    expect(await drain(later, "evt_later")).toEqual(["evt_later"]);
    expect(server.connections).toHaveLength(1);
  });

  it("an overflowing last subscriber releases the connection", async () => {
    const { client, stream } = await setup();
    const slow = client.events.subscribe({ maxQueue: 3 });
    await slow.ready;
    const connection = await stream();
    for (let i = 0; i < 5; i++) connection.send({ ...end, id: `evt_${i}` });
    await connection.closed;
    expect(client.events.state).toBe("closed");
    await expect(slow.next()).rejects.toBeInstanceOf(SubscriberOverflowError);
  });

  it("a subscriber that overflows on the gap marker is released: the connection closes with it", async () => {
    const { client } = await setup();
    const slow = client.events.subscribe({ maxQueue: 3, gaps: true });
    await slow.ready;
    const first = await server.connection(0);
    // server.connected and two more fill the queue; the stream then ends and the client reconnects.
    first.send({ ...end, id: "evt_1" });
    first.send({ ...end, id: "evt_2" });
    first.res.end();
    const second = await server.connection(1);
    await second.closed;
    expect(client.events.state).toBe("closed");
    await expect(slow.next()).rejects.toBeInstanceOf(SubscriberOverflowError);
  });

  it("concurrent reads resolve in order", async () => {
    const { client, stream } = await setup();
    const subscription = client.events.subscribe({ types: ["server.heartbeat"] });
    await subscription.ready;
    const reads = [subscription.next(), subscription.next(), subscription.next()];
    const connection = await stream();
    for (let i = 0; i < 3; i++) connection.send({ ...end, id: `evt_${i}` });
    expect((await Promise.all(reads)).map((r) => (r.done ? undefined : r.value.id))).toEqual(["evt_0", "evt_1", "evt_2"]);
  });
});

describe("connected frames", () => {
  it("every subscriber sees server.connected when it was waiting for the connection", async () => {
    const { client } = await setup();
    const subscription = client.events.subscribe();
    const first = await subscription.next();
    expect(first.value).toEqual(connected(0));
  });
});
