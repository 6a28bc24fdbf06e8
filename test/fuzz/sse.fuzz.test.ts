// Random bytes into the SSE layer: whatever garbage precedes them, well-formed events after it
// still arrive, nothing throws, and a session-filtered subscriber never sees another session.
import fc from "fast-check";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createClient } from "../../src/index.js";
import { connected, startSseServer, type SseServer } from "../events/sse-server.js";

const S = "ses_fuzz_mine";
let garbage: Uint8Array = new Uint8Array();
let server: SseServer;

const event = (id: string, sessionID: string) => ({
  id,
  type: "message.part.delta",
  properties: { sessionID, messageID: "msg_1", partID: "prt_1", field: "text", delta: id },
});

beforeAll(async () => {
  server = await startSseServer((c) => {
    c.send(connected(c.index));
    c.write(garbage);
    // Whatever the garbage left half-open (a line, a multi-line data field), end it.
    c.write("\n\n");
    c.send(event("evt_mine_1", S));
    c.send(event("evt_other", "ses_fuzz_other"));
    c.send(event("evt_mine_2", S));
  });
});
afterAll(() => server.close());

/** Bytes shaped like SSE often enough to reach the parser's corners (fields, CR/LF, bad UTF-8). */
const sseish = fc
  .array(
    fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      fc.constantFrom("data: ", "data:", "event: x\n", "id: 1\n", "retry: 10\n", ": comment\n", "\r", "\n", "\r\n", "{", "}", '"'),
      fc.string({ maxLength: 40 }),
      fc.jsonValue().map((v) => `data: ${JSON.stringify(v)}\n`),
      fc.constantFrom("\u{1F30D}", "世界"),
      fc.constant(new Uint8Array([0xff, 0xfe, 0xc3])), // invalid UTF-8
    ),
    { maxLength: 30 },
  )
  .map((parts) => new Uint8Array(Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p, "utf8") : Buffer.from(p))))));

it("garbage never stops later events, never throws, never leaks another session", { timeout: 120_000 }, async () => {
  await fc.assert(
    fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 512 }), sseish), async (bytes) => {
      garbage = bytes;
      const warnings: string[] = [];
      const client = createClient({ baseUrl: server.url, logger: { warn: (m) => warnings.push(m) } });
      const seen: string[] = [];
      try {
        for await (const e of client.events.subscribe({ sessionID: S })) {
          if (e.type.startsWith("server.")) continue;
          expect((e.properties as { sessionID?: string }).sessionID).toBe(S);
          seen.push(e.id);
          if (e.id === "evt_mine_2") break;
        }
      } finally {
        await client.close();
      }
      // Garbage may itself hold well-formed events of our session; ours must come, in order, at the end.
      expect(seen.slice(-2)).toEqual(["evt_mine_1", "evt_mine_2"]);
      expect(seen).not.toContain("evt_other");
    }),
    { numRuns: 150 },
  );
});

it("a huge line with no newline is buffered once and the events after it still arrive", async () => {
  garbage = new Uint8Array(Buffer.from("data: " + "x".repeat(8 * 2 ** 20)));
  const client = createClient({ baseUrl: server.url, logger: {} });
  const seen: string[] = [];
  for await (const e of client.events.subscribe({ sessionID: S })) {
    if (e.type.startsWith("server.")) continue;
    seen.push(e.id);
    if (e.id === "evt_mine_2") break;
  }
  await client.close();
  expect(seen).toEqual(["evt_mine_1", "evt_mine_2"]);
});
