// "mapEvent never throws" over every event the runtime checks admit: events generated from the
// shape definitions themselves (src/events/schemas.ts), optional fields present or absent, values
// drawn from a small pool of ids and enum words so generated events meet each other (a part's
// message exists, a delta's part was typed) and reach deep codec paths, not just the early exits.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { consumedEventProblem, consumedEventSchemas } from "../../src/events/schemas.js";
import type { Shape } from "../../src/events/shape.js";
import { applySnapshot, initialTurnState, mapEvent, markGap, type TurnSnapshot } from "../../src/turn/map-event.js";

const S = "ses_root";
const U = "msg_u";

/** Every string is one of these: session, message, part and request ids, and the enum words the codec branches on. */
const WORDS = [S, "ses_child", U, "msg_a", "msg_b", "prt_1", "prt_2", "per_1", "que_1", "text", "reasoning", "tool", "compaction",
  "user", "assistant", "idle", "busy", "retry", "pending", "running", "completed", "error", "task", "once", "always", "reject", "stop",
  "tool-calls", "sessionId", ""];

/** Fields whose words matter, drawn from their own small pool so generated events meet each other often. */
const POOLS: Record<string, string[]> = {
  sessionID: [S, S, "ses_child"],
  id: [U, "msg_a", "prt_1", "per_1", S, "ses_child"],
  messageID: [U, "msg_a", "msg_a"],
  partID: ["prt_1", "prt_2"],
  parentID: [U, U, S, "msg_a"],
  role: ["user", "assistant", "assistant"],
  type: ["text", "reasoning", "tool", "compaction", "idle", "busy", "retry"],
  status: ["pending", "running", "completed", "error"],
  field: ["text", "text", "input"],
  requestID: ["per_1", "que_1"],
  reply: ["once", "always", "reject"],
  tool: ["task", "bash"],
};

function arbitraryOf(shape: Shape, key = ""): fc.Arbitrary<unknown> {
  switch (shape.kind) {
    case "string":
      return fc.constantFrom(...(POOLS[key] ?? WORDS));
    case "number":
      return fc.integer({ min: 0, max: 5_000 });
    case "boolean":
      return fc.boolean();
    case "unknown":
      return fc.oneof(fc.constant(undefined), fc.constant(true), fc.dictionary(fc.constantFrom("sessionId", "output", "message"), fc.constantFrom(...WORDS)));
    case "optional":
      return fc.option(arbitraryOf(shape.inner, key), { nil: undefined });
    case "array":
      return fc.array(arbitraryOf(shape.element, key), { maxLength: 2 });
    case "object": {
      const fields = Object.fromEntries(Object.entries(shape.fields).map(([name, field]) => [name, arbitraryOf(field, name)]));
      // Optional fields are absent (not `undefined`) in the generated object, as JSON would have them.
      return fc.record(fields).map((record) => Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined)));
    }
  }
}

const events = fc.oneof(
  ...[...consumedEventSchemas].map(([type, shape]) =>
    arbitraryOf(shape).map((properties) => ({ id: `evt_${type}`, type, properties: properties as Record<string, unknown> })),
  ),
);

describe("mapEvent over events generated from the shape definitions", () => {
  it("every generated event passes the runtime check (the generator speaks the schema)", () => {
    fc.assert(
      fc.property(events, (event) => {
        expect(consumedEventProblem(event)).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });

  it("never throws on any sequence of schema-valid events, gaps and empty snapshots included", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof({ weight: 12, arbitrary: events }, { weight: 1, arbitrary: fc.constantFrom("gap", "idle-snapshot") }), { maxLength: 40 }), (steps) => {
        let state = initialTurnState({ sessionID: S, userMessageID: U });
        for (const step of steps) {
          if (step === "gap") state = markGap(state);
          else if (step === "idle-snapshot") state = applySnapshot(state, { status: "idle", messages: [] } satisfies TurnSnapshot).state;
          else state = mapEvent(state, step).state;
        }
      }),
      { numRuns: 3_000 },
    );
  });
});
