// A tiny schema builder for the JSON shapes of the events the SDK reads: one definition per shape
// gives a fast predicate (compiled to a JS expression), the same predicate interpreted (for runtimes
// that forbid eval), and readable problems ("properties.info.id: expected string, received number").
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

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Whether `value` passes `shape`, interpreted: the predicate when `compile` cannot run. */
export function matches(shape: Shape, value: unknown): boolean {
  switch (shape.kind) {
    case "string":
      return typeof value === "string";
    case "number":
      return typeof value === "number" && Number.isFinite(value);
    case "boolean":
      return typeof value === "boolean";
    case "unknown":
      return true;
    case "optional":
      return value === undefined || matches(shape.inner, value);
    case "array":
      return Array.isArray(value) && value.every((element) => matches(shape.element, element));
    case "object":
      return isObject(value) && Object.entries(shape.fields).every(([key, field]) => matches(field, value[key]));
  }
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
 * order (as zod reports them). Names only types, never values: events may carry secrets.
 */
export function problems(shape: Shape, value: unknown, path: string, limit = 3): string[] {
  const found: string[] = [];
  collect(shape, value, path, found, limit);
  return found;
}

function collect(shape: Shape, value: unknown, path: string, found: string[], limit: number): void {
  if (found.length >= limit) return;
  switch (shape.kind) {
    case "unknown":
      return;
    case "optional":
      if (value !== undefined) collect(shape.inner, value, path, found, limit);
      return;
    case "array":
      if (!Array.isArray(value)) found.push(`${path}: expected array, received ${received(value)}`);
      else value.forEach((element, index) => collect(shape.element, element, `${path}.${index}`, found, limit));
      return;
    case "object":
      if (!isObject(value)) found.push(`${path}: expected object, received ${received(value)}`);
      else for (const [key, field] of Object.entries(shape.fields)) collect(field, value[key], `${path}.${key}`, found, limit);
      return;
    default:
      if (!matches(shape, value)) found.push(`${path}: expected ${shape.kind}, received ${received(value)}`);
  }
}

function received(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number" && !Number.isFinite(value)) return Number.isNaN(value) ? "NaN" : "Infinity";
  return typeof value;
}
