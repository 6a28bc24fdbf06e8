// The scale benchmark's client process: one client, N sessions, N turns started at once. Counts
// what it costs this process alone (CPU, memory), what the server sees of it (sockets, requests,
// from undici's diagnostics channels) and whether every turn ended with its exact scripted text.
// Sessions are created before anything is measured.

import { subscribe } from "node:diagnostics_channel";
import type { Socket } from "node:net";
import { createClient } from "../../../src/node.js";
import type { ScaleJob, ScaleResult } from "./workload.js";

let requests = 0;
/** Times the watchdog found the stream silent but the server answering (slow, not gone). */
let slowSpells = 0;
let eventConnections = 0;
let openSockets = 0;
let peakSockets = 0;
subscribe("undici:request:create", (message) => {
  requests++;
  if ((message as { request: { path: string } }).request.path.startsWith("/event")) eventConnections++;
});
subscribe("undici:client:connected", (message) => {
  const socket = (message as { socket: Socket }).socket;
  peakSockets = Math.max(peakSockets, ++openSockets);
  socket.once("close", () => openSockets--);
});

process.once("message", (job: ScaleJob) => {
  run(job).then(
    (result) => process.send!({ type: "result", result }, () => process.exit(0)),
    (error: unknown) => process.send!({ type: "error", message: error instanceof Error ? (error.stack ?? error.message) : String(error) }, () => process.exit(1)),
  );
});

async function run(job: ScaleJob): Promise<ScaleResult> {
  const client = createClient({
    baseUrl: job.server.url,
    username: job.server.username,
    password: job.server.password,
    logger: { info: (message) => void (message.includes("but the server answers") && slowSpells++) },
    maxConnections: job.maxConnections,
  });
  // One turn first, not measured: the server's first turn loads its plugins, the client's its code.
  await (await client.session.create({ title: "warm-up" })).run(job.warmUp.prompt);
  const sessions: Awaited<ReturnType<typeof client.session.create>>[] = [];
  for (let i = 0; i < job.turns.length; i += 50) {
    sessions.push(...(await Promise.all(job.turns.slice(i, i + 50).map((_, j) => client.session.create({ title: `scale ${i + j}` })))));
  }
  globalThis.gc?.();
  const rssBefore = process.memoryUsage().rss;
  let peakRss = rssBefore;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
  peakSockets = openSockets;
  const requestsBefore = requests;
  const eventsBefore = eventConnections;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const outcomes = await Promise.all(
    job.turns.map(async (turn, i) => {
      const prompt = sessions[i]!.prompt(turn.prompt);
      try {
        const final = await prompt.done;
        return final.text === turn.expected ? "intact" : "wrong";
      } catch (error) {
        return (error as Error).name;
      }
    }),
  );
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  clearInterval(sampler);
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  const requestsDuring = requests - requestsBefore;
  const failures: Record<string, number> = {};
  for (const outcome of outcomes) if (outcome !== "intact") failures[outcome] = (failures[outcome] ?? 0) + 1;
  await client.close();
  return {
    turns: job.turns.length,
    intact: outcomes.filter((o) => o === "intact").length,
    failures,
    wallMs,
    cpuMsPerTurn: (cpu.user + cpu.system) / 1000 / job.turns.length,
    rssKbPerTurn: (peakRss - rssBefore) / 1024 / job.turns.length,
    peakSockets,
    // Besides the prompt itself: each turn's prompt_async is one of the requests counted.
    requestsPerTurn: (requestsDuring - (eventConnections - eventsBefore) - job.turns.length) / job.turns.length,
    eventConnections: eventConnections - eventsBefore,
    slowSpells,
  };
}
