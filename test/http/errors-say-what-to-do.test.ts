// Errors a newcomer meets first, each saying what to fix: a refused login names the username,
// the password option and OPENCODE_SERVER_PASSWORD (never the password); nothing listening fails
// any call — a turn included — within about a second, naming the base URL and the port; a base
// URL without a scheme, and one pointing at something that is not opencode, are named as such.
import { createServer, type RequestListener } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { APIConnectionError, AuthenticationError, ConfigurationError, createClient, NotOpencodeError, OpencodeError, type OpencodeClient } from "../../src/index.js";
import { listenOnLoopback, type Loopback } from "../support/loopback.js";
import { startTestServer, type TestServer } from "../support/opencode.js";

/** How a promise settles, and how long that took. */
async function settle(promise: Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const started = Date.now();
  try {
    await promise;
    return { error: undefined, ms: Date.now() - started };
  } catch (error) {
    return { error, ms: Date.now() - started };
  }
}

const clients: OpencodeClient[] = [];
const client = (options: Parameters<typeof createClient>[0]) => {
  const made = createClient({ logger: {}, ...options });
  clients.push(made);
  return made;
};
afterAll(() => Promise.all(clients.map((c) => c.close())));

describe("a refused login says which credentials to set", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  it("a wrong password: AuthenticationError naming the username, the password option and OPENCODE_SERVER_PASSWORD, never the password", async () => {
    const wrong = "not-the-password-42";
    const { error } = await settle(client({ baseUrl: server.url, password: wrong }).session.create({}));
    expect(error).toBeInstanceOf(AuthenticationError);
    const message = (error as Error).message;
    expect(message).toContain(`rejected the username "opencode" and the password sent`);
    expect(message).toContain("OPENCODE_SERVER_PASSWORD");
    expect(message).toContain(server.url);
    for (const shown of [message, String(error), JSON.stringify(error), (error as Error).stack ?? ""]) expect(shown).not.toContain(wrong);
  });

  it("no password: the AuthenticationError says the server wants one and where to set it", async () => {
    const { error } = await settle(client({ baseUrl: server.url, password: undefined }).session.create({}));
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as Error).message).toMatch(/wants a username and password: set the password option or OPENCODE_SERVER_PASSWORD/);
  });

  it("a turn with a wrong password ends with the same advice", async () => {
    const { error } = await settle(client({ baseUrl: server.url, password: "wrong" }).session.get("ses_x").prompt("hi").done);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as Error).message).toContain("OPENCODE_SERVER_PASSWORD");
  });
});

describe("nothing listening at the base URL", () => {
  let refusedUrl: string;
  let port: number;
  beforeAll(async () => {
    // A port that was just free: bound, then released.
    const probe = await listenOnLoopback(createServer());
    port = probe.port;
    refusedUrl = probe.origin;
    await probe.close();
  });

  it("a turn fails as APIConnectionError within about a second, naming the base URL and the port", async () => {
    const { error, ms } = await settle(client({ baseUrl: refusedUrl }).session.get("ses_x").prompt("hi").done);
    expect(error).toBeInstanceOf(APIConnectionError);
    expect((error as Error).message).toContain(refusedUrl);
    expect((error as Error).message).toContain(`http://127.0.0.1:${port} (ECONNREFUSED: nothing listens there; is \`opencode serve\` running, and is the port in the base URL right?)`);
    expect(ms).toBeLessThan(3_000);
  });

  it("session.create, a typed request and an event subscription fail the same way", async () => {
    const refused = client({ baseUrl: refusedUrl });
    const iterate = async () => {
      for await (const _ of refused.events.subscribe()) break;
    };
    for (const call of [() => refused.session.create({}), () => refused.request("get", "/session"), iterate]) {
      const { error, ms } = await settle(call());
      expect(error).toBeInstanceOf(APIConnectionError);
      expect((error as Error).message).toContain(refusedUrl);
      expect(ms).toBeLessThan(3_000);
    }
  });
});

describe("a base URL that cannot be opencode", () => {
  it.each(["localhost:4096", "127.0.0.1:4096", "build-box.example.com"])("%s (no scheme) is a ConfigurationError that says to add http://", (baseUrl) => {
    expect(() => createClient({ baseUrl })).toThrow(ConfigurationError);
    expect(() => createClient({ baseUrl })).toThrow(/baseUrl has no scheme; write it with http:\/\/ or https:\/\//);
  });

  let servers: Loopback[] = [];
  const serve = async (handler: RequestListener) => {
    const loopback = await listenOnLoopback(createServer(handler));
    servers.push(loopback);
    return loopback.origin;
  };
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    servers = [];
  });

  it.each([
    ["an HTML page (a web app's fallback route)", "answered an HTML page", "text/html", 200, "<!doctype html><title>My app</title>"],
    ["another API's 404", "answered 404", "application/json", 404, '{"error":"no such route"}'],
    ["another JSON API answering 200 to everything", "answered JSON without a version", "application/json", 200, '{"ok":true}'],
  ])("%s: session.create and a turn reject with NotOpencodeError saying so", async (_, answer, type, status, body) => {
    const url = await serve((_req, res) => {
      res.writeHead(status, { "content-type": type });
      res.end(body);
    });
    const notOpencode = client({ baseUrl: url });
    const created = await settle(notOpencode.session.create({}));
    expect(created.error).toBeInstanceOf(NotOpencodeError);
    expect((created.error as Error).message).toBe(
      `${url}/ is not an opencode server: GET /global/health ${answer}. Is the base URL the address \`opencode serve\` printed (with its path prefix, behind a proxy)?`,
    );
    // A turn opens the event stream first; the stream's refusal is explained the same way, at once.
    const turn = await settle(notOpencode.session.get("ses_x").prompt("hi").done);
    expect(turn.error).toBeInstanceOf(NotOpencodeError);
    expect((turn.error as Error).message).toContain(url);
    expect(turn.ms).toBeLessThan(5_000);
  });
});
