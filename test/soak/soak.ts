// The soak: N sessions × M turns over one client while the event connection is cut at random.
// Every turn's deltas must add up to its final text, which must equal the server's stored text;
// after client.close() no socket or timer of the client may remain; memory is sampled per round.

import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { createClient, type Reply, type Session } from "../../src/node.js";
import { directive } from "../support/model-server.js";

export interface SoakOptions {
  sessions: number;
  turns: number;
  /** Mean time between event-connection cuts. */
  cutEveryMs: number;
  log?: (line: string) => void;
}

export interface SoakResult {
  turns: number;
  cuts: number;
  failures: string[];
  /** Heap used (MB) after each round of turns. */
  heapMB: number[];
  /** Active handles of this process that the client left behind after close(). */
  leftover: string[];
  ms: number;
}

/** Resource kinds a client could leak (sockets, timers); pipes to the infra process are not the client's. */
const LEAKABLE = new Set(["TCPSocketWrap", "TCPWRAP", "Timeout", "Immediate", "TLSWRAP"]);

function leakable(): string[] {
  return process.getActiveResourcesInfo().filter((kind) => LEAKABLE.has(kind));
}

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const log = options.log ?? (() => {});
  const started = Date.now();
  const infra = spawn(process.execPath, ["--import", "tsx", new URL("./infra.ts", import.meta.url).pathname], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = createInterface({ input: infra.stdout! });
  const first = await new Promise<string>((resolve) => lines.once("line", resolve));
  const { url, username, password } = JSON.parse(first) as { url: string; username: string; password: string };
  let cuts = 0;
  lines.on("line", (line) => {
    const message = JSON.parse(line) as { cut?: number };
    if (message.cut) cuts += message.cut;
  });

  const baseline = leakable();
  const client = createClient({ baseUrl: url, username, password, logger: {}, events: { reconnectMaxMs: 1_000 } });
  const failures: string[] = [];
  const heapMB: number[] = [];
  let done = 0;
  let cutting = true;
  const cutter = (async () => {
    while (cutting) {
      await new Promise((resolve) => setTimeout(resolve, options.cutEveryMs * (0.5 + Math.random())));
      if (cutting) infra.stdin!.write("cut\n");
    }
  })();

  const sessions: Session[] = await Promise.all(
    Array.from({ length: options.sessions }, (_, i) => client.session.create({ title: `soak ${i}` })),
  );
  for (let round = 0; round < options.turns; round++) {
    await Promise.all(
      sessions.map(async (session, s) => {
        const text = Array.from({ length: 10 + ((round + s) % 20) }, (_, w) => `s${s}r${round}w${w}`).join(" ");
        const turn = session.prompt(`soak\n${directive({ text, chunks: 12, chunkDelayMs: 25 })}`);
        const replies: Reply[] = [];
        try {
          for await (const reply of turn) replies.push(reply);
          const final = await turn.done;
          const deltas = replies.flatMap((r) => (r.kind === "delta" ? [r.text] : [])).join("");
          const stored = (await session.messages())
            .filter((m) => m.info.role === "assistant" && "parentID" in m.info && m.info.parentID === turn.messageID)
            .at(-1)
            ?.parts.flatMap((p) => (p.type === "text" ? [p.text] : []))
            .join("");
          if (final.text !== text) failures.push(`session ${s} round ${round}: final ${JSON.stringify(final.text)}`);
          if (deltas !== text) failures.push(`session ${s} round ${round}: deltas ${JSON.stringify(deltas)}`);
          if (stored !== text) failures.push(`session ${s} round ${round}: stored ${JSON.stringify(stored)}`);
        } catch (error) {
          failures.push(`session ${s} round ${round}: ${(error as Error).name}: ${(error as Error).message}`);
        }
        done++;
      }),
    );
    heapMB.push(Math.round((process.memoryUsage().heapUsed / 2 ** 20) * 10) / 10);
    log(`round ${round + 1}/${options.turns}: ${done} turns, ${cuts} cuts, heap ${heapMB.at(-1)} MB, failures ${failures.length}`);
  }
  cutting = false;
  await cutter;
  await client.close();
  await new Promise((resolve) => setTimeout(resolve, 200));
  const after = leakable();
  const leftover = [...after];
  for (const kind of baseline) {
    const index = leftover.indexOf(kind);
    if (index >= 0) leftover.splice(index, 1);
  }
  infra.stdin!.end();
  await new Promise((resolve) => infra.once("exit", resolve));
  return { turns: done, cuts, failures, heapMB, leftover, ms: Date.now() - started };
}
