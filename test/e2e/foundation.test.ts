// The transport against a real, password-protected `opencode serve`.
import { Agent, type Dispatcher } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { APIError, AuthenticationError, NotFoundError } from "../../src/index.js";
import { opencodeBinVersion, startTestServer, type TestServer } from "../support/opencode.js";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

/** A dispatcher that counts the requests it sends. */
function countingDispatcher(): { dispatcher: Dispatcher; count: () => number } {
  let count = 0;
  const dispatcher = new Agent().compose((dispatch) => (options, handler) => {
    count++;
    return dispatch(options, handler);
  });
  return { dispatcher, count: () => count };
}

describe("real opencode serve with a password", () => {
  it("reports health and the version of the binary it runs", async () => {
    const health = await server.client().request("get", "/global/health");
    expect(health).toEqual({ healthy: true, version: opencodeBinVersion() });
    expect(server.version).toBe(health.version);
    expect(await server.client().server.version()).toBe(opencodeBinVersion());
    await expect(server.client().server.check()).resolves.toEqual(health);
  });

  it("creates, gets, lists and deletes a session", async () => {
    const client = server.client();
    const created = await client.request("post", "/session", { body: { title: "foundation e2e" } });
    expect(created.id).toMatch(/^ses_/);
    expect(created.title).toBe("foundation e2e");

    const fetched = await client.request("get", "/session/{sessionID}", { path: { sessionID: created.id } });
    expect(fetched.id).toBe(created.id);

    const listed = await client.request("get", "/session");
    expect(listed.map((s) => s.id)).toContain(created.id);

    expect(await client.request("delete", "/session/{sessionID}", { path: { sessionID: created.id } })).toBe(true);
    await expect(
      client.request("get", "/session/{sessionID}", { path: { sessionID: created.id } }),
    ).rejects.toBeInstanceOf(NotFoundError);
  });

  it("a wrong password gives AuthenticationError after exactly one request", async () => {
    const { dispatcher, count } = countingDispatcher();
    const client = server.client({ password: "wrong", dispatcher, maxRetries: 5 });
    const error = await client.request("get", "/session").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as AuthenticationError).status).toBe(401);
    expect((error as AuthenticationError).headers["www-authenticate"]).toMatch(/^Basic/);
    expect(String((error as Error).message)).not.toContain("wrong");
    expect(count()).toBe(1);
    await dispatcher.close();
  });

  it("no password at all is also a 401", async () => {
    const client = server.client({ password: undefined });
    const saved = process.env["OPENCODE_SERVER_PASSWORD"];
    delete process.env["OPENCODE_SERVER_PASSWORD"];
    try {
      await expect(client.request("get", "/global/health")).rejects.toBeInstanceOf(AuthenticationError);
    } finally {
      if (saved !== undefined) process.env["OPENCODE_SERVER_PASSWORD"] = saved;
    }
  });

  it("a session id that tries to leave its path segment never reaches another route", async () => {
    // Unencoded, this would be GET /config and answer 200 with the server's config.
    const error = await server
      .client({ maxRetries: 0 })
      .request("get", "/session/{sessionID}", { path: { sessionID: "../config" } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(APIError);
    expect((error as APIError).url).toMatch(/\/session\/\.\.%2Fconfig$/);
  });

  it("scopes sessions to the client's directory", async () => {
    const client = server.client({ directory: server.project });
    const created = await client.request("post", "/session", { body: {} });
    expect(created.directory).toBe(server.project);
  });
});
