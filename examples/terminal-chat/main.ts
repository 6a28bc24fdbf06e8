// A multi-turn chat in the terminal: type a prompt, watch the reply stream in.
// Ctrl-C aborts the running turn; Ctrl-C again (or with no turn running) exits.
// `npx tsx examples/terminal-chat/main.ts` (local scripted server unless OPENCODE_BASE_URL is set).

import { createInterface } from "node:readline";
import type { Turn } from "../../src/node.js";
import { connect, explainFailure } from "../shared/connect.js";
import { directive } from "../../test/support/model-server.js";

const connection = await connect().catch((error: unknown) => {
  console.error(`error: ${explainFailure(error)}`);
  process.exit(1);
});
const session = await connection.client.session.create({ title: "terminal chat" });
console.log(`connected to ${connection.describe}; session ${session.id}`);
console.log("type a prompt and press enter; Ctrl-C aborts a reply, twice exits.");

const rl = createInterface({ input: process.stdin, output: process.stdout, prompt: "> " });
let running: Turn | undefined;
let turns = 0;

async function shutdown(): Promise<never> {
  rl.close();
  await connection.close();
  process.exit(0);
}

rl.on("SIGINT", () => {
  if (running && !running.finished) {
    process.stdout.write("\n[aborting…]\n");
    void running.abort();
  } else {
    void shutdown();
  }
});
// With piped stdin readline does not see Ctrl-C; the process signal covers that case.
process.on("SIGINT", () => rl.emit("SIGINT"));
rl.on("close", () => void shutdown());

rl.on("line", async (line) => {
  const text = line.trim();
  if (!text) return rl.prompt();
  rl.pause();
  turns++;
  // The scripted model answers slowly enough to show streaming (and to be interrupted).
  const prompt = connection.scripted
    ? `${text}\n${directive({ text: `You said: ${text}. This is reply number ${turns}, streamed word by word.`, chunks: 12, chunkDelayMs: 80 })}`
    : text;
  const turn = session.prompt(prompt, connection.model ? { model: connection.model } : {});
  running = turn;
  for await (const reply of turn) {
    if (reply.kind === "delta") process.stdout.write(reply.text);
    else if (reply.kind === "tool_call") process.stdout.write(`\n[${reply.tool} ${reply.status}]\n`);
    else if (reply.kind === "tool_result") process.stdout.write(`[${reply.tool} ${reply.status}]\n`);
    else if (reply.kind === "final") process.stdout.write(`\n[done: ${reply.usage.output} tokens out]\n`);
    else if (reply.kind === "error") process.stdout.write(`\n[${reply.error.name}: ${reply.error.message}]\n`);
  }
  running = undefined;
  rl.resume();
  rl.prompt();
});

rl.prompt();
