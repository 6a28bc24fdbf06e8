// Turn benchmark: on one real `opencode serve` (1.18.33) and one scripted model, how long a turn
// takes as each client sees it — to the first assistant text delta and to the end of the turn,
// both from the call that starts the turn — and how much client CPU it costs. Ours
// (`session.prompt(text)` until `final`) against the official `@opencode-ai/sdk/v2` written the
// natural way (subscribe, wait for `server.connected`, `promptAsync`, read until `session.idle`).
//
// Both clients subscribe to `/event` per turn and run each turn on a fresh session. Each client
// lives in its own process (CPU is that client's alone); the model and the server are elsewhere.
// Turns alternate between the clients, who goes first swapping every round, and never overlap.
// Both must end every turn with the scripted text, or the benchmark fails: timings of a client
// that got the turn wrong mean nothing. Prints a table, writes test/output/bench-turn.json.

import { fork, type ChildProcess } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import { parseArgs } from "node:util";
import { startModelServer } from "../support/model-server.js";
import { startTestServer } from "../support/opencode.js";
import { BenchmarkFailure } from "./events.js";
import { SHAPES, scriptFor, type ChildMessage, type ParentMessage, type Shape, type TurnMeasurement } from "./turn/workload.js";

const ROOT = new URL("../../", import.meta.url);
const OUTPUT = new URL("test/output/bench-turn.json", ROOT);

const CLIENTS = [
  { name: "ours", file: new URL("turn/ours.ts", import.meta.url) },
  { name: "official", file: new URL("turn/official.ts", import.meta.url) },
] as const;
type ClientName = (typeof CLIENTS)[number]["name"];

const METRICS = ["connectedMs", "firstDeltaMs", "finalMs", "cpuMs"] as const;
type Metric = (typeof METRICS)[number];

interface TurnRecord extends TurnMeasurement {
  shape: Shape;
  client: ClientName;
  round: number;
}

interface Stat {
  p50: number;
  p90: number;
}

interface Summary {
  shape: Shape;
  client: ClientName;
  turns: number;
  connectedMs: Stat;
  firstDeltaMs: Stat;
  finalMs: Stat;
  cpuMs: Stat;
}

