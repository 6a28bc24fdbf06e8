// `startTestServer()`: a real `opencode serve` whose only model is the scripted model server, and
// a client for it — what an app built on this SDK needs to test itself end to end with no API key
// and no network. The demo and this project's own e2e suite run on it too.

import { isAbsolute, relative } from "node:path";
import type { OpencodeClient, OpencodeClientOptions } from "../node.js";
import { startModelServer, type ModelServer, type ModelServerOptions, type WireShape } from "./model-server.js";
import { startOpencode, testBinary, type OpencodeTestServerOptions } from "./opencode.js";

export interface TestServerOptions extends Omit<OpencodeTestServerOptions, "config"> {
  /** The scripted model's options: its default reply, the session title, cost per token, context limit. */
  model?: ModelServerOptions;
  /**
   * Which provider protocol opencode uses to reach the model: `"chat"` (OpenAI-compatible, the
   * default), `"anthropic"` (Anthropic Messages) or `"responses"` (OpenAI Responses); several make
   * several providers, the first one the default model.
   */
  shapes?: WireShape | WireShape[];
  /** opencode config merged over the model's, e.g. `{ permission: { bash: "ask" } }`. */
  config?: Record<string, unknown>;
  /** Options for the `client` (its base URL and credentials are the server's). */
  client?: OpencodeClientOptions;
  /** Told what is being started, for a progress line (opencode takes a few seconds to come up). */
  onProgress?: (message: string) => void;
}

export interface TestServer {
  /** A client of the server, authenticated; closed by `close()`. */
  client: OpencodeClient;
  /** The scripted model: `model.requests` holds what opencode asked it. */
  model: ModelServer;
  /** The server's base URL, `http://127.0.0.1:PORT`. */
  url: string;
  username: string;
  password: string;
  /** The opencode version the server reports. */
  version: string;
  /** The project directory the server runs in (a temp dir, removed on close). */
  project: string;
  /** Another client of the same server (e.g. a second app process); closed by `close()`. */
  connect(options?: OpencodeClientOptions): OpencodeClient;
  /** Closes the clients, stops the server and the model, removes the temp dirs. Safe to call twice. */
  close(): Promise<void>;
}

/** A path as short as it can be said: relative to cwd when it lies under it. */
function shownPath(path: string): string {
  const near = relative(process.cwd(), path);
  return near && !near.startsWith("..") && !isAbsolute(near) ? near : path;
}

/**
 * Starts the scripted model and an isolated `opencode serve` using it. The binary is `bin`, else
 * `OPENCODE_BIN`, else the project's installed `opencode-ai` package, else `opencode` on PATH.
 */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const { model: modelOptions, shapes, config, client: clientOptions, onProgress, ...serverOptions } = options;
  const model = await startModelServer(modelOptions);
  onProgress?.(`scripted model listening on ${model.url}`);
  let server;
  try {
    const bin = testBinary(serverOptions.bin);
    onProgress?.(`starting ${shownPath(bin)} serve`);
    server = await startOpencode({
      bin,
      ...serverOptions,
      config: model.providerConfig(config, shapes),
      // The bundled anthropic/openai providers would otherwise fetch models.dev.
      env: { OPENCODE_DISABLE_MODELS_FETCH: "1", ...serverOptions.env },
    });
  } catch (error) {
    await model.close();
    throw error;
  }
  const running = server;
  onProgress?.(`opencode ${running.version} is up`);
  let closed: Promise<void> | undefined;
  return {
    client: running.connect(clientOptions),
    model,
    url: running.url,
    username: running.username,
    password: running.password,
    version: running.version,
    project: running.project,
    connect: running.connect,
    close: () =>
      (closed ??= (async () => {
        await running.close();
        await model.close();
      })()),
  };
}
