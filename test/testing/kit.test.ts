// The testing kit as a user's test uses it: `startTestServer()` gives a real opencode with the
// scripted model and a client; the recorder keeps a real `/event` stream and the replayer serves it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Reply } from "../../src/index.js";
import { directive, readEvents, recordEvents, replayEvents, startTestServer, type TestServer } from "../../src/testing/index.js";

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ config: { permission: { bash: "ask" } } });
});
afterAll(() => t?.close());

describe("startTestServer", () => {
  it("runs a scripted turn with reasoning, a permission-asking tool call and text, no API key", async () => {
    const session = await t.client.session.create({ title: "kit" });
    const turn = session.prompt(
      `look\n${directive({ reasoning: "Think first.", text: "Looking.", toolCalls: [{ name: "bash", input: { command: "echo hi", description: "say hi" } }], then: { text: "It said hi." } })}`,
    );
    const kinds: Reply["kind"][] = [];
    for await (const reply of turn) {
      kinds.push(reply.kind);
      if (reply.kind === "permission") await session.respond(reply.id, "once");
    }
    const final = await turn.done;
    expect(final.text).toBe("It said hi.");
    expect(kinds).toEqual(expect.arrayContaining(["reasoning", "delta", "permission", "tool_call", "tool_result", "final"]));
    expect(t.model.requests.some((r) => r.kind === "script")).toBe(true);
  });

  it("a scripted provider error ends the turn with an error reply", async () => {
    const session = await t.client.session.create({});
    const replies: Reply[] = [];
    for await (const reply of session.prompt(`fail\n${directive({ error: { status: 401, message: "bad key" } })}`)) replies.push(reply);
    expect(replies.at(-1)).toMatchObject({ kind: "error", error: { name: "ProviderAuthError" } });
  });

  it("close() stops the server: its URL refuses connections afterwards", async () => {
    const own = await startTestServer();
    expect(own.version).toMatch(/^\d+\.\d+\.\d+/);
    await own.close();
    await own.close();
    await expect(fetch(`${own.url}/global/health`)).rejects.toThrow();
  });
});

describe("recordEvents / readEvents / replayEvents", () => {
  it("records a real turn's /event bytes, reads them as events, and replays them to a client", async () => {
    const recording = await recordEvents({ url: t.url, username: t.username, password: t.password });
    const session = await t.client.session.create({});
    await session.run(`hi\n${directive({ text: "Recorded words.", chunks: 4 })}`);
    const sse = await recording.stop();

    const events = readEvents(sse);
    expect(events[0]?.type).toBe("server.connected");
    const deltas = events.flatMap((e) => (e.type === "message.part.delta" && e.properties.sessionID === session.id ? [e.properties.delta] : []));
    expect(deltas.join("")).toBe("Recorded words.");

    const replay = await replayEvents(sse, { chunkSize: 7 });
    const client = t.connect({ baseUrl: replay.url, password: undefined });
    const replayed: string[] = [];
    for await (const event of client.events.subscribe({ sessionID: session.id })) {
      replayed.push(event.type);
      if (event.type === "session.idle") break;
    }
    await client.close();
    await replay.close();
    // What a subscription to the session saw live: the connection's first frame, then that session's events.
    const idle = events.findIndex((e) => e.type === "session.idle" && e.properties.sessionID === session.id);
    const ofSession = events.slice(0, idle + 1).filter((e) => e.type === "server.connected" || ("sessionID" in e.properties && e.properties.sessionID === session.id));
    expect(replayed).toEqual(ofSession.map((e) => e.type));
    expect(replayed.length).toBeGreaterThan(10);
  });
});
