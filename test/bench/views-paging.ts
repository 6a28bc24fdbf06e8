// The history-paging measurement's client process (`npm run bench -- views`, part 2): opens a view
// of a 10,000-message session on the server named in argv and pages it all in, 100 at a time,
// measuring how long this process's event loop was ever blocked and the longest GC pause within.
// A process of its own, as an app is: the server's work (serializing pages) and the other parts'
// garbage do not land on this event loop. Prints one JSON line.

import { monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks";
import { createClient } from "../../src/node.js";

export interface PagingRun {
  url: string;
  sessionID: string;
  pageSize: number;
}

export interface PagingResult {
  openMs: number;
  pages: number;
  pagingMs: number;
  blockedMaxMs: number;
  blockedP99Ms: number;
  gcMaxMs: number;
  loaded: number;
}

const run = JSON.parse(process.argv[2]!) as PagingRun;
const client = createClient({ baseUrl: run.url, logger: {} });
const opening = performance.now();
const view = await client.session.get(run.sessionID).watch({ history: run.pageSize });
const openMs = performance.now() - opening;
// Measured from the first page on: the client's one-time start (first connection, version check) is not paging.
let gcMaxMs = 0;
const gc = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcMaxMs = Math.max(gcMaxMs, entry.duration);
});
gc.observe({ entryTypes: ["gc"] });
const delay = monitorEventLoopDelay({ resolution: 1 });
delay.enable();
const started = performance.now();
let pages = 0;
while (view.get().hasOlder) {
  await view.loadOlder(run.pageSize);
  pages++;
}
const pagingMs = performance.now() - started;
delay.disable();
// GC entries arrive in a later task.
await new Promise((resolve) => setTimeout(resolve, 10));
gc.disconnect();
const result: PagingResult = {
  openMs,
  pages,
  pagingMs,
  blockedMaxMs: delay.max / 1e6,
  blockedP99Ms: delay.percentile(99) / 1e6,
  gcMaxMs,
  loaded: view.get().messages.length,
};
view.close();
await client.close();
console.log(JSON.stringify(result));
