// Secrets never leak: the password, the user:pass pair and the Authorization header value stay out
// of error messages, stacks, JSON.stringify, util.inspect (causes included) and logger output.
import { inspect } from "node:util";
import { http, HttpResponse, delay } from "msw";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigurationError, createClient, type Logger, type OpencodeClient } from "../../src/index.js";
import { startMswServer, type MswServer } from "../support/msw-server.js";
import { startTestServer, type TestServer } from "../support/opencode.js";

const USER = "alice";
const PASSWORD = "hunter2-Secret%pass";
const SECRETS = [PASSWORD, encodeURIComponent(PASSWORD), Buffer.from(`${USER}:${PASSWORD}`).toString("base64")];

let msw: MswServer;
const logged: string[] = [];
const logger: Logger = {
  debug: (m, f) => logged.push(m + inspect(f, { depth: 8 })),
  info: (m, f) => logged.push(m + inspect(f, { depth: 8 })),
  warn: (m, f) => logged.push(m + inspect(f, { depth: 8 })),
  error: (m, f) => logged.push(m + inspect(f, { depth: 8 })),
};

beforeAll(async () => {
  msw = await startMswServer(
    http.get("*/unauthorized", () => HttpResponse.json({ name: "Unauthorized" }, { status: 401, headers: { "www-authenticate": 'Basic realm="x"' } })),
    http.get("*/broken", () => HttpResponse.json({ message: "down" }, { status: 503, headers: { "retry-after-ms": "1" } })),
    http.get("*/html", () => HttpResponse.html("<html>login</html>")),
    http.get("*/slow", async () => {
      await delay(2_000);
      return HttpResponse.json({});
    }),
    http.get("*/reset", () => HttpResponse.error()),
  );
});
afterAll(() => msw.close());

/** Every way a user might print an error. */
function renderings(error: unknown): string[] {
  const e = error as Error;
  return [String(e), e.message, e.stack ?? "", JSON.stringify(e), inspect(e, { depth: 10, showHidden: true })];
}

function expectNoSecret(texts: string[]): void {
  for (const text of texts) for (const secret of SECRETS) expect(text).not.toContain(secret);
}

const clients = (): [string, OpencodeClient][] => {
  const withUserinfo = new URL(msw.url);
  withUserinfo.username = USER;
  withUserinfo.password = encodeURIComponent(PASSWORD);
  return [
    ["options", createClient({ baseUrl: msw.url, username: USER, password: PASSWORD, logger, timeoutMs: 200, maxRetries: 1 })],
    ["user:pass@ URL", createClient({ baseUrl: withUserinfo.href, logger, timeoutMs: 200, maxRetries: 1 })],
  ];
};

describe("no secret in errors or logs", () => {
  it.each(["/unauthorized", "/broken", "/html", "/slow", "/reset"])("GET %s", async (path) => {
    for (const [, client] of clients()) {
      const error = await client.transport.request("GET", path).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expectNoSecret(renderings(error));
      await client.close();
    }
    // The requests really carried the credentials (so the check above is meaningful).
    expect(msw.requests.some((r) => r.headers["authorization"] === `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString("base64")}`)).toBe(true);
    expectNoSecret(logged);
  });

  it("connection refused", async () => {
    const dead = await startMswServer();
    const url = new URL(dead.url);
    await dead.close();
    url.username = USER;
    url.password = encodeURIComponent(PASSWORD);
    const client = createClient({ baseUrl: url.href, logger, maxRetries: 1 });
    const error = await client.request("get", "/session").catch((e: unknown) => e);
    expectNoSecret(renderings(error));
    expectNoSecret(logged);
    await client.close();
  });

  it("an invalid base URL with a password in it is rejected without echoing it", () => {
    let error: unknown;
    try {
      createClient({ baseUrl: `ht!tp://${USER}:${PASSWORD}@host`, logger });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    expectNoSecret(renderings(error));
  });

  it("credential query parameters are redacted in errors and logs", async () => {
    const client = createClient({ baseUrl: msw.url, logger, maxRetries: 1 });
    const error = await client.transport.request("GET", "/broken", { query: { auth_token: "tok-SECRET-123" } }).catch((e: unknown) => e);
    for (const text of [...renderings(error), ...logged]) expect(text).not.toContain("tok-SECRET-123");
    expect((error as Error).message).toContain("auth_token=REDACTED");
    await client.close();
  });

  it("warns once per client, through the logger, when basic auth would travel over plain http to another host", () => {
    const warnings: string[] = [];
    createClient({ baseUrl: "http://opencode.example.internal:4096", username: USER, password: PASSWORD, logger: { warn: (m) => warnings.push(m) } });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/plain http/);
    expectNoSecret(warnings);
  });
});

describe("no secret in errors from a real server", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ password: PASSWORD, username: USER });
  });
  afterAll(() => server?.close());

  it("a wrong password on requests, the event stream and a turn", async () => {
    const wrong = "Wrong-" + PASSWORD;
    const client = server.client({ username: USER, password: wrong, logger });
    const errors = [
      await client.request("get", "/session").catch((e: unknown) => e),
      await client.events.subscribe({}).ready.catch((e: unknown) => e),
      await client.session.get("ses_x").prompt("hi").done.catch((e: unknown) => e),
    ];
    for (const error of errors) {
      expect(error).toBeInstanceOf(Error);
      for (const text of renderings(error)) {
        expect(text).not.toContain(wrong);
        expect(text).not.toContain(Buffer.from(`${USER}:${wrong}`).toString("base64"));
      }
    }
    for (const text of logged) expect(text).not.toContain(wrong);
  });
});
