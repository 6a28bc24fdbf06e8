// zod checks for the event types the SDK itself reads (connection state, turns). Only the
// fields the SDK reads are checked, as loose objects: a newer server's extra fields pass, and
// the event handed out is always the original object, never zod's copy.

import { z } from "zod";

const str = z.string();
const num = z.number();

const bool = z.boolean();
const object = z.looseObject({});

const providerError = z.looseObject({ name: str, data: z.unknown().optional() });

const messageInfo = z.looseObject({
  id: str,
  sessionID: str,
  role: str,
  parentID: str.optional(),
  finish: str.optional(),
  error: providerError.optional(),
  cost: num.optional(),
  tokens: z
    .looseObject({
      input: num,
      output: num,
      reasoning: num,
      cache: z.looseObject({ read: num, write: num }),
    })
    .optional(),
  time: z.looseObject({ created: num, completed: num.optional() }).optional(),
  // `true` on a compaction's summary assistant message; an object of diffs on user messages.
  summary: z.unknown().optional(),
  structured: z.unknown().optional(),
});

const toolState = z.looseObject({
  status: str,
  input: object.optional(),
  output: str.optional(),
  error: str.optional(),
  title: str.optional(),
  metadata: object.optional(),
});

const part = z.looseObject({
  id: str,
  sessionID: str,
  messageID: str,
  type: str,
  text: str.optional(),
  synthetic: bool.optional(),
  callID: str.optional(),
  tool: str.optional(),
  state: toolState.optional(),
  time: z.looseObject({ start: num.optional(), end: num.optional() }).optional(),
  // On `compaction` parts: whether the server compacted on its own.
  auto: bool.optional(),
});

const sessionStatus = z.looseObject({
  type: str,
  attempt: num.optional(),
  message: str.optional(),
  next: num.optional(),
});

const sessionInfo = z.looseObject({ id: str, parentID: str.optional(), title: str.optional() });

const requestTool = z.looseObject({ messageID: str, callID: str }).optional();

const question = z.looseObject({
  question: str,
  header: str,
  options: z.array(z.looseObject({ label: str, description: str })),
  multiple: bool.optional(),
  custom: bool.optional(),
});

const empty = z.looseObject({});

/**
 * Consumed event type → the check its `properties` must pass before anyone sees the event (the
 * envelope, `{ type: string, properties: object }`, is checked for every frame by `envelopeProblem`).
 * Each schema covers every field the SDK reads, so readers can rely on the generated types.
 */
export const consumedEventSchemas: ReadonlyMap<string, z.ZodType> = new Map<string, z.ZodType>([
  ["server.connected", empty],
  ["server.heartbeat", empty],
  ["server.instance.disposed", z.looseObject({ directory: str })],
  // Older servers sent only `info` / `part`; the session id is then read from there.
  ["message.updated", z.looseObject({ sessionID: str.optional(), info: messageInfo })],
  ["message.part.updated", z.looseObject({ sessionID: str.optional(), part, time: num.optional() })],
  ["message.part.delta", z.looseObject({ sessionID: str, messageID: str, partID: str, field: str, delta: str })],
  ["session.created", z.looseObject({ sessionID: str.optional(), info: sessionInfo })],
  ["session.updated", z.looseObject({ sessionID: str.optional(), info: sessionInfo })],
  ["session.status", z.looseObject({ sessionID: str, status: sessionStatus })],
  ["session.idle", z.looseObject({ sessionID: str })],
  ["session.error", z.looseObject({ sessionID: str.optional(), error: providerError.optional() })],
  ["session.compacted", z.looseObject({ sessionID: str })],
  [
    "permission.asked",
    z.looseObject({
      id: str,
      sessionID: str,
      permission: str,
      patterns: z.array(str),
      always: z.array(str).optional(),
      metadata: object.optional(),
      tool: requestTool,
    }),
  ],
  ["permission.replied", z.looseObject({ sessionID: str, requestID: str, reply: str })],
  ["question.asked", z.looseObject({ id: str, sessionID: str, questions: z.array(question), tool: requestTool })],
  ["question.replied", z.looseObject({ sessionID: str, requestID: str, answers: z.array(z.array(str)) })],
  ["question.rejected", z.looseObject({ sessionID: str, requestID: str })],
]);

