// Starts a real `opencode serve` (the pinned opencode-ai devDependency) for e2e tests: isolated
// HOME/XDG dirs, a password, a free loopback port, a throwaway project dir, and optionally the
// scripted model server as its only provider.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createClient, type OpencodeClient, type OpencodeClientOptions } from "../../src/index.js";
import { startServer, type LocalServer, type StartServerOptions } from "../../src/server/index.js";

/** The opencode binary of the pinned devDependency. */
export const opencodeBin = fileURLToPath(new URL("../../node_modules/opencode-ai/bin/opencode.exe", import.meta.url));

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
      args: ["--pure", ...(options.args ?? [])],
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
