// The checks of consumed events: the in-house shapes (src/events/shape.ts) must accept exactly what
// the equivalent zod schema accepts — compiled, interpreted (no eval) and when wording the problem —
// for every consumed event type, over generated JSON-like values. zod is the reference, not a
// runtime dependency.
import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { compileAccepts, consumedEventProblem, consumedEventSchemas } from "../../src/events/schemas.js";
import type { Shape } from "../../src/events/shape.js";

/** The zod schema that means what `shape` means. */
function toZod(shape: Shape): z.ZodType {
  switch (shape.kind) {
    case "string":
      return z.string();
    case "number":
      return z.number();
    case "boolean":
      return z.boolean();
    case "unknown":
      return z.unknown();
    case "optional":
      return toZod(shape.inner).optional();
    case "array":
      return z.array(toZod(shape.element));
    case "object":
      return z.looseObject(Object.fromEntries(Object.entries(shape.fields).map(([key, field]) => [key, toZod(field)])));
  }
}

/** Values shaped like what `shape` accepts, with random wrong types, missing keys and odd numbers mixed in. */
function near(shape: Shape): fc.Arbitrary<unknown> {
  const noise = fc.oneof(fc.jsonValue({ maxDepth: 1 }), fc.constant(undefined), fc.double(), fc.constant([]));
  const mostly = (arbitrary: fc.Arbitrary<unknown>) => fc.oneof({ weight: 9, arbitrary }, { weight: 1, arbitrary: noise });
  switch (shape.kind) {
    case "string":
      return mostly(fc.string());
    case "number":
      return mostly(fc.oneof(fc.double(), fc.integer()));
    case "boolean":
      return mostly(fc.boolean());
    case "unknown":
      return noise;
    case "optional":
      return fc.oneof(fc.constant(undefined), near(shape.inner));
    case "array":
      return mostly(fc.array(near(shape.element), { maxLength: 3 }));
    case "object": {
      const fields = Object.fromEntries(Object.entries(shape.fields).map(([key, field]) => [key, near(field)]));
      return fc.oneof(
        { weight: 2, arbitrary: fc.record(fields, { requiredKeys: [] }) },
        { weight: 12, arbitrary: fc.record(fields) },
        { weight: 1, arbitrary: noise },
      );
    }
  }
}

/** zod's first three issues as "path: expected X", the part of our problems that must match. */
function zodProblems(error: z.ZodError): string[] {
  return error.issues.slice(0, 3).map((issue) => `${["properties", ...issue.path].join(".")}: expected ${(issue as { expected?: string }).expected}`);
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("consumed event checks", () => {
  const accepts = compileAccepts(consumedEventSchemas);

  it.each([...consumedEventSchemas.keys()])("the checks of %s accept exactly what zod accepts, and word the same problems", (type) => {
    const shape = consumedEventSchemas.get(type)!;
    const schema = toZod(shape);
    vi.stubGlobal("Function", function NoEval() {
      throw new EvalError("blocked by CSP");
    });
    const interpreted = compileAccepts(consumedEventSchemas);
    vi.unstubAllGlobals();
    let valid = 0;
    let invalid = 0;
    fc.assert(
      fc.property(near(shape), (properties) => {
        const result = schema.safeParse(properties);
        if (result.success) valid++;
        else invalid++;
        expect(accepts(type, properties)).toBe(result.success);
        expect(interpreted(type, properties)).toBe(result.success);
        const problem = consumedEventProblem({ type, properties });
        if (result.success) expect(problem).toBeUndefined();
        else expect(problem?.split("; ").map((one) => one.replace(/, received .*$/, ""))).toEqual(zodProblems(result.error));
      }),
      { numRuns: 1_500 },
    );
    // The generator must reach both verdicts, or the agreement says little.
    expect(valid).toBeGreaterThan(50);
    expect(invalid).toBeGreaterThan(50);
  });

  it("accepts unknown event types without looking", () => {
    expect(accepts("session.next.hologram", null)).toBe(true);
    expect(consumedEventProblem({ type: "session.next.hologram", properties: null })).toBeUndefined();
  });

  it("words the problem with the field path and the types, never the value", () => {
    expect(consumedEventProblem({ type: "session.status", properties: { sessionID: "s", status: { type: 1 } } })).toBe(
      "properties.status.type: expected string, received number",
    );
    expect(
      consumedEventProblem({ type: "question.replied", properties: { sessionID: "s", requestID: "secret-token", answers: [["a"], "b"] } }),
    ).toBe("properties.answers.1: expected array, received string");
    expect(consumedEventProblem({ type: "session.status", properties: { sessionID: "s", status: { type: "idle" } } })).toBeUndefined();
  });

  it("without eval (strict CSP) interprets the same shapes", () => {
    vi.stubGlobal("Function", function NoEval() {
      throw new EvalError("blocked by CSP");
    });
    const fallback = compileAccepts(consumedEventSchemas);
    expect(fallback("session.idle", { sessionID: "s" })).toBe(true);
    expect(fallback("session.idle", { sessionID: 1 })).toBe(false);
    expect(fallback("file.edited", {})).toBe(true);
  });
});
