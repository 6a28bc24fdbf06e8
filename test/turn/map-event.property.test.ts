// Property tests of mapEvent over generated opencode-shaped turns: other sessions interleaved
// anywhere, duplicated deltas, lost event windows (a stream gap the Turn marks), garbage.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { applySnapshot, initialTurnState, mapEvent, markGap, type TurnSnapshot, type TurnState } from "../../src/turn/map-event.js";
import type { Reply } from "../../src/turn/replies.js";
import { ev, type EventShape } from "../support/events.js";

const S = "ses_mine";
const U = "msg_user";

interface Generated {
  events: EventShape[];
  finalText: string;
  reasoning: string;
}

/** A turn: optional reasoning part, then a text part, each streamed in the given chunks. */
function turn(sessionID: string, userID: string, assistantID: string, reasoning: string[], text: string[]): Generated {
  const events: EventShape[] = [ev.userMessage(sessionID, userID), ev.part(sessionID, userID, `${userID}_p`, "text", "PROMPT", true)];
  events.push(ev.assistantMessage(sessionID, assistantID, userID));
  const streamPart = (partID: string, type: "text" | "reasoning", chunks: string[]) => {
    events.push(ev.part(sessionID, assistantID, partID, type, ""));
    for (const chunk of chunks) events.push(ev.delta(sessionID, assistantID, partID, chunk));
    events.push(ev.part(sessionID, assistantID, partID, type, chunks.join(""), true));
  };
  if (reasoning.length) streamPart(`${assistantID}_r`, "reasoning", reasoning);
  streamPart(`${assistantID}_t`, "text", text);
  events.push(ev.assistantMessage(sessionID, assistantID, userID, { finish: "stop" }));
  events.push(ev.status(sessionID, { type: "idle" }), ev.idle(sessionID));
  return { events, finalText: text.join(""), reasoning: reasoning.join("") };
}

const chunks = fc.array(fc.string({ minLength: 1, maxLength: 6, unit: "grapheme" }), { minLength: 1, maxLength: 25 });

/** Merges `other` into `mine` at random positions, keeping each sequence's own order. */
function interleave(mine: EventShape[], other: EventShape[], picks: boolean[]): EventShape[] {
  const out: EventShape[] = [];
  let i = 0;
  let j = 0;
  for (const pick of picks) {
    if (pick && j < other.length) out.push(other[j++]!);
    else if (i < mine.length) out.push(mine[i++]!);
  }
  return [...out, ...mine.slice(i), ...other.slice(j)];
}

type Step = { event: EventShape } | { gap: true } | { snapshot: TurnSnapshot };

/** What the server has stored after the first `count` events: latest message infos and part records, and the status. */
function storedAfter(events: EventShape[], count: number): TurnSnapshot {
  const infos = new Map<string, Record<string, unknown>>();
  const parts = new Map<string, Record<string, unknown>[]>();
  let status: TurnSnapshot["status"] = "busy";
  for (const event of events.slice(0, count)) {
    if (event.type === "message.updated") {
      const info = event.properties["info"] as Record<string, unknown>;
      infos.set(info["id"] as string, info);
    } else if (event.type === "message.part.updated") {
      const part = event.properties["part"] as Record<string, unknown>;
      const list = parts.get(part["messageID"] as string) ?? [];
      const at = list.findIndex((p) => p["id"] === part["id"]);
      if (at >= 0) list[at] = part;
      else list.push(part);
      parts.set(part["messageID"] as string, list);
    } else if (event.type === "session.idle") status = "idle";
  }
  return { status, messages: [...infos].map(([id, info]) => ({ info: info as never, parts: (parts.get(id) ?? []) as never })) };
}

function replay(steps: Step[]): { replies: Reply[]; state: TurnState } {
  let state = initialTurnState({ sessionID: S, userMessageID: U });
  const replies: Reply[] = [];
  for (const step of steps) {
    if ("gap" in step) {
      state = markGap(state);
      continue;
    }
    if ("snapshot" in step) {
      const result = applySnapshot(state, step.snapshot);
      state = result.state;
      replies.push(...result.replies);
      continue;
    }
    const result = mapEvent(state, step.event);
    state = result.state;
    replies.push(...result.replies);
  }
  return { replies, state };
}

const joined = (replies: Reply[], kind: "delta" | "reasoning") =>
  replies.flatMap((r) => (r.kind === kind ? [r.text] : [])).join("");

