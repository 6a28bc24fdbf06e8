// Floor consumer: the least work any undici + eventsource-parser client can do — the response
// body, a streaming TextDecoder, `createParser` and one `JSON.parse` per event. Nothing else.

import { createParser } from "eventsource-parser";
import { request } from "undici";
import { basicAuth, measure, type StreamEvent } from "./measure.js";

await measure(async (run, counter) => {
  const { statusCode, body } = await request(new URL("/event", run.url), {
    headers: { accept: "text/event-stream", authorization: basicAuth(run) },
    bodyTimeout: 0,
  });
  if (statusCode !== 200) throw new Error(`GET /event answered ${statusCode}`);
  const decoder = new TextDecoder();
  const parser = createParser({
    onEvent: (message) => {
      counter.see(JSON.parse(message.data) as StreamEvent);
    },
  });
  for await (const chunk of body as AsyncIterable<Uint8Array>) {
    parser.feed(decoder.decode(chunk, { stream: true }));
    if (counter.done) break;
  }
});
