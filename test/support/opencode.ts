// Starts a real `opencode serve` for e2e tests through the testing kit (src/testing/opencode.ts) —
// the binary in OPENCODE_BIN (the version matrix sets it), else the pinned opencode-ai
// devDependency — plus the helpers tests use to compare versions.

import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { OpencodeClient, OpencodeClientOptions } from "../../src/index.js";
import { isolatedEnv } from "../../src/server/index.js";
import { startOpencode, type OpencodeTestServer, type OpencodeTestServerOptions } from "../../src/testing/opencode.js";

/** The opencode binary under test: OPENCODE_BIN, else the pinned devDependency's. */
export const opencodeBin =
  process.env["OPENCODE_BIN"] || fileURLToPath(new URL("../../node_modules/opencode-ai/bin/opencode.exe", import.meta.url));

let binVersion: string | undefined;

/**
 * What `opencodeBin --version` prints, for tests to compare with what the server reports. Run in a
 * throwaway HOME, since some versions write caches on any command.
 */
export function opencodeBinVersion(): string {
  if (binVersion === undefined) {
    const home = mkdtempSync(join(tmpdir(), "opencode-version-"));
    try {
      const output = execFileSync(opencodeBin, ["--version"], {
        env: { ...process.env, ...isolatedEnv(home) },
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
        timeout: 15_000,
      });
      binVersion = output.trim().split(/\s+/).at(-1) ?? "";
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }
  return binVersion;
}

/** `major.minor.patch` of a version string as numbers, for "from 1.14 on" checks in tests. */
export function versionAtLeast(version: string, minimum: string): boolean {
  const parts = (v: string) => v.split(/[.-]/).slice(0, 3).map((n) => Number.parseInt(n, 10) || 0);
  const [a, b] = [parts(version), parts(minimum)];
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  return true;
}

export interface TestServer extends OpencodeTestServer {
  /** A client for this server; closed with the server. */
  client(options?: OpencodeClientOptions): OpencodeClient;
}

export type TestServerOptions = Omit<OpencodeTestServerOptions, "bin">;

/** The testing kit's server (src/testing/opencode.ts) on the binary under test, without a model. */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const server = await startOpencode({ ...options, bin: opencodeBin });
  return { ...server, client: server.connect };
}
