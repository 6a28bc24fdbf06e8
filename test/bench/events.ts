// Event-stream benchmark: how much wall time, CPU and memory each client spends consuming the same
// opencode-shaped `/event` stream — ours, the official `@opencode-ai/sdk` v2, and the floor
// (undici + eventsource-parser + JSON.parse). Prints a table and writes test/output/bench-events.json.
//
// Each run is one consumer in its own process against a server in this process (whose CPU is not
// counted). Consumer order rotates every round so drift (thermal, noisy neighbours) spreads evenly,
// and the median over rounds is reported. Any consumer that yields the wrong events fails the
// whole benchmark: timings of a broken consumer mean nothing.

import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import { parseArgs } from "node:util";
import type { ConsumerResult, ConsumerRun } from "./consumers/measure.js";
import { BENCH_PASSWORD, BENCH_USERNAME, buildPayload, SHAPES, startSseServer, type Shape, type StreamPayload } from "./sse-server.js";

const ROOT = new URL("../../", import.meta.url);
const OUTPUT = new URL("test/output/bench-events.json", ROOT);

interface Consumer {
  name: string;
  file: URL;
  filtered: boolean;
  /** Our consumer over an injected fetch (the browser/Deno/Bun/worker path) instead of undici. */
  fetch?: boolean;
  /** Reads `/global/event` (a client following two projects) and counts the project's events. */
  global?: boolean;
}

// `ours` joins once the SDK's event layer exists; until then the benchmark runs without it.
const CONSUMERS: Consumer[] = [
  { name: "ours", file: new URL("consumers/ours.ts", import.meta.url), filtered: false },
  { name: "ours-filtered", file: new URL("consumers/ours.ts", import.meta.url), filtered: true },
  { name: "ours-fetch", file: new URL("consumers/ours.ts", import.meta.url), filtered: false, fetch: true },
  { name: "official", file: new URL("consumers/official.ts", import.meta.url), filtered: false },
  { name: "floor", file: new URL("consumers/floor.ts", import.meta.url), filtered: false },
  { name: "ours-global", file: new URL("consumers/ours.ts", import.meta.url), filtered: false, global: true },
  { name: "floor-global", file: new URL("consumers/floor.ts", import.meta.url), filtered: false, global: true },
];

type RunOutcome = ({ status: "ok" } & ConsumerResult) | { status: "timeout" };

interface RunRecord {
  shape: Shape;
  consumer: string;
  round: number;
  outcome: RunOutcome;
}

interface Summary {
  shape: Shape;
  consumer: string;
  /** Medians over the rounds; null when the consumer timed out. */
  wallMs: number | null;
  cpuMs: number | null;
  peakRssMB: number | null;
  events: number;
  rounds: number;
  status: "ok" | "timeout";
}

/** A benchmark that cannot give meaningful numbers: bad arguments or a consumer that miscounted. */
export class BenchmarkFailure extends Error {
  override name = "BenchmarkFailure" as const;
}

