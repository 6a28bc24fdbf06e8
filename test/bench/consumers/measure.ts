// The measuring harness every consumer process runs under: reads the run from argv, times one
// full consumption of the stream (wall, CPU, peak RSS) and prints the result as one JSON line.
//
// Each consumer is its own process so CPU and memory belong to that consumer alone; module
// loading happens before the clock starts, so only the stream's consumption is measured.

/** What the parent tells a consumer: where the stream is and how to recognise its last event. */
export interface ConsumerRun {
  url: string;
  username: string;
  password: string;
  /** Events a correct consumer yields, counting `server.connected` unless filtering. */
  expected: number;
  lastID: string;
  /** Set for a filtered consumer: only this session's events are expected. */
  sessionID?: string;
  /** Our consumer only: "fetch" injects the global fetch instead of the Node default transport. */
  transport?: "fetch";
  /**
   * Read `/global/event` as a client following two projects does (`otherProject` is the second,
   * which has no events); only project events count, not the connection's `server.connected`.
   */
  global?: { otherProject: string };
}

export interface ConsumerResult {
  events: number;
  wallMs: number;
  cpuMs: number;
  /** Peak resident set of the whole process, module loading included. */
  peakRssMB: number;
  /** Resident set just before the request, to tell stream memory from the baseline. */
  startRssMB: number;
}

/** One event as every consumer sees it: the opencode envelope. */
export interface StreamEvent {
  id?: unknown;
  type?: unknown;
  properties?: unknown;
}

/**
 * Counts events until the run's last event id, so a consumer that reconnects or retries after the
 * stream ends cannot run on forever. A filtered consumer counts its session's events and fails on
 * any other session's: a filter that leaks is broken, whatever the timings say.
 */
export class EventCounter {
  events = 0;
  done = false;
  /** Clock and CPU at the last event: closing the client afterwards is not part of the stream's cost. */
  finish: Snapshot | undefined;

  constructor(private readonly run: ConsumerRun) {}

  /** Returns true once the last event has been seen. */
  see(event: StreamEvent): boolean {
    const sessionID = sessionOf(event);
    if (this.run.sessionID !== undefined) {
      if (sessionID === undefined) return false;
      if (sessionID !== this.run.sessionID) {
        throw new Error(`filtered consumer got an event of session ${sessionID} (event ${String(event.id)})`);
      }
    }
    this.events++;
    if (event.id === this.run.lastID) {
      this.done = true;
      this.finish = snapshot();
    }
    return this.done;
  }
}

interface Snapshot {
  at: number;
  cpu: NodeJS.CpuUsage;
}

function snapshot(): Snapshot {
  return { at: performance.now(), cpu: process.cpuUsage() };
}

function sessionOf(event: StreamEvent): string | undefined {
  const properties = event.properties;
  if (typeof properties !== "object" || properties === null) return undefined;
  const sessionID = (properties as { sessionID?: unknown }).sessionID;
  return typeof sessionID === "string" ? sessionID : undefined;
}

export function basicAuth(run: ConsumerRun): string {
  return `Basic ${Buffer.from(`${run.username}:${run.password}`).toString("base64")}`;
}

const MB = 1024 * 1024;

/** Runs `consume` once under measurement, prints the JSON result line and exits (non-zero on a wrong count). */
export async function measure(consume: (run: ConsumerRun, counter: EventCounter) => Promise<void>): Promise<never> {
  const run = JSON.parse(process.argv[2] ?? "") as ConsumerRun;
  const counter = new EventCounter(run);
  const startRssMB = process.memoryUsage().rss / MB;
  const start = snapshot();
  await consume(run, counter);
  const end = counter.finish ?? snapshot();
  const result: ConsumerResult = {
    events: counter.events,
    wallMs: end.at - start.at,
    cpuMs: (end.cpu.user - start.cpu.user + end.cpu.system - start.cpu.system) / 1000,
    // maxRSS is in KiB on Linux.
    peakRssMB: (process.resourceUsage().maxRSS * 1024) / MB,
    startRssMB,
  };
  const ok = counter.done && counter.events === run.expected;
  if (!ok) {
    console.error(
      counter.done
        ? `wrong event count: got ${counter.events}, expected ${run.expected}`
        : `the stream's last event ${run.lastID} never arrived (${counter.events} of ${run.expected} events counted)`,
    );
  }
  // Exit explicitly: a consumer that keeps its socket open after the last event must not stall the run.
  await new Promise<void>((resolve) => process.stdout.write(`${JSON.stringify(result)}\n`, () => resolve()));
  process.exit(ok ? 0 : 1);
}
