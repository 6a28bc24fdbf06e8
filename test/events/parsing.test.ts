// Decoding the `/event` byte stream: chunk boundaries anywhere, CRLF, multibyte UTF-8, and bad
// input skipped with a log line while the stream goes on.
import { readFileSync } from "node:fs";
import { describe, expect, it, vi } from "vitest";
import type { Event, Logger } from "../../src/index.js";
import { EventHub } from "../../src/events/hub.js";
import { chunked, ScriptedTransport } from "./scripted-transport.js";

// Every wait here is on loopback or in memory: a hang is a failure, not slowness.
vi.setConfig({ testTimeout: 5_000 });

const fixture = readFileSync(new URL("fixtures/turn.sse", import.meta.url), "utf8");

/** The events in an SSE text, parsed independently of the SDK (frames split on blank lines). */
function framesOf(text: string): unknown[] {
  return text
    .replace(/\r\n?/g, "\n")
    .split("\n\n")
    .map((block) =>
      block
        .split("\n")
        .filter((line) => line.startsWith("data:"))
        .map((line) => line.slice(line.startsWith("data: ") ? 6 : 5))
        .join("\n"),
    )
    .filter((data) => data.length > 0)
    .map((data) => JSON.parse(data));
}

/** Feeds the chunks as one connection's body and returns what a subscriber without filters receives. */
async function deliver(chunks: readonly Uint8Array[], logger: Logger = {}): Promise<Event[]> {
  const transport = new ScriptedTransport(() => chunked(chunks), logger);
  const hub = new EventHub(transport);
  const subscription = hub.subscribe();
  const events: Event[] = [];
  const reading = (async () => {
    for await (const event of subscription) events.push(event);
  })();
  // The body ending moves the hub to reconnecting; by then every frame has been dispatched.
  await new Promise<void>((resolve) => hub.onState((state) => state === "reconnecting" && resolve()));
  await new Promise((resolve) => setImmediate(resolve));
  await hub.close();
  await reading;
  return events;
}

describe("byte stream decoding", () => {
  const variants = [
    ["LF", fixture],
    ["CRLF", fixture.replace(/\n/g, "\r\n")],
    // Lone CRs are legal line ends too; a CR at a chunk's end must not wait for a possible LF.
    ["CR", fixture.replace(/\n/g, "\r")],
  ] as const;

  it.each(variants)("the fixture holds multibyte text and multi-line data (%s)", (_, text) => {
    expect(Buffer.byteLength(text)).toBeGreaterThan(text.length);
    expect(text).toMatch(/👨‍👩‍👧/);
    expect(text).toMatch(/[\r\n]data: ,"properties"/);
    expect(framesOf(text)).toHaveLength(19);
  });

  // Thousands of whole hub lifecycles (one per cut): bounded by their number, not by a hang.
  it.each(variants)("a stream split into two chunks at every byte boundary yields identical events (%s)", { timeout: 30_000 }, async (_, text) => {
    const bytes = Buffer.from(text, "utf8");
    const expected = framesOf(text);
    expect(await deliver([bytes])).toEqual(expected);
    for (let cut = 1; cut < bytes.length; cut++) {
      const events = await deliver([bytes.subarray(0, cut), bytes.subarray(cut)]);
      if (events.length !== expected.length || JSON.stringify(events) !== JSON.stringify(expected)) {
        expect({ cut, events }).toEqual({ cut, events: expected });
      }
    }
  });

  it("a stream delivered one byte per chunk yields identical events", async () => {
    const bytes = Buffer.from(fixture.replace(/\n/g, "\r\n"), "utf8");
    const chunks = Array.from(bytes, (byte) => Uint8Array.of(byte));
    expect(await deliver(chunks)).toEqual(framesOf(fixture));
  });

  it("hands out the parsed object with every field, including ones the SDK does not know", async () => {
    const event = {
      id: "evt_x",
      type: "message.part.delta",
      properties: { sessionID: "ses_1", messageID: "msg_1", partID: "prt_1", field: "text", delta: "hi", extra: { deep: [1] } },
      newTopLevel: true,
    };
    expect(await deliver([Buffer.from(`data: ${JSON.stringify(event)}\n\n`)])).toEqual([event]);
  });
});

describe("bad input", () => {
  const good = (n: number) => ({ id: `evt_${n}`, type: "session.idle", properties: { sessionID: "ses_1" } });
  const lines = (...frames: string[]) => Buffer.from(frames.map((f) => `${f}\n\n`).join(""));

  it("skips non-JSON data, non-event JSON and unknown SSE fields, logs each, and goes on", async () => {
    const warn = vi.fn();
    const events = await deliver(
      [
        lines(
          `data: ${JSON.stringify(good(1))}`,
          "data: {not json",
          "data: [1,2,3]",
          'data: {"type":42,"properties":{}}',
          'data: {"type":"session.idle"}',
          `bogus: field\ndata: ${JSON.stringify(good(2))}`,
          `data: ${JSON.stringify(good(3))}`,
        ),
      ],
      { warn },
    );
    expect(events).toEqual([good(1), good(2), good(3)]);
    const messages = warn.mock.calls.map((call) => String(call[0]));
    expect(messages).toEqual([
      expect.stringMatching(/not JSON/),
      expect.stringMatching(/not a JSON object/),
      expect.stringMatching(/`type`/),
      expect.stringMatching(/`properties`/),
      expect.stringMatching(/malformed SSE line.*bogus/),
    ]);
  });

  it.each([
    ["message.part.delta", { sessionID: "ses_1", messageID: "msg_1", partID: "prt_1", field: "text", delta: 7 }, /delta/],
    ["message.updated", { sessionID: "ses_1", info: { id: "msg_1", sessionID: "ses_1", role: null } }, /info\.role/],
    ["message.part.updated", { part: { id: "p", sessionID: "ses_1", messageID: "m", type: "tool", state: "running" } }, /part\.state/],
    ["session.status", { sessionID: "ses_1", status: { type: "retry", attempt: "2" } }, /status\.attempt/],
    ["session.idle", { sessionID: 1 }, /sessionID/],
    ["session.error", { sessionID: "ses_1", error: "boom" }, /error/],
    ["permission.asked", { id: "per_1", sessionID: "ses_1", permission: "bash", patterns: "ls" }, /patterns/],
    ["server.instance.disposed", { directory: false }, /directory/],
  ])("skips %s with a wrong field type, logs it, and delivers the next event", async (type, properties, field) => {
    const warn = vi.fn();
    const bad = { id: "evt_bad", type, properties };
    const events = await deliver([lines(`data: ${JSON.stringify(bad)}`, `data: ${JSON.stringify(good(2))}`)], { warn });
    expect(events).toEqual([good(2)]);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]?.[0]).toMatch(field);
    expect(warn.mock.calls[0]?.[1]).toMatchObject({ type });
  });

  it("passes unknown event types through untouched, extra fields intact", async () => {
    const warn = vi.fn();
    const future = { id: "evt_f", type: "session.next.hologram", properties: { sessionID: 5, shape: { x: [1, "two"] } }, v: 2 };
    const events = await deliver([lines(`data: ${JSON.stringify(future)}`)], { warn });
    expect(events).toEqual([future]);
    expect(warn).not.toHaveBeenCalled();
  });

  it("keeps consumed events whose extra or optional fields are new", async () => {
    const event = {
      id: "evt_1",
      type: "session.status",
      properties: { sessionID: "ses_1", status: { type: "teleporting", eta: "soon" }, since: 3 },
    };
    expect(await deliver([lines(`data: ${JSON.stringify(event)}`)])).toEqual([event]);
  });
});
