// Runs one of examples/** as a user would (`node --import tsx <file>` in the repo root, no
// OPENCODE_BASE_URL, so it starts its own local opencode) and watches its output and children.
// Spawned without npx: signals sent to npm would not reach the example.

import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ExampleProcess {
  child: ChildProcessWithoutNullStreams;
  pid: number;
  /** Everything printed so far, stdout and stderr interleaved as they arrived. */
  output(): string;
  /** Where in output() each chunk the example wrote started, and when it arrived. */
  chunks: { at: number; offset: number }[];
  /** Resolves with the first match of `pattern` in the output after `from` (an index into output()). */
  waitFor(pattern: RegExp, options?: { from?: number; timeoutMs?: number }): Promise<{ match: RegExpExecArray; end: number }>;
  exited: Promise<Exit>;
  /** The example's direct children right now (`ps --ppid`). */
  children(): number[];
  /** Ends the example (SIGTERM, then SIGKILL) and SIGKILLs what is left of the process groups led by `groups`; for afterAll. */
  stop(groups?: number[]): Promise<void>;
}

export function startExample(file: string, env: Record<string, string> = {}): ExampleProcess {
  const childEnv: Record<string, string | undefined> = { ...process.env };
  // The examples talk to a real server when these are set; the tests want the local scripted one
  // unless they set them in `env` themselves.
  for (const name of ["OPENCODE_BASE_URL", "OPENCODE_SERVER_PASSWORD", "OPENCODE_SERVER_USERNAME", "OPENCODE_MODEL"]) delete childEnv[name];
  Object.assign(childEnv, env);
  const child = spawn(process.execPath, ["--import", "tsx", file], { cwd: root, env: childEnv, stdio: ["pipe", "pipe", "pipe"] });
  if (child.pid === undefined) throw new Error(`could not spawn ${file}`);
  const pid = child.pid;

  let text = "";
  const chunks: { at: number; offset: number }[] = [];
  const waiters = new Set<() => void>();
  const onData = (chunk: string) => {
    chunks.push({ at: Date.now(), offset: text.length });
    text += chunk;
    for (const check of waiters) check();
  };
  // Decoded per stream, so a multibyte character split between two writes stays whole.
  child.stdout.setEncoding("utf8").on("data", onData);
  child.stderr.setEncoding("utf8").on("data", onData);
  // "close", not "exit": by then everything the example printed has been read.
  const exited = new Promise<Exit>((resolve) => child.once("close", (code, signal) => resolve({ code, signal })));
  let done = false;
  void exited.then(() => {
    done = true;
    for (const check of waiters) check();
  });

  return {
    child,
    pid,
    output: () => text,
    chunks,
    waitFor(pattern, { from = 0, timeoutMs = 30_000 } = {}) {
      return new Promise((resolve, reject) => {
        const regex = new RegExp(pattern.source, pattern.flags.replace("g", ""));
        const finish = (error?: Error) => {
          clearTimeout(timer);
          waiters.delete(check);
          if (error) reject(error);
        };
        const check = () => {
          const match = regex.exec(text.slice(from));
          if (match) {
            finish();
            resolve({ match, end: from + match.index + match[0].length });
          } else if (done) {
            finish(new Error(`${file} exited before printing ${pattern}; output:\n${text}`));
          }
        };
        const timer = setTimeout(() => finish(new Error(`no ${pattern} from ${file} within ${timeoutMs} ms; output:\n${text}`)), timeoutMs);
        waiters.add(check);
        check();
      });
    },
    exited,
    children: () => childrenOf(pid),
    async stop(groups = []) {
      if (!done) {
        // SIGTERM first: an example that handles it removes its server's temp dirs on the way out.
        child.kill("SIGTERM");
        let timer: NodeJS.Timeout | undefined;
        const settled = await Promise.race([exited.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(resolve, 10_000, false)))]);
        clearTimeout(timer);
        if (!settled) {
          child.kill("SIGKILL");
          await exited;
        }
      }
      for (const group of groups) signalGroup(group, "SIGKILL");
    },
  };
}

function childrenOf(pid: number): number[] {
  try {
    return execFileSync("ps", ["-o", "pid=", "--ppid", String(pid)], { encoding: "utf8" })
      .split("\n")
      .map((line) => Number(line.trim()))
      .filter((n) => n > 0);
  } catch {
    // ps exits 1 when nothing matches.
    return [];
  }
}

/**
 * Which of `pids`, or of the processes in their process groups, are still running. A detached
 * opencode server leads its own group, so this also catches the tools it started.
 */
export function leftBehind(pids: number[]): number[] {
  if (pids.length === 0) return [];
  return execFileSync("ps", ["-e", "-o", "pid=,pgid=,stat="], { encoding: "utf8" })
    .split("\n")
    .map((line) => line.trim().split(/\s+/))
    // A zombie has already exited; it only waits to be reaped by whoever inherited it.
    .filter(([pid, group, stat]) => (pids.includes(Number(pid)) || pids.includes(Number(group))) && !stat?.startsWith("Z"))
    .map(([pid]) => Number(pid));
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // Already gone.
  }
}

/** True when nothing accepts connections at `url` any more. */
export async function refusesConnections(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return false;
  } catch (error) {
    const code = (error as { cause?: { code?: string } }).cause?.code;
    return code === "ECONNREFUSED";
  }
}
