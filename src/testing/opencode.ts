// Starts a real `opencode serve` for tests: isolated HOME/XDG dirs (never the user's own opencode
// data), a password, a free loopback port, a throwaway project dir, no autoupdate, no sharing, no
// external plugins. The public `startTestServer` adds the scripted model on top of this.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient, type OpencodeClient, type OpencodeClientOptions } from "../node.js";
import { findBinary, packagedBinary, startServer, type LocalServer, type StartServerOptions } from "../server/index.js";

export interface OpencodeTestServer extends LocalServer {
  /** The project directory the server runs in (a temp dir, removed on close). */
  project: string;
  /** A new client for this server (authenticated, quiet logger); closed with the server. */
  connect(options?: OpencodeClientOptions): OpencodeClient;
}

export interface OpencodeTestServerOptions extends Omit<StartServerOptions, "isolated" | "cwd"> {
  /** opencode config merged over the defaults (no autoupdate, no sharing). */
  config?: Record<string, unknown>;
}

/**
 * The binary tests run: `bin`, else `OPENCODE_BIN`, else the project's installed `opencode-ai`
 * (its pinned version, before whatever `opencode` is on PATH), else PATH.
 */
export function testBinary(bin?: string): string {
  return bin || process.env["OPENCODE_BIN"] || packagedBinary() || findBinary();
}

export async function startOpencode(options: OpencodeTestServerOptions = {}): Promise<OpencodeTestServer> {
  const project = mkdtempSync(join(tmpdir(), "opencode-project-"));
  let server: LocalServer;
  try {
    server = await startServer({
      ...options,
      bin: testBinary(options.bin),
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
    connect(clientOptions) {
      const client = createClient({ baseUrl: server.url, username: server.username, password: server.password, logger: {}, ...clientOptions });
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
