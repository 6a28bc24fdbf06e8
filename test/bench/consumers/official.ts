// Official-SDK consumer: `@opencode-ai/sdk/v2` (1.18.33) `client.event.subscribe()`, whose
// `stream` is an async generator of parsed events (hey-api's generated SSE client over fetch).

import { createOpencodeClient } from "@opencode-ai/sdk/v2";
import { basicAuth, measure, type StreamEvent } from "./measure.js";

await measure(async (run, counter) => {
  const client = createOpencodeClient({ baseUrl: run.url, headers: { authorization: basicAuth(run) } });
  // Left to its defaults the generator swallows errors (a 401 included) and retries forever with
  // backoff; one attempt with the error surfaced makes a broken run fail instead of hang.
  let failure: unknown;
  const { stream } = await client.event.subscribe(undefined, {
    sseMaxRetryAttempts: 1,
    onSseError: (error) => {
      failure = error;
    },
  });
  for await (const event of stream) {
    if (counter.see(event as StreamEvent)) break;
  }
  if (failure !== undefined) throw failure;
});
