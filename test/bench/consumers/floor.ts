// Floor consumer: the least work any undici + eventsource-parser client can do — the response
// body, a streaming TextDecoder, `createParser` and one `JSON.parse` per event. Nothing else. With
// `global`, the same on `/global/event`: each frame's `payload`, the project's frames only.

import { createParser } from "eventsource-parser";
import { request } from "undici";
import { basicAuth, measure, type StreamEvent } from "./measure.js";

await measure(async (run, counter) => {
  const path = run.global === undefined ? "/event" : "/global/event";
  const { statusCode, body } = await request(new URL(path, run.url), {
    headers: { accept: "text/event-stream", authorization: basicAuth(run) },
    bodyTimeout: 0,
  });
  if (statusCode !== 200) throw new Error(`GET ${path} answered ${statusCode}`);
  const decoder = new TextDecoder();
  const parser = createParser({
    onEvent:
      run.global === undefined
        ? (message) => void counter.see(JSON.parse(message.data) as StreamEvent)
        : (message) => {
            const frame = JSON.parse(message.data) as { directory?: string; payload: StreamEvent };
            if (frame.directory !== undefined) counter.see(frame.payload);
          },
  });
  for await (const chunk of body as AsyncIterable<Uint8Array>) {
    parser.feed(decoder.decode(chunk, { stream: true }));
    if (counter.done) break;
  }
});
