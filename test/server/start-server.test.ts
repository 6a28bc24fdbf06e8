// startServer: binary lookup, startup failures with the output tail, and clean shutdown.
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BinaryNotFoundError, ServerStartError, findBinary, startServer } from "../../src/server/index.js";
import { opencodeBin, opencodeBinVersion } from "../support/opencode.js";

function script(body: string): string {
  const dir = mkdtempSync(join(tmpdir(), "fake-opencode-"));
  const path = join(dir, "opencode");
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("startServer", () => {
  it("throws BinaryNotFoundError for a missing binary", () => {
    expect(() => findBinary("/nonexistent/opencode")).toThrow(BinaryNotFoundError);
  });

  it("uses OPENCODE_BIN", () => {
    const saved = process.env["OPENCODE_BIN"];
    process.env["OPENCODE_BIN"] = opencodeBin;
    try {
      expect(findBinary()).toBe(opencodeBin);
    } finally {
      if (saved === undefined) delete process.env["OPENCODE_BIN"];
      else process.env["OPENCODE_BIN"] = saved;
    }
  });

  it("a server that exits early is a ServerStartError carrying its output, password redacted", async () => {
    const bin = script('echo "config broken for $OPENCODE_SERVER_PASSWORD" >&2; exit 3');
    const error = await startServer({ bin, password: "hunter2" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServerStartError);
    expect((error as ServerStartError).message).toContain("code 3");
    expect((error as ServerStartError).stderrTail).toContain("config broken for ***");
    expect((error as ServerStartError).message).not.toContain("hunter2");
  });

  it.each([
    ["lists it (1.14 and later)", "      --pure         run without external plugins", true],
    ["does not (1.2, 1.3)", "      --port         port to listen on", false],
  ])("pure passes --pure only when `serve --help` %s", async (_, help, passed) => {
    const bin = script(`if [ "$2" = "--help" ]; then echo "${help}"; exit 0; fi; echo "started with: $*"; exit 3`);
    const error = await startServer({ bin, pure: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServerStartError);
    expect((error as ServerStartError).stderrTail).toMatch(/started with: serve --hostname 127\.0\.0\.1 --port \d+/);
    expect((error as ServerStartError).stderrTail.includes("--pure")).toBe(passed);
  });

  it("a server that never becomes ready times out with a typed error and is killed", async () => {
    const bin = script("echo starting; sleep 30");
    const started = Date.now();
    const error = await startServer({ bin, startupTimeoutMs: 500 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServerStartError);
    expect((error as ServerStartError).stderrTail).toContain("starting");
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("starts the real server with a generated password and close() is idempotent and complete", async () => {
    const server = await startServer({ bin: opencodeBin, isolated: true, pure: true, config: { autoupdate: false } });
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(new URL(server.url).port).not.toBe("4096"); // opencode's default port stays free for the user's own server
    expect(server.password).toMatch(/^[0-9a-f]{48}$/);
    expect(server.version).toBe(opencodeBinVersion());
    expect(alive(server.pid)).toBe(true);
    await Promise.all([server.close(), server.close()]);
    await server.close();
    expect(alive(server.pid)).toBe(false);
  });
});
