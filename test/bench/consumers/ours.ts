// Our consumer: `createClient(...).events.subscribe()` — the SDK's one shared `/event` connection
// (undici + eventsource-parser, zod checks on the events the SDK consumes) — optionally filtered
// to one session, as a turn subscribes.

import { createClient } from "../../../src/index.js";
import { measure } from "./measure.js";

await measure(async (run, counter) => {
  const client = createClient({
    baseUrl: run.url,
    username: run.username,
    password: run.password,
    // Skipped frames or reconnects during a benchmark are worth seeing: they go to stderr, which
    // the benchmark shows if the run fails.
    logger: { warn: (message) => console.error(message), error: (message) => console.error(message) },
  });
  try {
    const events = client.events.subscribe(run.sessionID === undefined ? {} : { sessionID: run.sessionID });
    for await (const event of events) {
      if (counter.see(event)) break;
    }
  } finally {
    await client.close();
  }
});
