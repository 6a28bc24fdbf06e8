// `npm run bench [-- <benchmark>] [options]`: runs the SDK's benchmarks (all of them when none is
// named). Benchmarks only measure and report; they are never vitest tests and never assert timings.
//
//   npm run bench
//   npm run bench -- events --rounds 3 --shapes small,large --consumers floor,official
//   npm run bench -- turn --turns 10 --shapes short,tool
//   npm run bench -- scale --sizes 10,100,1000 --max-connections 32
//   npm run bench -- bundle
//   npm run bench -- codec --parts 10,100000 --deltas 20000
//   npm run bench -- views --rounds 5

import { runBundleBenchmark } from "./bundle.js";
import { runCodecBenchmark } from "./codec.js";
import { BenchmarkFailure, runEventsBenchmark } from "./events.js";
import { runScaleBenchmark } from "./scale.js";
import { runTurnBenchmark } from "./turn.js";
import { runViewsBenchmark } from "./views.js";

const BENCHMARKS: Record<string, (argv: string[]) => Promise<void>> = {
  events: runEventsBenchmark,
  turn: runTurnBenchmark,
  scale: runScaleBenchmark,
  bundle: runBundleBenchmark,
  codec: runCodecBenchmark,
  views: runViewsBenchmark,
};

const argv = process.argv.slice(2);
const named = argv[0] !== undefined && !argv[0].startsWith("-") ? argv[0] : undefined;
const options = named === undefined ? argv : argv.slice(1);

try {
  if (named !== undefined && !(named in BENCHMARKS)) {
    throw new BenchmarkFailure(`unknown benchmark ${named}; known: ${Object.keys(BENCHMARKS).join(", ")}`);
  }
  // Each benchmark has its own options; they only make sense with the benchmark named.
  if (named === undefined && options.length > 0) {
    throw new BenchmarkFailure(`options go with a named benchmark: npm run bench -- <${Object.keys(BENCHMARKS).join("|")}> ${options.join(" ")}`);
  }
  for (const [name, bench] of Object.entries(BENCHMARKS)) {
    if (named === undefined || named === name) await bench(options);
  }
} catch (error) {
  console.error(`\nbenchmark failed: ${error instanceof BenchmarkFailure ? error.message : String((error as Error).stack ?? error)}`);
  process.exitCode = 1;
}
