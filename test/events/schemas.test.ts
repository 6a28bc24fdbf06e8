// The checks of consumed events: the compiled predicate must agree with the zod schemas it is
// derived from, for every value, so zod's verdict is the one that counts.
import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { z } from "zod";
import { compileAccepts, consumedEventProblem, consumedEventSchemas } from "../../src/events/schemas.js";

/** Values shaped like what `schema` accepts, with random wrong types, missing keys and odd numbers mixed in. */
function near(schema: z.ZodType): fc.Arbitrary<unknown> {
  const def = schema._zod.def as {
    type: string;
    innerType?: z.ZodType;
    element?: z.ZodType;
    shape?: Record<string, z.ZodType>;
  };
  const noise = fc.oneof(fc.jsonValue({ maxDepth: 1 }), fc.constant(undefined), fc.double(), fc.constant([]));
  switch (def.type) {
    case "string":
      return fc.oneof({ weight: 9, arbitrary: fc.string() }, { weight: 1, arbitrary: noise });
    case "number":
      return fc.oneof({ weight: 9, arbitrary: fc.oneof(fc.double(), fc.integer()) }, { weight: 1, arbitrary: noise });
    case "optional":
      return fc.oneof(fc.constant(undefined), near(def.innerType!));
    case "array":
      return fc.oneof({ weight: 9, arbitrary: fc.array(near(def.element!), { maxLength: 3 }) }, { weight: 1, arbitrary: noise });
    case "object": {
      const fields = Object.fromEntries(Object.entries(def.shape!).map(([key, field]) => [key, near(field)]));
      return fc.oneof(
        { weight: 2, arbitrary: fc.record(fields, { requiredKeys: [] }) },
        { weight: 12, arbitrary: fc.record(fields) },
        { weight: 1, arbitrary: noise },
      );
    }
    default:
      return noise;
  }
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("consumed event checks", () => {
  const accepts = compileAccepts(consumedEventSchemas);

  it.each([...consumedEventSchemas.keys()])("the compiled check of %s agrees with zod on every value", (type) => {
    const schema = consumedEventSchemas.get(type)!;
    let valid = 0;
    let invalid = 0;
    fc.assert(
      fc.property(near(schema), (properties) => {
        const zod = schema.safeParse(properties).success;
        if (zod) valid++;
        else invalid++;
        expect(accepts(type, properties)).toBe(zod);
      }),
      { numRuns: 1_500 },
    );
    // The generator must reach both verdicts, or the agreement says little.
    expect(valid).toBeGreaterThan(50);
    expect(invalid).toBeGreaterThan(50);
  });

  it("accepts unknown event types without looking", () => {
    expect(accepts("session.next.hologram", null)).toBe(true);
  });

  it("words the problem with the field path", () => {
    expect(consumedEventProblem({ type: "session.status", properties: { sessionID: "s", status: { type: 1 } } })).toMatch(
      /^properties\.status\.type: /,
    );
    expect(consumedEventProblem({ type: "session.status", properties: { sessionID: "s", status: { type: "idle" } } })).toBeUndefined();
  });

  it("without eval (strict CSP) sends every consumed event to zod", () => {
    vi.stubGlobal("Function", function NoEval() {
      throw new EvalError("blocked by CSP");
    });
    const fallback = compileAccepts(consumedEventSchemas);
    expect(fallback("session.idle", { sessionID: "s" })).toBe(false);
    expect(fallback("file.edited", {})).toBe(true);
  });
});