/** Why a parsed frame is not an event at all (`{ type: string, properties: object }`), or undefined. */
export function envelopeProblem(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null) return "not a JSON object";
  const { type, properties } = value as { type?: unknown; properties?: unknown };
  if (typeof type !== "string") return Array.isArray(value) ? "not a JSON object" : "no string `type`";
  if (typeof properties !== "object" || properties === null || Array.isArray(properties)) return "no `properties` object";
  return undefined;
}

/** Why an event of a consumed type has fields the SDK cannot read, or undefined (always for unknown types). */
export function consumedEventProblem(event: { type: string; properties: unknown }): string | undefined {
  if (acceptsConsumed(event.type, event.properties)) return undefined;
  const schema = consumedEventSchemas.get(event.type);
  const result = schema?.safeParse(event.properties);
  if (result === undefined || result.success) return undefined;
  return result.error.issues
    .slice(0, 3)
    .map((issue) => `${["properties", ...issue.path].join(".")}: ${issue.message}`)
    .join("; ");
}

/** True when `properties` passes the schema of `type` (and for types without one). */
export type Accepts = (type: string, properties: unknown) => boolean;

/**
 * zod allocates a result object per field it checks, which on the hot path (every delta) costs
 * more than the JSON.parse before it. So the schemas are also compiled, from their own zod
 * definitions, into one predicate that accepts exactly what they accept (for the constructs used
 * above); zod itself runs only when it says no, to confirm and to word the problem. A `switch`
 * picks the type: hashing each event's fresh type string for a Map lookup costs more.
 */
const acceptsConsumed: Accepts = compileAccepts(consumedEventSchemas);

export function compileAccepts(schemas: ReadonlyMap<string, z.ZodType>): Accepts {
  const cases = [...schemas].map(
    ([type, schema]) => `case ${JSON.stringify(type)}: return ${expression(schema, "v", 0) ?? "false"};`,
  );
  try {
    return new Function("t", "v", `"use strict"; switch (t) { ${cases.join(" ")} default: return true; }`) as Accepts;
  } catch {
    // No eval (strict CSP): every consumed event goes to zod.
    return (type) => !schemas.has(type);
  }
}

/** A JS expression true exactly when `access` passes `schema`; undefined for constructs it does not model. */
function expression(schema: z.ZodType, access: string, depth: number): string | undefined {
  const def = schema._zod.def as {
    type: string;
    checks?: unknown[];
    innerType?: z.ZodType;
    element?: z.ZodType;
    shape?: Record<string, z.ZodType>;
    catchall?: z.ZodType;
  };
  if (def.checks !== undefined && def.checks.length > 0) return undefined;
  switch (def.type) {
    case "string":
      return `typeof ${access} === "string"`;
    case "number":
      return `(typeof ${access} === "number" && Number.isFinite(${access}))`;
    case "boolean":
      return `typeof ${access} === "boolean"`;
    case "unknown":
      return "true";
    case "optional": {
      const inner = def.innerType && expression(def.innerType, access, depth);
      return inner && `(${access} === undefined || ${inner})`;
    }
    case "array": {
      const item = `e${depth}`;
      const element = def.element && expression(def.element, item, depth + 1);
      return element && `(Array.isArray(${access}) && ${access}.every((${item}) => ${element}))`;
    }
    case "object": {
      if (def.catchall !== undefined && def.catchall._zod.def.type !== "unknown") return undefined;
      const parts = [`typeof ${access} === "object"`, `${access} !== null`, `!Array.isArray(${access})`];
      for (const [key, field] of Object.entries(def.shape ?? {})) {
        const part = expression(field, `${access}[${JSON.stringify(key)}]`, depth);
        if (part === undefined) return undefined;
        parts.push(part);
      }
      return `(${parts.join(" && ")})`;
    }
    default:
      return undefined;
  }
}