export async function runEventsBenchmark(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      rounds: { type: "string", default: "5" },
      shapes: { type: "string", default: SHAPES.join(",") },
      consumers: { type: "string" },
      "timeout-ms": { type: "string", default: "20000" },
    },
  });
  const rounds = positiveInt(values.rounds, "--rounds");
  const timeoutMs = positiveInt(values["timeout-ms"], "--timeout-ms");
  const shapes = values.shapes.split(",").map((name) => {
    if (!(SHAPES as readonly string[]).includes(name)) throw new BenchmarkFailure(`unknown shape ${name}; known: ${SHAPES.join(", ")}`);
    return name as Shape;
  });
  const consumers = selectConsumers(values.consumers);

  console.log(
    `events benchmark: shapes ${shapes.join(", ")}; consumers ${consumers.map((c) => c.name).join(", ")}; ` +
      `${rounds} rounds; timeout ${timeoutMs} ms per run`,
  );
  const records: RunRecord[] = [];
  for (const shape of shapes) {
    // Built before the server starts: payload construction is never inside a measured run.
    const payload = buildPayload(shape);
    console.log(`  ${shape}: ${payload.events} events, ${(payload.bytes.length / 1024 / 1024).toFixed(1)} MB`);
    const server = await startSseServer(payload);
    const timedOut = new Set<string>();
    try {
      for (let round = 0; round < rounds; round++) {
        for (const consumer of rotate(consumers, round)) {
          // A consumer that timed out once would only burn another timeout per round.
          if (timedOut.has(consumer.name)) continue;
          const before = server.connections();
          const outcome = await runConsumer(consumer, payload, server.url, timeoutMs);
          const connections = server.connections() - before;
          if (outcome.status === "ok" && connections !== 1) {
            throw new BenchmarkFailure(
              `${consumer.name} on ${shape}: opened /event ${connections} times; a consumer must read the stream once`,
            );
          }
          if (outcome.status === "timeout") timedOut.add(consumer.name);
          records.push({ shape, consumer: consumer.name, round, outcome });
        }
      }
    } finally {
      await server.close();
    }
  }

  const summaries = summarize(records, shapes, consumers);
  printTable(summaries, shapes);
  await mkdir(new URL("test/output/", ROOT), { recursive: true });
  await writeFile(
    OUTPUT,
    `${JSON.stringify(
      {
        benchmark: "events",
        date: new Date().toISOString(),
        node: process.version,
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model,
        rounds,
        timeoutMs,
        summaries,
        ratios: ratios(summaries, shapes),
        runs: records,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`\nwrote ${new URL(OUTPUT).pathname}`);
}

function selectConsumers(list: string | undefined): Consumer[] {
  const available = CONSUMERS.filter((consumer) => existsSync(consumer.file));
  if (list === undefined) return available;
  return list.split(",").map((name) => {
    const consumer = available.find((c) => c.name === name);
    if (!consumer) {
      throw new BenchmarkFailure(`unknown or unavailable consumer ${name}; available: ${available.map((c) => c.name).join(", ")}`);
    }
    return consumer;
  });
}

function positiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new BenchmarkFailure(`${flag} must be a positive integer, got ${value}`);
  return n;
}

function rotate<T>(items: T[], by: number): T[] {
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/** Spawns one consumer process and returns its measurement, or throws if it miscounted or crashed. */
function runConsumer(consumer: Consumer, payload: StreamPayload, url: string, timeoutMs: number): Promise<RunOutcome> {
  const run: ConsumerRun = consumer.filtered
    ? {
        url,
        username: BENCH_USERNAME,
        password: BENCH_PASSWORD,
        expected: payload.filter.events,
        lastID: payload.filter.lastID,
        sessionID: payload.filter.sessionID,
      }
    : { url, username: BENCH_USERNAME, password: BENCH_PASSWORD, expected: payload.events, lastID: payload.lastID };
  if (consumer.fetch) run.transport = "fetch";
  if (consumer.global) {
    run.global = { otherProject: "/bench/other" };
    run.expected -= 1; // the connection's own server.connected belongs to no project
  }
  const where = `${consumer.name} on ${payload.shape}`;

  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", consumer.file.pathname, JSON.stringify(run)], {
      cwd: ROOT.pathname,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (text: string) => (stdout += text));
    child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text));
    // The clock includes process start-up, which the consumer's own measurement excludes; the
    // timeout only has to stop a pathological consumer from stalling the benchmark.
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(new BenchmarkFailure(`${where}: could not start: ${error.message}`));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (timedOut) {
        console.log(`    ${where}: timeout after ${timeoutMs} ms`);
        resolve({ status: "timeout" });
        return;
      }
      const line = stdout.trim().split("\n").pop() ?? "";
      let result: ConsumerResult | undefined;
      try {
        result = JSON.parse(line) as ConsumerResult;
      } catch {
        result = undefined;
      }
      if (code !== 0 || result === undefined) {
        reject(
          new BenchmarkFailure(
            `${where}: consumer failed (exit ${code ?? signal})` +
              (result ? `, counted ${result.events} events, expected ${run.expected}` : "") +
              `\n${stderr.trim()}`,
          ),
        );
        return;
      }
      if (result.events !== run.expected) {
        reject(new BenchmarkFailure(`${where}: counted ${result.events} events, expected ${run.expected}`));
        return;
      }
      resolve({ status: "ok", ...result });
    });
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function summarize(records: RunRecord[], shapes: Shape[], consumers: Consumer[]): Summary[] {
  const summaries: Summary[] = [];
  for (const shape of shapes) {
    for (const consumer of consumers) {
      const runs = records.filter((r) => r.shape === shape && r.consumer === consumer.name);
      const ok = runs.flatMap((r) => (r.outcome.status === "ok" ? [r.outcome] : []));
      const timedOut = ok.length < runs.length;
      summaries.push({
        shape,
        consumer: consumer.name,
        wallMs: timedOut ? null : median(ok.map((r) => r.wallMs)),
        cpuMs: timedOut ? null : median(ok.map((r) => r.cpuMs)),
        peakRssMB: timedOut ? null : median(ok.map((r) => r.peakRssMB)),
        events: ok[0]?.events ?? 0,
        rounds: runs.length,
        status: timedOut ? "timeout" : "ok",
      });
    }
  }
  return summaries;
}

const RATIO_PAIRS = [
  ["ours", "official"],
  ["ours", "floor"],
  ["ours-fetch", "floor"],
  ["official", "floor"],
  ["ours-global", "floor-global"],
  ["ours-global", "floor"],
] as const;

interface Ratio {
  shape: Shape;
  pair: string;
  cpu: number | null;
  wall: number | null;
}

function ratios(summaries: Summary[], shapes: Shape[]): Ratio[] {
  const out: Ratio[] = [];
  for (const shape of shapes) {
    for (const [a, b] of RATIO_PAIRS) {
      const x = summaries.find((s) => s.shape === shape && s.consumer === a);
      const y = summaries.find((s) => s.shape === shape && s.consumer === b);
      if (!x || !y) continue;
      const ratio = (p: number | null, q: number | null): number | null => (p === null || q === null ? null : p / q);
      out.push({ shape, pair: `${a}/${b}`, cpu: ratio(x.cpuMs, y.cpuMs), wall: ratio(x.wallMs, y.wallMs) });
    }
  }
  return out;
}

function printTable(summaries: Summary[], shapes: Shape[]): void {
  const fmt = (n: number | null, digits = 0): string => (n === null ? "timeout" : n.toFixed(digits));
  const rows = [
    ["shape", "consumer", "events", "wall ms", "CPU ms", "peak RSS MB"],
    ...summaries.map((s) => [s.shape, s.consumer, String(s.events), fmt(s.wallMs), fmt(s.cpuMs), fmt(s.peakRssMB)]),
  ];
  console.log(`\nmedians over rounds\n${table(rows)}`);
  const ratioRows = [
    ["shape", "ratio", "CPU", "wall"],
    ...ratios(summaries, shapes).map((r) => [r.shape, r.pair, ratioText(r.cpu), ratioText(r.wall)]),
  ];
  if (ratioRows.length > 1) console.log(`\n${table(ratioRows)}`);
}

function ratioText(value: number | null): string {
  return value === null ? "n/a" : `${value.toFixed(2)}×`;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((row) => row[col]!.length)));
  return rows
    .map((row) => row.map((cell, col) => (col < 2 ? cell.padEnd(widths[col]!) : cell.padStart(widths[col]!))).join("  "))
    .join("\n");
}

