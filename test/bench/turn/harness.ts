// The harness every turn-benchmark client process runs under: takes turns from the parent over IPC,
// gives each a fresh session, times it (first text delta, end of turn, process CPU) and answers
// with the measurement and the final text the client saw.
//
// Each client is its own process so the CPU counted is that client's alone — not the other
// client's, not the scripted model's (it runs in the parent). Session creation happens before the
// clock starts; module loading and warm-up happen long before.

import type { ChildMessage, ParentMessage, ServerAddress } from "./workload.js";

/** What a client's turn reports back to the harness while it runs. */
export interface TurnMarks {
  /** The `/event` stream is open (`server.connected` seen), so the prompt can go out. */
  connected(): void;
  /** The first assistant text delta was seen (later calls are ignored). */
  firstDelta(): void;
  /** The end of the turn was seen. */
  end(): void;
}

export interface TurnOutcome {
  text: string;
  connections: number;
}

export interface TurnClient<S> {
  /** A fresh session, created before the clock starts. */
  createSession(): Promise<S>;
  /** Starts the turn (the clock is already running) and reads it to its end. */
  turn(session: S, prompt: string, marks: TurnMarks): Promise<TurnOutcome>;
  close(): Promise<void>;
}

export function serveTurns<S>(connect: (server: ServerAddress) => TurnClient<S>): void {
  let client: TurnClient<S> | undefined;
  // One turn at a time, in the order the parent sent them.
  let queue: Promise<void> = Promise.resolve();

  process.on("message", (message: ParentMessage) => {
    queue = queue.then(async () => {
      switch (message.type) {
        case "init":
          client = connect(message.server);
          send({ type: "ready" });
          return;
        case "turn":
          try {
            if (!client) throw new Error("turn before init");
            send({ type: "result", seq: message.seq, ...(await measureTurn(client, message.prompt)) });
          } catch (error) {
            send({ type: "error", seq: message.seq, message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
          }
          return;
        case "close":
          await client?.close();
          process.disconnect();
          return;
      }
    });
  });
}

async function measureTurn<S>(client: TurnClient<S>, prompt: string) {
  const session = await client.createSession();
  let connectedAt: number | undefined;
  let firstDeltaAt: number | undefined;
  let endAt: number | undefined;
  const marks: TurnMarks = {
    connected: () => void (connectedAt ??= performance.now()),
    firstDelta: () => void (firstDeltaAt ??= performance.now()),
    end: () => void (endAt ??= performance.now()),
  };
  const cpu = process.cpuUsage();
  const start = performance.now();
  const outcome = await client.turn(session, prompt, marks);
  const used = process.cpuUsage(cpu);
  if (connectedAt === undefined) throw new Error("the turn ended without its event stream opening");
  if (firstDeltaAt === undefined) throw new Error("the turn ended without a text delta");
  if (endAt === undefined) throw new Error("the turn returned without marking its end");
  return {
    connectedMs: connectedAt - start,
    firstDeltaMs: firstDeltaAt - start,
    finalMs: endAt - start,
    cpuMs: (used.user + used.system) / 1000,
    ...outcome,
  };
}

function send(message: ChildMessage): void {
  process.send?.(message);
}
