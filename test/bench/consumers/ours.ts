// Our consumer: `createClient(...).events.subscribe()` — the SDK's one shared `/event` connection
// (eventsource-parser, compiled checks on the events the SDK consumes) — optionally filtered to one
// session, as a turn subscribes. It loads the Node build, as Node users get it (undici
// `dispatcher.request`); with `fetch` in the run it injects Node's global fetch instead, the
// WHATWG path browsers, Deno, Bun and workers take. With `global` it also follows a second project,
// so the one connection is `/global/event`, routed by directory.

import { createClient } from "../../../src/node.js";
import { measure } from "./measure.js";

await measure(async (run, counter) => {
  const client = createClient({
    baseUrl: run.url,
    username: run.username,
    password: run.password,
    ...(run.transport === "fetch" ? { fetch: (input: string, init: RequestInit) => globalThis.fetch(input, init) } : {}),
    // Skipped frames or reconnects during a benchmark are worth seeing: they go to stderr, which
    // the benchmark shows if the run fails.
    logger: { warn: (message) => console.error(message), error: (message) => console.error(message) },
  });
  try {
    const events = client.events.subscribe(run.sessionID === undefined ? {} : { sessionID: run.sessionID });
    const other = run.global === undefined ? undefined : client.events.forDirectory(run.global.otherProject).subscribe();
    for await (const event of events) {
      if (counter.see(event)) break;
    }
    other?.close();
  } finally {
    await client.close();
  }
});
