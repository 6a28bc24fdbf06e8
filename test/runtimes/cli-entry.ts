// Entry for the Deno and Bun runs: reads the scenario input (JSON) from the first argument, runs
// it with the runtime's own fetch and TypeScript loader, and prints the result as one JSON line.

import { runScenario, type ScenarioInput } from "./scenario.js";

const runtime = globalThis as { Deno?: { args: string[] }; process?: { argv: string[] } };
const args = runtime.Deno?.args ?? runtime.process?.argv.slice(2) ?? [];
const input = JSON.parse(args[0] ?? "{}") as ScenarioInput;
console.log(JSON.stringify(await runScenario(input)));
