// Codec benchmark: what one event costs the turn codec (`mapEvent`) as a turn grows, in this
// process, on serialized events (each one `JSON.parse`d first, as off the wire). A turn is built up
// to 10 and to 100,000 parts (messages of 10 closed text parts each, every message finished), then
// 20,000 small deltas stream into one more part; a gap and the closing idle follow. Prints, per
// size, the per-event cost of the build and of the deltas, the ratio of 100k-part to 10-part
// per-delta cost (flat means ≈ 1), the longest single event (the event loop is blocked that long),
// and the floor measured in the same run: `JSON.parse` plus appending the delta to a Map of part
// texts — the least any client that keeps a turn's text can do. (The official SDK has no turn
// codec: a client built on it does at least the floor's work.) Writes test/output/bench-codec.json.

import { mkdir, writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { initialTurnState, mapEvent, markGap, type TurnState } from "../../src/turn/map-event.js";
import { ev } from "../support/events.js";
import { BenchmarkFailure } from "./events.js";

const ROOT = new URL("../../", import.meta.url);
const OUTPUT = new URL("test/output/bench-codec.json", ROOT);
const S = "ses_bench";
const U = "msg_bench";
const PARTS_PER_MESSAGE = 10;

interface Run {
  parts: number;
  buildEvents: number;
  buildUsPerEvent: number;
  deltaUsPerEvent: number;
  floorUsPerEvent: number;
  longestEventMs: number;
  /** The type of that event ("gap" for marking one). */
  longestEvent: string;
}

/** The events that build a turn of `parts` closed text parts, then `deltas` deltas into one open part, then the end. */
function workload(parts: number, deltas: number): { build: string[]; stream: string[]; end: string[] } {
  const build = [JSON.stringify(ev.userMessage(S, U))];
  for (let m = 0; m * PARTS_PER_MESSAGE < parts; m++) {
    const messageID = `msg_a${String(m).padStart(8, "0")}`;
    build.push(JSON.stringify(ev.assistantMessage(S, messageID, U)));
    for (let p = 0; p < PARTS_PER_MESSAGE && m * PARTS_PER_MESSAGE + p < parts; p++) {
      build.push(JSON.stringify(ev.part(S, messageID, `prt_${m}_${p}`, "text", `part ${p} of message ${m}.`, true)));
    }
    build.push(JSON.stringify(ev.assistantMessage(S, messageID, U, { finish: "tool-calls", time: { created: 2_000, completed: 2_500 } })));
  }
  const last = "msg_zlast";
  build.push(JSON.stringify(ev.assistantMessage(S, last, U)), JSON.stringify(ev.part(S, last, "prt_streaming", "text", "")));
  const stream: string[] = [];
  for (let i = 0; i < deltas; i++) stream.push(JSON.stringify(ev.delta(S, last, "prt_streaming", "tok ")));
  const end = [
    JSON.stringify(ev.part(S, last, "prt_streaming", "text", "tok ".repeat(deltas), true)),
    JSON.stringify(ev.assistantMessage(S, last, U, { finish: "stop", time: { created: 2_000, completed: 2_500 } })),
    JSON.stringify(ev.idle(S)),
  ];
  return { build, stream, end };
}

function measure(parts: number, deltas: number): Run {
  const { build, stream, end } = workload(parts, deltas);
  let state: TurnState = initialTurnState({ sessionID: S, userMessageID: U });
  let longest = 0;
  let longestEvent = "";
  const feed = (frames: string[]): number => {
    const started = performance.now();
    for (const frame of frames) {
      const at = performance.now();
      const event = JSON.parse(frame) as { type: string };
      state = mapEvent(state, event).state;
      const took = performance.now() - at;
      if (took > longest) [longest, longestEvent] = [took, event.type];
    }
    return performance.now() - started;
  };
  const buildMs = feed(build);
  const deltaMs = feed(stream);
  // A gap on the full turn (thrown away: recovering from it needs a snapshot) counts for the longest event.
  const gapAt = performance.now();
  markGap(state);
  if (performance.now() - gapAt > longest) [longest, longestEvent] = [performance.now() - gapAt, "gap"];
  feed(end);
  if (!state.done) throw new BenchmarkFailure(`the ${parts}-part turn did not end`);

  // The floor: parse each delta and append it to its part's text.
  const texts = new Map<string, string>();
  for (let p = 0; p < parts; p++) texts.set(`prt_${p}`, "x");
  const floorStarted = performance.now();
  for (const frame of stream) {
    const event = JSON.parse(frame) as { properties: { partID: string; delta: string } };
    texts.set(event.properties.partID, (texts.get(event.properties.partID) ?? "") + event.properties.delta);
  }
  const floorMs = performance.now() - floorStarted;
  return {
    parts,
    buildEvents: build.length,
    buildUsPerEvent: (buildMs * 1000) / build.length,
    deltaUsPerEvent: (deltaMs * 1000) / stream.length,
    floorUsPerEvent: (floorMs * 1000) / stream.length,
    longestEventMs: longest,
    longestEvent,
  };
}

export async function runCodecBenchmark(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { rounds: { type: "string", default: "3" }, deltas: { type: "string", default: "20000" }, parts: { type: "string", default: "10,100000" } },
  });
  const rounds = Number(values.rounds);
  const deltas = Number(values.deltas);
  const sizes = values.parts.split(",").map(Number);
  if (![rounds, deltas, ...sizes].every((n) => Number.isInteger(n) && n > 0)) throw new BenchmarkFailure("--rounds, --deltas and --parts take positive integers");
  console.log(`codec benchmark: turns of ${sizes.join(", ")} parts, ${deltas} deltas each; median of ${rounds} rounds`);
  // A warm-up run of each size so the JIT has compiled the codec before anything is timed; then the
  // sizes alternate round by round, so drift (other processes, thermal) hits them alike.
  for (const parts of sizes) measure(parts, deltas);
  const all = new Map<number, Run[]>(sizes.map((parts) => [parts, []]));
  for (let round = 0; round < rounds; round++) for (const parts of sizes) all.get(parts)!.push(measure(parts, deltas));
  const runs = sizes.map((parts) => {
    const samples = all.get(parts)!;
    const median = (pick: (run: Run) => number) => samples.map(pick).sort((a, b) => a - b)[Math.floor(samples.length / 2)]!;
    return {
      parts,
      buildEvents: samples[0]!.buildEvents,
      buildUsPerEvent: median((r) => r.buildUsPerEvent),
      deltaUsPerEvent: median((r) => r.deltaUsPerEvent),
      floorUsPerEvent: median((r) => r.floorUsPerEvent),
      longestEventMs: Math.max(...samples.map((r) => r.longestEventMs)),
      longestEvent: samples.reduce((a, b) => (b.longestEventMs > a.longestEventMs ? b : a)).longestEvent,
    };
  });
  console.log("  parts     build µs/event  delta µs/event  floor µs/event  ×floor  longest event ms (type; a GC pause lands on some event)");
  for (const run of runs) {
    console.log(
      `  ${String(run.parts).padEnd(9)} ${run.buildUsPerEvent.toFixed(2).padStart(14)}  ${run.deltaUsPerEvent.toFixed(2).padStart(14)}  ` +
        `${run.floorUsPerEvent.toFixed(2).padStart(14)}  ${(run.deltaUsPerEvent / run.floorUsPerEvent).toFixed(2).padStart(6)}  ${run.longestEventMs.toFixed(1).padStart(16)} (${run.longestEvent})`,
    );
  }
  const small = runs[0]!;
  const large = runs[runs.length - 1]!;
  const deltaRatio = large.deltaUsPerEvent / small.deltaUsPerEvent;
  const buildRatio = large.buildUsPerEvent / small.buildUsPerEvent;
  console.log(`  per-event cost, ${large.parts} vs ${small.parts} parts: deltas ×${deltaRatio.toFixed(2)}, build ×${buildRatio.toFixed(2)} (flat is ×1)`);
  await mkdir(new URL("test/output/", ROOT), { recursive: true });
  await writeFile(OUTPUT, `${JSON.stringify({ deltas, rounds, runs, deltaRatio, buildRatio }, null, 2)}\n`);
}
