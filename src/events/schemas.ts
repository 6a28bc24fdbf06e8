// Checks for the event types the SDK itself reads (connection state, turns). Only the fields the
// SDK reads are checked, as loose objects: a newer server's extra fields pass, and the event handed
// out is always the original object, never a copy. The shapes are built with ./shape.ts, whose one
// definition gives both the fast compiled predicate and the worded problem.

import * as s from "./shape.js";
import type { Shape } from "./shape.js";

const str = s.string;
const num = s.number;

const bool = s.boolean;
const object = s.looseObject({});

const providerError = s.looseObject({ name: str, data: s.optional(s.unknown) });

const messageInfo = s.looseObject({
  id: str,
  sessionID: str,
  role: str,
  parentID: s.optional(str),
  finish: s.optional(str),
  error: s.optional(providerError),
  cost: s.optional(num),
  tokens: s.optional(
    s.looseObject({
      input: num,
      output: num,
      reasoning: num,
      cache: s.looseObject({ read: num, write: num }),
    }),
  ),
  time: s.optional(s.looseObject({ created: num, completed: s.optional(num) })),
  // `true` on a compaction's summary assistant message; an object of diffs on user messages.
  summary: s.optional(s.unknown),
  structured: s.optional(s.unknown),
});

const toolState = s.looseObject({
  status: str,
  input: s.optional(object),
  output: s.optional(str),
  error: s.optional(str),
  title: s.optional(str),
  metadata: s.optional(object),
});

const part = s.looseObject({
  id: str,
  sessionID: str,
  messageID: str,
  type: str,
  text: s.optional(str),
  synthetic: s.optional(bool),
  callID: s.optional(str),
  tool: s.optional(str),
  state: s.optional(toolState),
  time: s.optional(s.looseObject({ start: s.optional(num), end: s.optional(num) })),
  // On `compaction` parts: whether the server compacted on its own.
  auto: s.optional(bool),
});

const sessionStatus = s.looseObject({
  type: str,
  attempt: s.optional(num),
  message: s.optional(str),
  next: s.optional(num),
});

const sessionInfo = s.looseObject({ id: str, parentID: s.optional(str), title: s.optional(str) });

const requestTool = s.optional(s.looseObject({ messageID: str, callID: str }));

const question = s.looseObject({
  question: str,
  header: str,
  options: s.array(s.looseObject({ label: str, description: str })),
  multiple: s.optional(bool),
  custom: s.optional(bool),
});

const empty = s.looseObject({});

/**
 * Consumed event type → the check its `properties` must pass before anyone sees the event (the
 * envelope, `{ type: string, properties: object }`, is checked for every frame by `envelopeProblem`).
 * Each schema covers every field the SDK reads, so readers can rely on the generated types.
 */
export const consumedEventSchemas: ReadonlyMap<string, Shape> = new Map<string, Shape>([
  ["server.connected", empty],
  ["server.heartbeat", empty],
  ["server.instance.disposed", s.looseObject({ directory: str })],
  // Older servers sent only `info` / `part`; the session id is then read from there.
  ["message.updated", s.looseObject({ sessionID: s.optional(str), info: messageInfo })],
  ["message.part.updated", s.looseObject({ sessionID: s.optional(str), part, time: s.optional(num) })],
  ["message.part.delta", s.looseObject({ sessionID: str, messageID: str, partID: str, field: str, delta: str })],
  ["session.created", s.looseObject({ sessionID: s.optional(str), info: sessionInfo })],
  ["session.updated", s.looseObject({ sessionID: s.optional(str), info: sessionInfo })],
  ["session.status", s.looseObject({ sessionID: str, status: sessionStatus })],
  ["session.idle", s.looseObject({ sessionID: str })],
  ["session.error", s.looseObject({ sessionID: s.optional(str), error: s.optional(providerError) })],
  ["session.compacted", s.looseObject({ sessionID: str })],
  // Read by session views.
  ["session.deleted", s.looseObject({ sessionID: s.optional(str), info: sessionInfo })],
  ["message.removed", s.looseObject({ sessionID: str, messageID: str })],
  ["message.part.removed", s.looseObject({ sessionID: str, messageID: str, partID: str })],
  ["todo.updated", s.looseObject({ sessionID: str, todos: s.array(s.looseObject({ content: str, status: str, priority: str })) })],
  [
    "permission.asked",
    s.looseObject({
      id: str,
      sessionID: str,
      permission: str,
      patterns: s.array(str),
      always: s.optional(s.array(str)),
      metadata: s.optional(object),
      tool: requestTool,
    }),
  ],
  ["permission.replied", s.looseObject({ sessionID: str, requestID: str, reply: str })],
  ["question.asked", s.looseObject({ id: str, sessionID: str, questions: s.array(question), tool: requestTool })],
  ["question.replied", s.looseObject({ sessionID: str, requestID: str, answers: s.array(s.array(str)) })],
  ["question.rejected", s.looseObject({ sessionID: str, requestID: str })],
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
  const shape = consumedEventSchemas.get(event.type);
  if (shape === undefined) return undefined;
  const found = s.problems(shape, event.properties, "properties");
  return found.length === 0 ? undefined : found.join("; ");
}

/** True when `properties` passes the shape of `type` (and for types without one). */
export type Accepts = (type: string, properties: unknown) => boolean;

/**
 * The check runs on the hot path (every delta), so the shapes are compiled into one predicate of
 * inline `typeof` tests (no call or allocation per object field); the interpreter runs only when it
 * says no, to word the problem. A `switch` picks the type: hashing each event's fresh type string
 * for a Map lookup costs more.
 */
const acceptsConsumed: Accepts = compileAccepts(consumedEventSchemas);

export function compileAccepts(schemas: ReadonlyMap<string, Shape>): Accepts {
  const cases = [...schemas].map(([type, shape]) => `case ${JSON.stringify(type)}: return ${s.compile(shape, "v")};`);
  try {
    return new Function("t", "v", `"use strict"; switch (t) { ${cases.join(" ")} default: return true; }`) as Accepts;
  } catch {
    // No eval (strict CSP): the same shapes, interpreted.
    return (type, properties) => {
      const shape = schemas.get(type);
      return shape === undefined || s.problems(shape, properties, "", 1).length === 0;
    };
  }
}
