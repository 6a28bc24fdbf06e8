// Node-only launcher for a local `opencode serve`: finds the binary, starts it on a free
// loopback port with a password and config, waits until it is healthy, and stops it again.
// Lives behind the `opencode-serve-client/server` subpath so browser bundles never see child_process.

import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { accessSync, constants, mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer as createNetServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { request } from "undici";
import { BinaryNotFoundError, ServerStartError } from "./errors.js";

export { BinaryNotFoundError, ServerStartError } from "./errors.js";

export interface StartServerOptions {
  /** Path to the `opencode` executable. Default: env `OPENCODE_BIN`, PATH, then an installed `opencode-ai`. */
  bin?: string;
  /** Default 127.0.0.1. */
  hostname?: string;
  /**
   * Default: a free ephemeral port picked here (opencode's own "0" prefers its well-known 4096,
   * which a user's own server may want).
   */
  port?: number;
  /** Basic-auth password. Default: 24 random bytes, hex. */
  password?: string;
  /** Default "opencode". */
  username?: string;
  /** opencode config, passed as `OPENCODE_CONFIG_CONTENT`. */
  config?: Record<string, unknown>;
  /** Working directory of the server (the project it serves). Default: process.cwd(). */
  cwd?: string;
  /**
   * Give the server its own HOME and XDG dirs: `true` makes a temp dir removed on close(),
   * a string uses (and keeps) that dir. Default false: the user's own opencode data.
   */
  isolated?: boolean | string;
  /** Extra environment for the server process. */
  env?: Record<string, string | undefined>;
  /** Extra CLI arguments after `serve`. */
  args?: string[];
  /**
   * Run without external plugins (`serve --pure`). Servers before 1.14 have no such flag and
   * refuse to start when given it, so it is passed only when `serve --help` lists it.
   */
  pure?: boolean;
  /** How long to wait for `/global/health`. Default 30 000 ms. */
  startupTimeoutMs?: number;
  /** Receives each line the server prints (stdout and stderr). */
  onOutput?: (line: string) => void;
}

export interface LocalServer {
  url: string;
  username: string;
  password: string;
  /** Server version reported by /global/health. */
  version: string;
  pid: number;
  /** The isolated data root, when `isolated` was set. */
  dataDir: string | undefined;
  /** Stops the server and its children; safe to call more than once. */
  close(): Promise<void>;
}

const TAIL_LINES = 40;

export async function startServer(options: StartServerOptions = {}): Promise<LocalServer> {
  const bin = findBinary(options.bin);
  if (options.port !== undefined) return launch(bin, options, options.port);
  // Between probing a free port and the server binding it, something else may take it: retry.
  for (let attempt = 0; ; attempt++) {
    const port = await freePort(options.hostname ?? "127.0.0.1");
    try {
      return await launch(bin, options, port);
    } catch (error) {
      const portTaken = error instanceof ServerStartError && /ServeError|EADDRINUSE|address already in use/i.test(error.stderrTail);
      if (!portTaken || attempt >= 2) throw error;
    }
  }
}

async function launch(bin: string, options: StartServerOptions, port: number): Promise<LocalServer> {
  const username = options.username ?? "opencode";
  const password = options.password ?? randomBytes(24).toString("hex");
  const hostname = options.hostname ?? "127.0.0.1";
  const dataDir = options.isolated === true ? mkdtempSync(join(tmpdir(), "opencode-serve-")) : options.isolated || undefined;
  const ownsDataDir = options.isolated === true;

  const env: Record<string, string | undefined> = { ...process.env, ...options.env };
  env["OPENCODE_SERVER_PASSWORD"] = password;
  env["OPENCODE_SERVER_USERNAME"] = username;
  if (options.config) env["OPENCODE_CONFIG_CONTENT"] = JSON.stringify(options.config);
  if (dataDir) Object.assign(env, isolatedEnv(dataDir));

  const args = ["serve", "--hostname", hostname, "--port", String(port), ...(options.args ?? [])];
  if (options.pure && (await serveFlags(bin, env)).has("--pure")) args.push("--pure");
  const child = spawn(bin, args, {
    cwd: options.cwd ?? process.cwd(),
    env,
    // Own process group, so close() can stop the server's children too.
    detached: process.platform !== "win32",
    stdio: ["ignore", "pipe", "pipe"],
  });

  const tail: string[] = [];
  const redact = (line: string) => line.split(password).join("***");
  let announcedUrl: ((url: string) => void) | undefined;
  const urlSeen = new Promise<string>((resolve) => (announcedUrl = resolve));
  const onLine = (line: string) => {
    const safe = redact(line);
    tail.push(safe);
    if (tail.length > TAIL_LINES) tail.shift();
    options.onOutput?.(safe);
    const match = /listening on (https?:\/\/\S+)/.exec(line);
    if (match?.[1]) announcedUrl?.(match[1]);
  };
  splitLines(child.stdout, onLine);
  splitLines(child.stderr, onLine);

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const spawnFailed = new Promise<Error>((resolve) => child.once("error", resolve));

  let closed: Promise<void> | undefined;
  const close = () =>
    (closed ??= (async () => {
      forget(child);
      await stop(child, exited);
      if (ownsDataDir && dataDir) rmSync(dataDir, { recursive: true, force: true });
    })());
  remember(child);

  const timeoutMs = options.startupTimeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  const authorization = `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
  try {
    const outcome = await Promise.race([
      urlSeen.then((url) => ({ url })),
      exited.then((exit) => ({ exit })),
      spawnFailed.then((error) => ({ error })),
      delay(timeoutMs).then(() => ({ timeout: true as const })),
    ]);
    if ("error" in outcome) throw new ServerStartError(`could not start ${bin}: ${outcome.error.message}`, tail.join("\n"), { cause: outcome.error });
    if ("exit" in outcome) throw exitError(outcome.exit, tail);
    if ("timeout" in outcome) throw new ServerStartError(`opencode serve did not report a URL within ${timeoutMs} ms`, tail.join("\n"));
    const url = outcome.url.replace(/\/$/, "");
    const version = await waitHealthy(url, authorization, deadline, exited, tail);
    return { url, username, password, version, pid: child.pid ?? -1, dataDir, close };
  } catch (error) {
    await close();
    throw error;
  }
}

const knownFlags = new Map<string, Promise<Set<string>>>();

/**
 * The options `bin serve` accepts, read once per binary from `serve --help` (about half a second),
 * so flags newer servers added are passed only to servers that know them. A binary whose help
 * cannot be read counts as knowing none.
 */
function serveFlags(bin: string, env: Record<string, string | undefined> = process.env): Promise<Set<string>> {
  let flags = knownFlags.get(bin);
  if (!flags) {
    flags = new Promise((resolve) => {
      execFile(bin, ["serve", "--help"], { env, timeout: 15_000, maxBuffer: 1 << 20 }, (_error, stdout, stderr) =>
        resolve(new Set(`${stdout}\n${stderr}`.match(/(?<=\s)--[a-z][a-z-]*/g) ?? [])),
      );
    });
    knownFlags.set(bin, flags);
  }
  return flags;
}

function freePort(hostname: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createNetServer();
    probe.once("error", reject);
    probe.listen(0, hostname, () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** HOME and XDG dirs under one root, so the server reads and writes nothing of the user's. */
export function isolatedEnv(root: string): Record<string, string> {
  const dirs = {
    HOME: join(root, "home"),
    XDG_CONFIG_HOME: join(root, "config"),
    XDG_DATA_HOME: join(root, "data"),
    XDG_CACHE_HOME: join(root, "cache"),
    XDG_STATE_HOME: join(root, "state"),
  };
  for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true });
  return dirs;
}

/** Resolves the executable: option, OPENCODE_BIN, PATH, then the `opencode-ai` package near cwd. */
export function findBinary(explicit?: string): string {
  const searched: string[] = [];
  const candidates: string[] = [];
  if (explicit) candidates.push(explicit);
  else {
    if (process.env["OPENCODE_BIN"]) candidates.push(process.env["OPENCODE_BIN"]);
    const names = process.platform === "win32" ? ["opencode.exe", "opencode.cmd"] : ["opencode"];
    for (const dir of (process.env["PATH"] ?? "").split(delimiter).filter(Boolean)) {
      for (const name of names) candidates.push(join(dir, name));
    }
    const packaged = packagedBinary();
    if (packaged) candidates.push(packaged);
  }
  for (const candidate of candidates) {
    searched.push(candidate);
    if (isExecutable(candidate)) return candidate;
  }
  throw new BinaryNotFoundError(explicit ? [explicit] : ["OPENCODE_BIN", "PATH", "node_modules/opencode-ai"]);
}

/** The binary of the `opencode-ai` package installed near cwd (a project's pinned version), if any. */
export function packagedBinary(): string | undefined {
  try {
    const require = createRequire(join(process.cwd(), "noop.js"));
    return join(dirname(require.resolve("opencode-ai/package.json")), "bin", "opencode.exe");
  } catch {
    return undefined;
  }
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function waitHealthy(
  url: string,
  authorization: string,
  deadline: number,
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>,
  tail: string[],
): Promise<string> {
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void exited.then((value) => (exit = value));
  let lastError = "";
  while (Date.now() < deadline) {
    if (exit) throw exitError(exit, tail);
    try {
      const response = await request(`${url}/global/health`, {
        headers: { authorization },
        headersTimeout: 2_000,
        bodyTimeout: 2_000,
      });
      const body = (await response.body.json().catch(() => undefined)) as { healthy?: boolean; version?: string } | undefined;
      if (response.statusCode === 200 && body?.healthy) return body.version ?? "unknown";
      lastError = `health answered ${response.statusCode}`;
    } catch (error) {
      lastError = (error as Error).message;
    }
    await delay(100);
  }
  throw new ServerStartError(`opencode serve at ${url} was not healthy in time (${lastError})`, tail.join("\n"));
}

function exitError(exit: { code: number | null; signal: NodeJS.Signals | null }, tail: string[]): ServerStartError {
  return new ServerStartError(`opencode serve exited before it was ready (code ${exit.code}, signal ${exit.signal})`, tail.join("\n"));
}

async function stop(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    killGroup(child, "SIGKILL"); // the leader is gone; its children may not be
    return;
  }
  // opencode 1.18 often ignores the first SIGTERM after it has run a turn; a second one stops it.
  killGroup(child, "SIGTERM");
  const again = setTimeout(() => killGroup(child, "SIGTERM"), 1_000);
  const force = setTimeout(() => killGroup(child, "SIGKILL"), 3_000);
  await exited;
  clearTimeout(again);
  clearTimeout(force);
  killGroup(child, "SIGKILL");
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    if (process.platform === "win32") child.kill(signal);
    else process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

// The server runs in its own process group, so a terminal's Ctrl-C never reaches it, and a
// process that dies of a signal runs no "exit" handlers. Until close(), live servers are killed
// when this process exits, and when it gets a signal it does not handle itself (then the signal
// is raised again, so the process still dies of it exactly as it would have).
const live = new Set<ChildProcess>();
const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

function killAll(): void {
  for (const child of live) killGroup(child, "SIGKILL");
}

function onSignal(signal: NodeJS.Signals): void {
  if (process.listenerCount(signal) > 1) return; // the application handles it (and should call close())
  killAll();
  uninstall();
  process.kill(process.pid, signal);
}

function install(): void {
  process.on("exit", killAll);
  for (const signal of SIGNALS) process.on(signal, onSignal);
}

function uninstall(): void {
  process.removeListener("exit", killAll);
  for (const signal of SIGNALS) process.removeListener(signal, onSignal);
}

function remember(child: ChildProcess): void {
  if (live.size === 0) install();
  live.add(child);
}

function forget(child: ChildProcess): void {
  if (live.delete(child) && live.size === 0) uninstall();
}

function splitLines(stream: NodeJS.ReadableStream | null, onLine: (line: string) => void): void {
  if (!stream) return;
  let pending = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    const lines = (pending + chunk).split(/\r?\n/);
    pending = lines.pop() ?? "";
    for (const line of lines) if (line) onLine(line);
  });
  stream.on("end", () => pending && onLine(pending));
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
