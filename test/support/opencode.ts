// Starts a real `opencode serve` for e2e tests — the binary in OPENCODE_BIN (the version matrix sets
// it), else the pinned opencode-ai devDependency — with isolated HOME/XDG dirs, a password, a free
// loopback port, a throwaway project dir, and optionally the scripted model server as its only provider.

import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createClient, type OpencodeClient, type OpencodeClientOptions } from "../../src/index.js";
import { isolatedEnv, startServer, type LocalServer, type StartServerOptions } from "../../src/server/index.js";

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

export interface TestServer extends LocalServer {
  /** The project directory the server runs in. */
  project: string;
  /** A client for this server; closed with the server. */
  client(options?: OpencodeClientOptions): OpencodeClient;
}

export interface TestServerOptions extends Omit<StartServerOptions, "bin" | "isolated" | "cwd"> {
  /** opencode config merged over the defaults (no autoupdate, no sharing). */
  config?: Record<string, unknown>;
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const project = mkdtempSync(join(tmpdir(), "opencode-project-"));
  let server: LocalServer;
  try {
    server = await startServer({
      ...options,
      bin: opencodeBin,
      cwd: project,
      isolated: true,
      config: { autoupdate: false, share: "disabled", ...options.config },
      // Keep the server from reaching for the network or the user's setup.
      env: { OPENCODE_DISABLE_AUTOUPDATE: "1", OPENCODE_DISABLE_LSP_DOWNLOAD: "1", ...options.env },
      pure: true,
    });
  } catch (error) {
    rmSync(project, { recursive: true, force: true });
    throw error;
  }
  const clients: OpencodeClient[] = [];
  return {
    ...server,
    project,
    client(clientOptions) {
      const client = createClient({
        baseUrl: server.url,
        username: server.username,
        password: server.password,
        logger: {},
        ...clientOptions,
      });
      clients.push(client);
      return client;
    },
    async close() {
      await Promise.all(clients.map((c) => c.close()));
      await server.close();
      rmSync(project, { recursive: true, force: true });
    },
  };
}
