// `npm run demo` pointed at a remote server (OPENCODE_BASE_URL) that it cannot use: a wrong or
// missing password, or nothing listening. Each time it prints one line naming what to fix, exits
// non-zero, prints no stack trace and never the password.
import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/opencode.js";
import { startExample } from "./example-process.js";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

async function runDemo(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const demo = startExample("examples/demo/main.ts", env);
  const exit = await Promise.race([
    demo.exited,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`demo still running after 30 s:\n${demo.output()}`)), 30_000)),
  ]).finally(() => demo.stop());
  return { code: exit.code, output: demo.output() };
}

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

function expectOneLineNoStack(output: string): string {
  const lines = output.trim().split("\n");
  expect(lines, output).toHaveLength(1);
  expect(output).not.toMatch(/^\s+at /m);
  expect(output).not.toContain("connected");
  return lines[0]!;
}

describe("examples/demo against a remote server", () => {
  it("a wrong password: one line naming OPENCODE_SERVER_PASSWORD, exit 1", { timeout: 40_000 }, async () => {
    const { code, output } = await runDemo({ OPENCODE_BASE_URL: server.url, OPENCODE_SERVER_PASSWORD: "not-the-password-123" });
    expect(code).toBe(1);
    expect(expectOneLineNoStack(output)).toBe(
      `error: opencode at ${server.url}/ rejected the password for user "opencode" (401): check OPENCODE_SERVER_PASSWORD (and OPENCODE_SERVER_USERNAME).`,
    );
    expect(output).not.toContain("not-the-password-123");
  });

  it("no password: one line saying the server wants one, exit 1", { timeout: 40_000 }, async () => {
    const { code, output } = await runDemo({ OPENCODE_BASE_URL: server.url });
    expect(code).toBe(1);
    expect(expectOneLineNoStack(output)).toBe(
      `error: opencode at ${server.url}/ wants a password (401): set OPENCODE_SERVER_PASSWORD (and OPENCODE_SERVER_USERNAME if the user is not "opencode").`,
    );
  });

  it("connection refused: one line naming the URL and OPENCODE_BASE_URL, exit 1", { timeout: 40_000 }, async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const { code, output } = await runDemo({ OPENCODE_BASE_URL: url, OPENCODE_SERVER_PASSWORD: "secret-pw-456" });
    expect(code).toBe(1);
    expect(expectOneLineNoStack(output)).toBe(`error: could not reach opencode at ${url}/ (ECONNREFUSED): is \`opencode serve\` running there? Check OPENCODE_BASE_URL.`);
    expect(output).not.toContain("secret-pw-456");
  });

  it("a base URL that is not a URL: one line naming OPENCODE_BASE_URL, exit 1", { timeout: 40_000 }, async () => {
    const { code, output } = await runDemo({ OPENCODE_BASE_URL: "127.0.0.1:4096" });
    expect(code).toBe(1);
    expect(expectOneLineNoStack(output)).toBe("error: OPENCODE_BASE_URL is not usable: baseUrl has no scheme; write it with http:// or https:// in front (e.g. http://127.0.0.1:4096).");
  });
});
