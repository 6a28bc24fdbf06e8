// A tiny schema builder for the JSON shapes of the events the SDK reads: one definition per shape
// gives a fast predicate (compiled to a JS expression) and, interpreted, readable problems
// ("properties.info.id: expected string, received number"), which also stand in for the predicate
// where eval is forbidden.
// It knows only what the event checks use; zod's semantics for those constructs are the reference
// (the property test in test/events/schemas.test.ts holds it to them).

/** A JSON shape: scalars, `undefined`-or-inner, arrays, and objects that let extra keys through. */
export type Shape =
  | { readonly kind: "string" | "number" | "boolean" | "unknown" }
  | { readonly kind: "optional"; readonly inner: Shape }
  | { readonly kind: "array"; readonly element: Shape }
  | { readonly kind: "object"; readonly fields: Readonly<Record<string, Shape>> };

export const string: Shape = { kind: "string" };
/** A finite number: JSON has no NaN or Infinity, so one in an event is a bug upstream. */
export const number: Shape = { kind: "number" };
export const boolean: Shape = { kind: "boolean" };
/** Any value, a missing one included: used as `optional(unknown)`, for fields read as-is. */
export const unknown: Shape = { kind: "unknown" };

export function optional(inner: Shape): Shape {
  return { kind: "optional", inner };
}

export function array(element: Shape): Shape {
  return { kind: "array", element };
}

/** A non-array object whose listed fields pass; other keys are a newer server's and pass unchecked. */
export function looseObject(fields: Record<string, Shape>): Shape {
  return { kind: "object", fields };
}

/**
 * A JS expression over `access` that is true exactly when it passes `shape`, for `new Function`.
 * `depth` names the element variable of nested arrays apart.
 */
export function compile(shape: Shape, access: string, depth = 0): string {
  switch (shape.kind) {
    case "string":
    case "boolean":
      return `typeof ${access} === "${shape.kind}"`;
    case "number":
      return `(typeof ${access} === "number" && Number.isFinite(${access}))`;
    case "unknown":
      return "true";
    case "optional":
      return `(${access} === undefined || ${compile(shape.inner, access, depth)})`;
    case "array": {
      const element = `e${depth}`;
      return `(Array.isArray(${access}) && ${access}.every((${element}) => ${compile(shape.element, element, depth + 1)}))`;
    }
    case "object": {
      const parts = [`typeof ${access} === "object"`, `${access} !== null`, `!Array.isArray(${access})`];
      for (const [key, field] of Object.entries(shape.fields)) parts.push(compile(field, `${access}[${JSON.stringify(key)}]`, depth));
      return `(${parts.join(" && ")})`;
    }
  }
}

/**
 * The first `limit` reasons `value` fails `shape`, each "path: expected X, received Y", in field
 * order (as zod reports them); none when it passes. Names only types, never values: events may
 * carry secrets. Also the predicate where `compile`'s output cannot run (no eval).
 */
export function problems(shape: Shape, value: unknown, path: string, limit = 3): string[] {
  const found: string[] = [];
  collect(shape, value, path, found, limit);
  return found;
}

function collect(shape: Shape, value: unknown, path: string, found: string[], limit: number): void {
  const { kind } = shape;
  if (found.length >= limit || kind === "unknown" || (kind === "optional" && value === undefined)) return;
  if (kind === "optional") return collect(shape.inner, value, path, found, limit);
  const passes =
    kind === "array"
      ? Array.isArray(value)
      : kind === "object"
        ? typeof value === "object" && value !== null && !Array.isArray(value)
        : kind === "number"
          ? Number.isFinite(value)
          : typeof value === kind;
  if (!passes) found.push(`${path}: expected ${kind}, received ${received(value)}`);
  else if (kind === "array") (value as unknown[]).forEach((element, index) => collect(shape.element, element, `${path}.${index}`, found, limit));
  else if (kind === "object") {
    for (const [key, field] of Object.entries(shape.fields)) collect(field, (value as Record<string, unknown>)[key], `${path}.${key}`, found, limit);
  }
}

function received(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value === "number" && !Number.isFinite(value) ? String(value) : typeof value;
}
