// How every example gets a server: `OPENCODE_BASE_URL` (+ `OPENCODE_SERVER_PASSWORD`,
// `OPENCODE_MODEL`) for a real one, otherwise the testing kit's local `opencode serve` with the
// scripted model (`opencode-serve-client/testing`), so the examples run offline with nothing configured.

import {
  APIConnectionError,
  APIError,
  AuthenticationError,
  ConfigurationError,
  createClient,
  OpencodeError,
  type OpencodeClient,
} from "../../src/node.js";
import { directive, startTestServer } from "../../src/testing/index.js";

export interface Connection {
  client: OpencodeClient;
  /** "provider/model" for prompts, or undefined for the server's default. */
  model: string | undefined;
  /** True when talking to the local scripted model (prompts then carry a script). */
  scripted: boolean;
  describe: string;
  close(): Promise<void>;
}

export interface ConnectOptions {
  /** Extra opencode config for the local server, e.g. `{ permission: { bash: "ask" } }`. */
  config?: Record<string, unknown>;
  /** Extra environment for the local server, e.g. `{ OPENCODE_ENABLE_QUESTION_TOOL: "1" }`. */
  env?: Record<string, string>;
  /** Told what the local server's start is doing (it takes a few seconds). */
  onProgress?: (message: string) => void;
}

export async function connect(options: ConnectOptions = {}): Promise<Connection> {
  if (process.env["OPENCODE_BASE_URL"]) {
    const client = createClient();
    // One request up front, so a wrong password or an unreachable server is reported before
    // anything claims to be connected.
    try {
      await client.request("get", "/global/health", { maxRetries: 0 });
    } catch (error) {
      await client.close();
      throw error;
    }
    return {
      client,
      model: process.env["OPENCODE_MODEL"] || undefined,
      scripted: false,
      describe: `opencode at ${client.transport.options.baseUrl.origin}`,
      close: () => client.close(),
    };
  }
  const server = await startTestServer({
    model: { model: { cost: { input: 3, output: 15 } } },
    ...(options.config ? { config: options.config } : {}),
    ...(options.env ? { env: options.env } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    client: { logger: undefined },
  });
  return {
    client: server.client,
    model: undefined,
    scripted: true,
    describe: `a local opencode ${server.version} (scripted model, ${server.url})`,
    close: server.close,
  };
}

/** The demo turn's script: think, run a real bash command, then answer from its output. */
export function demoScript(): string {
  return directive({
    reasoning: "The user wants to know what is in the project. I will list the files with bash, then summarize.",
    text: "Let me look at the project files.",
    chunks: 6,
    chunkDelayMs: 40,
    toolCalls: [{ name: "bash", input: { command: "echo README.md && echo src/ && echo package.json", description: "List project files" } }],
    then: {
      text: "The project has a README.md, a src/ directory and a package.json: a small TypeScript package.",
      chunks: 12,
      usage: { prompt: 1200, completion: 48, cached: 200 },
    },
  });
}

/**
 * One line saying what went wrong talking to the server and which variable or URL to fix; for
 * examples to print instead of a stack trace.
 */
export function explainFailure(error: unknown): string {
  const env = process.env;
  const remote = env["OPENCODE_BASE_URL"] ? `opencode at ${shownBaseUrl(env["OPENCODE_BASE_URL"])}` : "the local opencode";
  if (error instanceof ConfigurationError) {
    return env["OPENCODE_BASE_URL"] ? `OPENCODE_BASE_URL is not usable: ${error.message.replace(/^opencode-serve-client: /, "")}.` : error.message;
  }
  if (error instanceof AuthenticationError) {
    const user = env["OPENCODE_SERVER_USERNAME"] || "opencode";
    return env["OPENCODE_SERVER_PASSWORD"]
      ? `${remote} rejected the password for user "${user}" (401): check OPENCODE_SERVER_PASSWORD (and OPENCODE_SERVER_USERNAME).`
      : `${remote} wants a password (401): set OPENCODE_SERVER_PASSWORD (and OPENCODE_SERVER_USERNAME if the user is not "opencode").`;
  }
  if (error instanceof APIConnectionError) {
    const code = causeCode(error);
    return `could not reach ${remote}${code ? ` (${code})` : ""}: is \`opencode serve\` running there? Check OPENCODE_BASE_URL.`;
  }
  if (error instanceof APIError && error.status === 404) {
    return `${remote} answered 404 for ${new URL(error.url).pathname}: is OPENCODE_BASE_URL an opencode server, with the right path prefix?`;
  }
  if (error instanceof OpencodeError) return `${error.name}: ${error.message}`;
  return `unexpected failure: ${error instanceof Error ? error.message : String(error)}`;
}

/** The base URL as it is safe to print: no user:password@. */
function shownBaseUrl(raw: string): string {
  try {
    const url = new URL(raw);
    url.username = "";
    url.password = "";
    return url.href;
  } catch {
    return "OPENCODE_BASE_URL";
  }
}

/** The system error code (ECONNREFUSED, ENOTFOUND, …) somewhere in the cause chain. */
function causeCode(error: unknown): string | undefined {
  for (let cause: unknown = error, depth = 0; cause && typeof cause === "object" && depth < 5; depth++) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === "string" && /^E[A-Z]+$/.test(code)) return code;
    cause = (cause as { cause?: unknown }).cause;
  }
  return undefined;
}
