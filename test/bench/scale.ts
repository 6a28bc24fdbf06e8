// Scale benchmark: N concurrent turns on ONE client against one real `opencode serve` (1.18.33)
// and the scripted model (50 small deltas per reply), for each N given (10 → 1,000). Prints per
// turn the client's CPU, its memory growth, its requests besides the prompt; the client's peak of
// open sockets; and how many turns ended with exactly their scripted text. At the largest N the
// server is saturated (its event stream falls tens of seconds behind): the numbers show whether the
// client stays flat and correct while it does. It measures and reports; it asserts nothing about
// time. The client runs in its own process (its CPU alone); model and server run elsewhere.
//
//   npm run bench -- scale --sizes 10,100,1000 --max-connections 32

import { fork } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import { parseArgs } from "node:util";
import { startModelServer } from "../support/model-server.js";
import { startTestServer } from "../support/opencode.js";
import { BenchmarkFailure } from "./events.js";
import { DELTAS_PER_REPLY, scaleTurns, type ScaleMessage, type ScaleResult } from "./scale/workload.js";

const ROOT = new URL("../../", import.meta.url);
const OUTPUT = new URL("test/output/bench-scale.json", ROOT);
const CLIENT = new URL("scale/client.ts", import.meta.url);

export async function runScaleBenchmark(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      sizes: { type: "string", default: "10,100,300,1000" },
      "max-connections": { type: "string", default: "32" },
      "timeout-ms": { type: "string", default: "900000" },
    },
  });
  const sizes = values.sizes.split(",").map((n) => positive(n, "--sizes"));
  const maxConnections = positive(values["max-connections"], "--max-connections");
  const timeoutMs = positive(values["timeout-ms"], "--timeout-ms");
  console.log(`scale benchmark: N concurrent turns on one client (${DELTAS_PER_REPLY} deltas per reply), N = ${sizes.join(", ")}; pool ${maxConnections} connections`);

  const results: ScaleResult[] = [];
  for (const n of sizes) {
    const model = await startModelServer();
    try {
      const server = await startTestServer({ config: model.providerConfig() });
      try {
        const result = await runClient({ url: server.url, username: server.username, password: server.password }, n, maxConnections, timeoutMs);
        results.push(result);
        console.log(`  N=${n}: ${result.intact}/${n} intact in ${(result.wallMs / 1000).toFixed(1)} s${failures(result)}`);
      } finally {
        await server.close();
      }
    } finally {
      await model.close();
    }
  }

  printTable(results, maxConnections);
  const load = os.loadavg();
  await mkdir(new URL("test/output/", ROOT), { recursive: true });
  await writeFile(
    OUTPUT,
    `${JSON.stringify(
      {
        benchmark: "scale",
        date: new Date().toISOString(),
        node: process.version,
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model,
        loadavg: load,
        maxConnections,
        deltasPerReply: DELTAS_PER_REPLY,
        method:
          "one client process with the client's defaults (maxConnections aside); one warm-up turn, N sessions created, then N turns started at once; CPU = client process user+system while the turns ran; " +
          "RSS = peak growth over that time (sampled every 100 ms); sockets and requests from undici's diagnostics channels",
        results,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`\nwrote ${OUTPUT.pathname}`);
}

function runClient(server: { url: string; username: string; password: string }, n: number, maxConnections: number, timeoutMs: number): Promise<ScaleResult> {
  const child = fork(CLIENT.pathname, [], { cwd: ROOT.pathname, execArgv: ["--import", "tsx", "--expose-gc"], stdio: ["ignore", "inherit", "pipe", "ipc"] });
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (text: string) => (stderr = (stderr + text).slice(-8_000)));
  return new Promise<ScaleResult>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill();
      reject(new BenchmarkFailure(`N=${n}: the client did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    child.once("message", (message: ScaleMessage) => {
      clearTimeout(timer);
      if (message.type === "result") resolve(message.result);
      else reject(new BenchmarkFailure(`N=${n}: ${message.message}`));
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new BenchmarkFailure(`N=${n}: the client process exited (${code})\n${stderr.trim()}`));
    });
    const [warmUp, ...turns] = scaleTurns(n + 1);
    child.send({ server, maxConnections, warmUp, turns });
  });
}

function printTable(results: ScaleResult[], maxConnections: number): void {
  const base = results[0];
  console.log(`\n| N | intact | client CPU ms/turn | × N=${base?.turns ?? "?"} | RSS KB/turn | peak sockets (pool ${maxConnections}) | requests/turn | /event opens | slow spells | wall s |`);
  console.log("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const r of results) {
    const ratio = base ? r.cpuMsPerTurn / base.cpuMsPerTurn : 1;
    console.log(
      `| ${r.turns} | ${r.intact} | ${r.cpuMsPerTurn.toFixed(1)} | ${ratio.toFixed(2)} | ${r.rssKbPerTurn.toFixed(0)} | ${r.peakSockets} | ${r.requestsPerTurn.toFixed(2)} | ${r.eventConnections} | ${r.slowSpells} | ${(r.wallMs / 1000).toFixed(1)} |`,
    );
  }
}

function failures(result: ScaleResult): string {
  const entries = Object.entries(result.failures);
  return entries.length === 0 ? "" : `; others: ${entries.map(([name, count]) => `${count} ${name}`).join(", ")}`;
}

function positive(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new BenchmarkFailure(`${flag} takes positive integers, not ${text}`);
  return n;
}