export async function runTurnBenchmark(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      turns: { type: "string", default: "20" },
      warmup: { type: "string", default: "2" },
      shapes: { type: "string", default: SHAPES.join(",") },
      "timeout-ms": { type: "string", default: "30000" },
    },
  });
  const turns = count(values.turns, "--turns", 1);
  const warmup = count(values.warmup, "--warmup", 0);
  const timeoutMs = count(values["timeout-ms"], "--timeout-ms", 1);
  const shapes = values.shapes.split(",").map((name) => {
    if (!(SHAPES as readonly string[]).includes(name)) throw new BenchmarkFailure(`unknown shape ${name}; known: ${SHAPES.join(", ")}`);
    return name as Shape;
  });

  console.log(
    `turn benchmark: shapes ${shapes.join(", ")}; ${turns} turns per shape and client after ${warmup} warm-up rounds; ` +
      `timeout ${timeoutMs} ms per turn`,
  );
  const started = performance.now();
  const model = await startModelServer();
  const cleanup: (() => Promise<void>)[] = [() => model.close()];
  const records: TurnRecord[] = [];
  let version = "";
  try {
    const server = await startTestServer({ config: model.providerConfig() });
    cleanup.unshift(() => server.close());
    version = server.version;
    const workers = new Map<ClientName, ClientProcess>();
    for (const { name, file } of CLIENTS) {
      const worker = await ClientProcess.start(name, file, { url: server.url, username: server.username, password: server.password });
      cleanup.unshift(() => worker.close());
      workers.set(name, worker);
    }
    console.log(`  opencode ${server.version} at ${server.url}; clients ready after ${Math.round(performance.now() - started)} ms`);

    for (let round = -warmup; round < turns; round++) {
      for (const shape of shapes) {
        // Who goes first swaps every round, so neither always runs right after the other.
        const order = round % 2 === 0 ? CLIENTS : [...CLIENTS].reverse();
        const texts: string[] = [];
        for (const { name } of order) {
          const { prompt, expected } = scriptFor(shape);
          const result = await workers.get(name)!.turn(prompt, timeoutMs, `${name} on ${shape} (round ${round})`);
          if (result.text !== expected) {
            throw new BenchmarkFailure(
              `${name} on ${shape} (round ${round}): final text differs from the scripted reply\n` +
                `  got:      ${JSON.stringify(result.text)}\n  expected: ${JSON.stringify(expected)}`,
            );
          }
          if (result.connections !== 1) {
            throw new BenchmarkFailure(`${name} on ${shape} (round ${round}): opened /event ${result.connections} times, expected once per turn`);
          }
          texts.push(result.text);
          if (round >= 0) records.push({ shape, client: name, round, ...result });
        }
        if (texts[0] !== texts[1]) throw new BenchmarkFailure(`${shape} (round ${round}): the clients saw different final texts`);
      }
      if (round === -1 || (round >= 0 && (round + 1) % 5 === 0)) {
        console.log(`  ${round < 0 ? "warm-up" : `${round + 1} rounds`} done after ${Math.round((performance.now() - started) / 1000)} s`);
      }
    }
  } finally {
    for (const close of cleanup) await close().catch(() => {});
  }

  const summaries = summarize(records, shapes);
  printTable(summaries, shapes);
  // Wall times are the server's and the machine's as much as the clients'; a busy machine makes them noise.
  const load = os.loadavg();
  if (load[0]! > os.cpus().length) {
    console.log(`\nnote: load average ${load.map((n) => n.toFixed(1)).join(" ")} on ${os.cpus().length} CPUs — wall times are noisy; CPU ms are the steadier signal`);
  }
  await mkdir(new URL("test/output/", ROOT), { recursive: true });
  await writeFile(
    OUTPUT,
    `${JSON.stringify(
      {
        benchmark: "turn",
        date: new Date().toISOString(),
        node: process.version,
        opencode: version,
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model,
        loadavg: load,
        turns,
        warmup,
        timeoutMs,
        method:
          "each client in its own process, per-turn /event subscription, fresh session per turn, turns alternate and never overlap; " +
          "times from the call that starts the turn; CPU = process user+system from that call until the client's loop ended",
        summaries,
        ratios: ratios(summaries, shapes),
        runs: records,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`\nwrote ${new URL(OUTPUT).pathname} (${Math.round((performance.now() - started) / 1000)} s in all)`);
}

/** One client's process: takes one turn at a time over IPC. */
class ClientProcess {
  private stderr = "";
  private pending: { seq: number; settle: (message: ChildMessage | Error) => void } | undefined;
  private seq = 0;
  private exited = false;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    child.stderr?.setEncoding("utf8").on("data", (text: string) => {
      // Keeps the tail only: a long run's warnings must not grow without bound.
      this.stderr = (this.stderr + text).slice(-8_000);
    });
    child.on("message", (message: ChildMessage) => {
      if (message.type === "ready") this.pending?.settle(message);
      else if (this.pending?.seq === message.seq) this.pending.settle(message);
    });
    child.on("exit", (code, signal) => {
      this.exited = true;
      this.pending?.settle(new BenchmarkFailure(`${name} client process exited (${code ?? signal})\n${this.stderr.trim()}`));
    });
  }

  static async start(name: string, file: URL, server: { url: string; username: string; password: string }): Promise<ClientProcess> {
    const child = fork(file.pathname, [], {
      cwd: ROOT.pathname,
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "inherit", "pipe", "ipc"],
    });
    const worker = new ClientProcess(name, child);
    await worker.exchange({ type: "init", server }, 0, 20_000, `${name} start-up`);
    return worker;
  }

  async turn(prompt: string, timeoutMs: number, where: string): Promise<TurnMeasurement> {
    const seq = ++this.seq;
    const message = await this.exchange({ type: "turn", seq, prompt }, seq, timeoutMs, where);
    if (message.type === "error") throw new BenchmarkFailure(`${where}: ${message.message}\n${this.stderr.trim()}`);
    if (message.type !== "result") throw new BenchmarkFailure(`${where}: unexpected ${message.type} message`);
    const { type: _type, seq: _seq, ...measurement } = message;
    return measurement;
  }

  private exchange(message: ParentMessage, seq: number, timeoutMs: number, where: string): Promise<ChildMessage> {
    if (this.exited) return Promise.reject(new BenchmarkFailure(`${where}: the ${this.name} client process is gone`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending = undefined;
        reject(new BenchmarkFailure(`${where}: no answer within ${timeoutMs} ms (hung?)\n${this.stderr.trim()}`));
      }, timeoutMs);
      this.pending = {
        seq,
        settle: (answer) => {
          clearTimeout(timer);
          this.pending = undefined;
          if (answer instanceof Error) reject(answer);
          else resolve(answer);
        },
      };
      this.child.send(message);
    });
  }

  /** Asks the client to close its sockets and exit; kills it if it does not. */
  async close(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    this.child.send({ type: "close" } satisfies ParentMessage);
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
  }
}

function count(value: string, flag: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new BenchmarkFailure(`${flag} must be an integer ≥ ${min}, got ${value}`);
  return n;
}

/** Nearest-rank percentile. */
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function summarize(records: TurnRecord[], shapes: Shape[]): Summary[] {
  return shapes.flatMap((shape) =>
    CLIENTS.map(({ name }) => {
      const runs = records.filter((r) => r.shape === shape && r.client === name);
      const stat = (metric: Metric): Stat => {
        const values = runs.map((r) => r[metric]);
        return { p50: percentile(values, 50), p90: percentile(values, 90) };
      };
      return {
        shape,
        client: name,
        turns: runs.length,
        connectedMs: stat("connectedMs"),
        firstDeltaMs: stat("firstDeltaMs"),
        finalMs: stat("finalMs"),
        cpuMs: stat("cpuMs"),
      };
    }),
  );
}

type Ratios = { shape: Shape } & Record<Metric, Stat>;

function ratios(summaries: Summary[], shapes: Shape[]): Ratios[] {
  return shapes.map((shape) => {
    const ours = summaries.find((s) => s.shape === shape && s.client === "ours")!;
    const official = summaries.find((s) => s.shape === shape && s.client === "official")!;
    const of = (metric: Metric): Stat => ({
      p50: ours[metric].p50 / official[metric].p50,
      p90: ours[metric].p90 / official[metric].p90,
    });
    return { shape, connectedMs: of("connectedMs"), firstDeltaMs: of("firstDeltaMs"), finalMs: of("finalMs"), cpuMs: of("cpuMs") };
  });
}

function printTable(summaries: Summary[], shapes: Shape[]): void {
  const header = ["shape", "client", "turns", "stream open p50", "p90", "1st delta p50", "p90", "final p50", "p90", "CPU p50", "p90"];
  const ms = (n: number) => n.toFixed(1);
  const ratio = (n: number) => `${n.toFixed(2)}×`;
  const rows = [header];
  const byShape = ratios(summaries, shapes);
  for (const shape of shapes) {
    for (const s of summaries.filter((x) => x.shape === shape)) {
      rows.push([shape, s.client, String(s.turns), ...METRICS.flatMap((m) => [ms(s[m].p50), ms(s[m].p90)])]);
    }
    const r = byShape.find((x) => x.shape === shape)!;
    rows.push([shape, "ours/official", "", ...METRICS.flatMap((m) => [ratio(r[m].p50), ratio(r[m].p90)])]);
  }
  console.log(`\nms per turn (p50 = median, p90 nearest-rank); CPU = the client's own process\n${table(rows)}`);
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((row) => row[col]!.length)));
  return rows
    .map((row) => row.map((cell, col) => (col < 2 ? cell.padEnd(widths[col]!) : cell.padStart(widths[col]!))).join("  "))
    .join("\n");
}
