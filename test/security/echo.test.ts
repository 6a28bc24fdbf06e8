// A server or proxy that echoes credentials back — the Authorization header, the password, a
// bearer token, `key=`/`token=` query values — in error bodies, headers and even 2xx bodies: none
// of it may reach an error's message, String(), JSON, stack, body, headers or cause, a log line,
// or the browser wire. Over both engines.
import { inspect } from "node:util";
import { http, HttpResponse } from "msw";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createClient, toWireReply, type Logger, type OpencodeClient } from "../../src/index.js";
import { ENGINES } from "../support/engines.js";
import { startMswServer, type MswServer } from "../support/msw-server.js";

const USER = "alice";
const PASSWORD = "correct-Horse-battery-9";
const BEARER = "proxy-bearer-7f3a9c2e11";
const PROVIDER_KEY = "prov-key-55d1e0";
const TOKEN = Buffer.from(`${USER}:${PASSWORD}`).toString("base64");
const SECRETS = [PASSWORD, TOKEN, BEARER, PROVIDER_KEY, encodeURIComponent(PASSWORD)];

let msw: MswServer;
const logged: string[] = [];
const logger: Logger = Object.fromEntries(
  (["debug", "info", "warn", "error"] as const).map((level) => [level, (m: string, f?: unknown) => logged.push(`${m} ${inspect(f, { depth: 10 })}`)]),
);

/** What a hostile server echoes: every credential the request carried, in several shapes. */
function echo(request: Request): string {
  const auth = request.headers.get("authorization") ?? "";
  const proxy = request.headers.get("proxy-authorization") ?? "";
  return [
    `Authorization: ${auth}`,
    `Proxy-Authorization: ${proxy}`,
    `password=${PASSWORD}`,
    `you sent ${PASSWORD} as ${USER}`,
    `upstream https://${USER}:${PASSWORD}@internal.example/v1?key=${PROVIDER_KEY}&token=${PROVIDER_KEY}`,
  ].join("; ");
}

beforeAll(async () => {
  msw = await startMswServer(
    http.get("*/json-error", ({ request }) =>
      HttpResponse.json({ name: "UnknownError", data: { message: echo(request), nested: { deep: [echo(request)] } } }, { status: 400, headers: { "x-echo": echo(request) } }),
    ),
    http.get("*/text-error", ({ request }) => new HttpResponse(echo(request), { status: 401, headers: { "www-authenticate": `Basic realm="${PASSWORD}"` } })),
    http.get("*/retried", ({ request }) => HttpResponse.json({ message: echo(request) }, { status: 503, headers: { "retry-after-ms": "1", "set-cookie": `sid=${BEARER}` } })),
    http.get("*/html", ({ request }) => HttpResponse.html(`<html>${echo(request)}</html>`)),
    http.get("*/bad-json", ({ request }) => new HttpResponse(`{"echo": "${echo(request)}"`, { headers: { "content-type": "application/json" } })),
    http.get("*/redirect", ({ request }) => new HttpResponse(null, { status: 302, headers: { location: `https://${USER}:${PASSWORD}@elsewhere.example/?token=${PROVIDER_KEY}` } })),
    http.get("*/event", ({ request }) => {
      if (request.headers.get("x-mode") !== "frames") return new HttpResponse(echo(request), { status: 403 });
      // Frames the client skips (and logs): not JSON, and not an event, both quoting credentials.
      const frames = [`data: {"type":"server.connected","properties":{}}\n\n`, `data: not json ${echo(request)}\n\n`, `data: {"echo":"${echo(request)}"}\n\n`];
      return new HttpResponse(frames.join(""), { headers: { "content-type": "text/event-stream" } });
    }),
  );
});
afterEach(() => void (logged.length = 0));
afterAll(() => msw.close());

/** Every way an error is printed or inspected. */
function renderings(error: unknown): string[] {
  const e = error as Error & { body?: unknown; headers?: unknown; cause?: unknown };
  return [
    String(e),
    e.message,
    e.stack ?? "",
    JSON.stringify(e),
    inspect(e, { depth: 10, showHidden: true }),
    JSON.stringify(e.body ?? null),
    JSON.stringify(e.headers ?? null),
    String(e.cause ?? ""),
    inspect(e.cause, { depth: 10, showHidden: true }),
    JSON.stringify(toWireReply({ kind: "error", sessionID: "ses_1", error: e as never })),
  ];
}

function expectNoSecret(texts: readonly string[]): void {
  for (const text of texts) for (const secret of SECRETS) expect(text, `${secret} leaked`).not.toContain(secret);
}

describe.each(ENGINES)("a server echoing credentials, over $name", (engine) => {
  const clients: OpencodeClient[] = [];
  afterEach(async () => void (await Promise.all(clients.splice(0).map((c) => c.close()))));
  const client = (headers: Record<string, string> = {}) => {
    const c = createClient({
      baseUrl: msw.url,
      username: USER,
      password: PASSWORD,
      headers: { "proxy-authorization": `Bearer ${BEARER}`, ...headers },
      logger,
      maxRetries: 1,
      ...engine.options,
    });
    clients.push(c);
    return c;
  };

  it.each(["/json-error", "/text-error", "/retried", "/html", "/bad-json", "/redirect"])("GET %s", async (path) => {
    const error = await client().transport.request("GET", path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    // The server really echoed them (so the check below is meaningful).
    const raw = await fetch(`${msw.url}${path}`, { headers: { authorization: `Basic ${TOKEN}` }, redirect: "manual" });
    expect(`${await raw.text()} ${[...raw.headers.values()].join(" ")}`).toMatch(new RegExp(`${PASSWORD}|${TOKEN}`));
    expectNoSecret(renderings(error));
    expectNoSecret(logged);
  });

  it("the retry log line is scrubbed", async () => {
    await client().transport.request("GET", "/retried").catch(() => undefined);
    expect(logged.some((line) => line.includes("retrying GET /retried"))).toBe(true);
    expectNoSecret(logged);
  });

  it("a scrubbed error still says what happened", async () => {
    const error = (await client().transport.request("GET", "/json-error").catch((e: unknown) => e)) as Error & { body: unknown };
    expect(error.message).toContain("GET /json-error failed with 400: Authorization: Basic [REDACTED]");
    expect(error.message).toContain("you sent [REDACTED] as alice");
    expect(JSON.stringify(error.body)).toContain("key=[REDACTED]&token=[REDACTED]");
  });

  it("frames the event stream skips are logged scrubbed", async () => {
    const subscription = client({ "x-mode": "frames" }).events.subscribe();
    await subscription.ready;
    await expect.poll(() => logged.filter((line) => line.includes("skipped an event frame")).length).toBe(2);
    subscription.close();
    expectNoSecret(logged);
  });

  it("the event stream's failure", async () => {
    const subscription = client().events.subscribe({ readyTimeoutMs: 2_000 });
    const error = await subscription.ready.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expectNoSecret(renderings(error));
    expectNoSecret(logged);
  });
});