describe("mapEvent properties", () => {
  it("deltas add up to the final text whatever other sessions interleave, duplicates or stream gaps", () => {
    fc.assert(
      fc.property(
        chunks,
        fc.array(fc.string({ minLength: 1, maxLength: 6 }), { maxLength: 8 }),
        chunks,
        fc.array(fc.boolean(), { maxLength: 200 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.option(fc.tuple(fc.nat(), fc.nat({ max: 12 }))),
        (text, reasoning, otherText, picks, duplicates, drop) => {
          const mine = turn(S, U, "msg_a", reasoning, text);
          const other = turn("ses_other", "msg_ou", "msg_oa", [], otherText);
          let steps: Step[] = interleave(mine.events, other.events, picks).map((event) => ({ event }));

          // Duplicate some deltas: each copy re-delivered somewhere later.
          for (const seed of duplicates) {
            const deltas = steps.flatMap((s, i) => ("event" in s && s.event.type === "message.part.delta" ? [i] : []));
            if (!deltas.length) break;
            const at = deltas[seed % deltas.length]!;
            const to = at + 1 + (seed % (steps.length - at));
            steps = [...steps.slice(0, to), steps[at]!, ...steps.slice(to)];
          }
          // A broken connection loses every event in a window; the Turn marks the gap after it.
          // The closing part updates, the final message update and the idle are what survive.
          if (drop) {
            const [startSeed, length] = drop;
            const survives = (s: Step) =>
              !("event" in s) ||
              s.event.type === "session.status" ||
              s.event.type === "session.idle" ||
              (s.event.type === "message.part.updated" && (s.event.properties["part"] as { time?: { end?: number } }).time?.end !== undefined) ||
              (s.event.type === "message.updated" && (s.event.properties["info"] as { finish?: string }).finish !== undefined);
            const from = startSeed % steps.length;
            const window = steps.slice(from, from + length + 1);
            steps = [...steps.slice(0, from), ...window.filter(survives), { gap: true }, ...steps.slice(from + length + 1)];
          }
          let { replies, state } = replay(steps);
          // As the Turn does after a gap: the final waits for a snapshot of what the server stored.
          if (state.needsSnapshot) {
            const result = applySnapshot(state, storedAfter(mine.events, mine.events.length));
            replies = [...replies, ...result.replies];
            state = result.state;
          }
          const terminal = replies.filter((r) => r.kind === "final" || r.kind === "error");
          expect(terminal).toHaveLength(1);
          expect(replies.at(-1)).toMatchObject({ kind: "final", text: mine.finalText });
          expect(joined(replies, "delta")).toBe(mine.finalText);
          expect(joined(replies, "reasoning")).toBe(mine.reasoning);
          expect(replies.every((r) => r.sessionID === S)).toBe(true);
          expect(JSON.stringify(replies)).not.toContain("PROMPT");
          expect(state.done).toBe(true);
        },
      ),
      { numRuns: 400 },
    );
  });

  it("a snapshot read at any moment after a gap and arriving anywhere in the live stream never repeats or loses text", () => {
    fc.assert(
      fc.property(
        chunks,
        fc.array(fc.string({ minLength: 1, maxLength: 6 }), { maxLength: 8 }),
        fc.nat(),
        fc.nat({ max: 15 }),
        fc.nat(),
        fc.nat(),
        (text, reasoning, startSeed, length, readSeed, arriveSeed) => {
          const mine = turn(S, U, "msg_a", reasoning, text);
          const events = mine.events;
          // The connection drops: a window of events is lost, then the gap marker.
          const from = startSeed % events.length;
          const to = Math.min(events.length, from + length + 1);
          const live: Step[] = [...events.slice(0, from).map((event) => ({ event })), { gap: true }];
          // The snapshot is read after the reconnect (it reflects at least every event before it) and
          // its answer lands among the live events that follow, before or after newer ones.
          const readAt = to + (readSeed % (events.length - to + 1));
          const after = events.slice(to).map((event): Step => ({ event }));
          const arriveAt = arriveSeed % (after.length + 1);
          const steps = [...live, ...after.slice(0, arriveAt), { snapshot: storedAfter(events, readAt) }, ...after.slice(arriveAt)];
          let { replies, state } = replay(steps);
          // As the Turn does: an idle it cannot settle from the stream asks for a final snapshot.
          if (state.needsSnapshot) {
            const result = applySnapshot(state, storedAfter(events, events.length));
            replies = [...replies, ...result.replies];
            state = result.state;
          }
          expect(replies.filter((r) => r.kind === "final" || r.kind === "error")).toHaveLength(1);
          expect(replies.at(-1)).toMatchObject({ kind: "final", text: mine.finalText });
          expect(joined(replies, "delta")).toBe(mine.finalText);
          expect(joined(replies, "reasoning")).toBe(mine.reasoning);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("never throws and never replies for another session, whatever JSON arrives", () => {
    const anyEvent = fc.oneof(
      fc.jsonValue(),
      fc.record({
        id: fc.oneof(fc.string(), fc.constant(undefined)),
        type: fc.constantFrom("message.updated", "message.part.updated", "message.part.delta", "session.status", "session.idle",
          "session.error", "permission.asked", "server.heartbeat", "x.unknown"),
        properties: fc.oneof(
          fc.jsonValue(),
          fc.record({
            sessionID: fc.constantFrom(S, "ses_other", undefined, 5),
            messageID: fc.constantFrom("msg_a", U, "__proto__", undefined),
            partID: fc.constantFrom("prt_1", "constructor", undefined),
            field: fc.constantFrom("text", "input", undefined),
            delta: fc.oneof(fc.string(), fc.integer()),
            info: fc.oneof(fc.jsonValue(), fc.record({ id: fc.constantFrom("msg_a", U), sessionID: fc.constantFrom(S, "ses_other"),
              role: fc.constantFrom("user", "assistant", "x"), parentID: fc.constantFrom(U, "msg_x"), error: fc.jsonValue() })),
            part: fc.oneof(fc.jsonValue(), fc.record({ id: fc.constantFrom("prt_1", "prt_2"), messageID: fc.constantFrom("msg_a", U),
              sessionID: fc.constantFrom(S, "ses_other"), type: fc.constantFrom("text", "reasoning", "tool", "file"),
              text: fc.oneof(fc.string(), fc.constant(null)), state: fc.jsonValue() })),
            status: fc.oneof(fc.jsonValue(), fc.record({ type: fc.constantFrom("idle", "busy", "retry"), attempt: fc.jsonValue() })),
            error: fc.jsonValue(),
          }),
        ),
      }),
    );
    fc.assert(
      fc.property(fc.array(anyEvent, { maxLength: 60 }), (events) => {
        let state = initialTurnState({ sessionID: S, userMessageID: U });
        for (const event of events) {
          const result = mapEvent(state, event);
          for (const reply of result.replies) expect(reply.sessionID).toBe(S);
          state = result.state;
        }
        expect(state.heldCount).toBeLessThanOrEqual(events.length);
      }),
      { numRuns: 500 },
    );
  });
});
