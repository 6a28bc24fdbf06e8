// The event stream against a real, password-protected `opencode serve`.
import { Agent, type Dispatcher } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthenticationError, createClient, type Event, type EventSubscription } from "../../src/index.js";
import { startTestServer, versionAtLeast, type TestServer } from "../support/opencode.js";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

async function next(subscription: EventSubscription<Event>): Promise<Event> {
  const result = await subscription.next();
  if (result.done) throw new Error("the subscription ended");
  return result.value;
}

/**
 * The next event of `type` (and matching `where`), skipping others the server may interleave (file
 * watcher, lsp…, and before 1.17 a session.updated of its own right after session.created).
 */
async function nextOfType(subscription: EventSubscription<Event>, type: Event["type"], where: (event: Event) => boolean = () => true): Promise<Event> {
  for (;;) {
    const event = await next(subscription);
    if (event.type === type && where(event)) return event;
  }
}

const titled = (title: string) => (event: Event) => (event.properties as { info?: { title?: string } }).info?.title === title;

describe("events from real opencode serve with a password", () => {
  it("opens with server.connected, then carries a created session's events", async () => {
    const client = server.client();
    const all = client.events.subscribe();
    await all.ready;
    expect(client.events.state).toBe("open");
    // Events carry a top-level id, and session events a top-level sessionID, from opencode 1.14 on.
    const modern = versionAtLeast(server.version, "1.14.0");
    const id = modern ? { id: expect.stringMatching(/^evt_/) } : {};
    expect(await next(all)).toMatchObject({ type: "server.connected", ...id });

    const session = await client.request("post", "/session", { body: { title: "events e2e" } });
    const mine = client.events.subscribe({ sessionID: session.id, types: ["session.updated"] });
    await mine.ready;
    await client.request("patch", "/session/{sessionID}", { path: { sessionID: session.id }, body: { title: "renamed" } });

    const created = await nextOfType(all, "session.created");
    const sessionID = modern ? { sessionID: session.id } : {};
    expect(created).toMatchObject({ properties: { ...sessionID, info: { id: session.id, title: "events e2e" } } });
    const updated = await nextOfType(all, "session.updated", titled("renamed"));
    expect(updated).toMatchObject({ properties: { ...sessionID, info: { id: session.id, title: "renamed" } } });
    expect(await nextOfType(mine, "session.updated", titled("renamed"))).toEqual(updated);
    all.close();
    mine.close();
    expect(client.events.state).toBe("closed");
  });

  it("a wrong password fails ready and the iterator with AuthenticationError after one request", async () => {
    let requests = 0;
    const dispatcher: Dispatcher = new Agent().compose((dispatch) => (options, handler) => {
      requests++;
      return dispatch(options, handler);
    });
    const client = createClient({ baseUrl: server.url, password: "wrong", dispatcher, logger: {} });
    const subscription = client.events.subscribe();
    await expect(subscription.ready).rejects.toBeInstanceOf(AuthenticationError);
    await expect(subscription.next()).rejects.toBeInstanceOf(AuthenticationError);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(requests).toBe(1);
    await client.close();
    await dispatcher.close();
  });
});
