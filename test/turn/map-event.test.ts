// mapEvent over hand-built event sequences: each server trap from design.md has a test.
import { describe, expect, it } from "vitest";
import {
  applySnapshot,
  initialTurnState,
  lastAssistantText,
  mapEvent,
  markGap,
  unfinishedWhileIdle,
  type TurnState,
} from "../../src/turn/map-event.js";
import { AbortedError, OutputLengthError, RateLimitError, StoppedAfterToolCallsError } from "../../src/turn/errors.js";
import type { Reply } from "../../src/turn/replies.js";
import { ev, finished, type EventShape } from "../support/events.js";

const S = "ses_a";
const U = "msg_user1";
const A = "msg_asst1";

function run(events: unknown[], state: TurnState = initialTurnState({ sessionID: S, userMessageID: U })) {
  const replies: Reply[] = [];
  for (const event of events) {
    const result = mapEvent(state, event);
    state = result.state;
    replies.push(...result.replies);
  }
  return { state, replies };
}

const texts = (replies: Reply[], kind: "delta" | "reasoning") =>
  replies.flatMap((r) => (r.kind === kind ? [r.text] : [])).join("");

/** A text turn: user prompt, assistant message, streamed text, closing update, idle twice. */
function textTurn(text: string, chunks: string[]): EventShape[] {
  return [
    ev.userMessage(S, U),
    ev.part(S, U, "prt_user", "text", "the user's prompt", true),
    ev.status(S, { type: "busy" }),
    ev.assistantMessage(S, A, U),
    ev.part(S, A, "prt_t1", "text", ""),
    ...chunks.map((c) => ev.delta(S, A, "prt_t1", c)),
    ev.part(S, A, "prt_t1", "text", text, true),
    ev.assistantMessage(S, A, U, {
      finish: "stop",
      cost: 0.25,
      tokens: { input: 10, output: 5, reasoning: 2, cache: { read: 3, write: 1 } },
      time: { created: 2_000, completed: 2_500 },
    }),
    ev.status(S, { type: "idle" }),
    ev.idle(S),
  ];
}

describe("mapEvent", () => {
  it("streams text deltas and ends with one final carrying text, finish, usage and who answered", () => {
    const { replies } = run(textTurn("Hello world", ["Hel", "lo ", "world"]));
    expect(replies.map((r) => r.kind)).toEqual(["delta", "delta", "delta", "final"]);
    expect(texts(replies, "delta")).toBe("Hello world");
    expect(replies.at(-1)).toEqual({
      kind: "final",
      sessionID: S,
      messageID: A,
      text: "Hello world",
      finish: "stop",
      usage: { input: 10, output: 5, reasoning: 2, cacheRead: 3, cacheWrite: 1, cost: 0.25, contextUsed: 21 },
      subagentUsage: { input: 0, output: 0, reasoning: 0, cacheRead: 0, cacheWrite: 0, cost: 0 },
      model: { providerID: "p", modelID: "m" },
      agent: "build",
    });
  });

  it("never echoes the user's own prompt", () => {
    const { replies } = run(textTurn("Hi", ["Hi"]));
    expect(JSON.stringify(replies)).not.toContain("the user's prompt");
  });

  it("reasoning never leaks into delta text although both deltas say field text", () => {
    const { replies } = run([
      ev.userMessage(S, U),
      ev.assistantMessage(S, A, U),
      ev.part(S, A, "prt_r", "reasoning", ""),
      ev.delta(S, A, "prt_r", "thinking..."),
      ev.part(S, A, "prt_r", "reasoning", "thinking...", true),
      ev.part(S, A, "prt_t", "text", ""),
      ev.delta(S, A, "prt_t", "Answer"),
      ev.part(S, A, "prt_t", "text", "Answer", true),
      ev.assistantMessage(S, A, U, finished()), ev.idle(S),
    ]);
    expect(texts(replies, "reasoning")).toBe("thinking...");
    expect(texts(replies, "delta")).toBe("Answer");
    expect(replies.at(-1)).toMatchObject({ kind: "final", text: "Answer" });
  });

  it("holds a delta for a part whose type is not known yet, then classifies it", () => {
    const { replies } = run([
      ev.userMessage(S, U),
      ev.assistantMessage(S, A, U),
      ev.delta(S, A, "prt_r", "early thought"),
      ev.part(S, A, "prt_r", "reasoning", ""),
      ev.idle(S),
    ]);
    expect(replies[0]).toMatchObject({ kind: "reasoning", text: "early thought" });
  });

  it("holds events of a message whose role is not known yet", () => {
    const { replies } = run([
      ev.userMessage(S, U),
      ev.part(S, A, "prt_t", "text", ""),
      ev.delta(S, A, "prt_t", "late"),
      ev.assistantMessage(S, A, U),
      ev.idle(S),
    ]);
    expect(texts(replies, "delta")).toBe("late");
  });

  it("fills a gap from the closing update with only the missing suffix", () => {
    const { replies } = run([
      ev.userMessage(S, U),
      ev.assistantMessage(S, A, U),
      ev.part(S, A, "prt_t", "text", ""),
      ev.delta(S, A, "prt_t", "Hello"),
      ev.part(S, A, "prt_t", "text", "Hello world", true),
      ev.assistantMessage(S, A, U, finished()), ev.idle(S),
    ]);
    expect(replies.filter((r) => r.kind === "delta").map((r) => (r as { text: string }).text)).toEqual(["Hello", " world"]);
    expect(replies.at(-1)).toMatchObject({ kind: "final", text: "Hello world" });
  });

  it("never emits a duplicated delta twice", () => {
    const d = ev.delta(S, A, "prt_t", "once");
    const { replies } = run([ev.userMessage(S, U), ev.assistantMessage(S, A, U), ev.part(S, A, "prt_t", "text", ""), d, d, ev.idle(S)]);
    expect(texts(replies, "delta")).toBe("once");
  });

  it("ignores other sessions and assistant messages of other turns", () => {
    const { replies } = run([
      ev.userMessage(S, U),
      ev.assistantMessage("ses_other", "msg_o", U),
      ev.part("ses_other", "msg_o", "prt_o", "text", "other session", true),
      ev.assistantMessage(S, "msg_prev", "msg_previous_user"),
      ev.part(S, "msg_prev", "prt_p", "text", "previous turn", true),
      ev.idle("ses_other"),
      ev.assistantMessage(S, A, U),
      ev.part(S, A, "prt_t", "text", "mine", true),
      ev.assistantMessage(S, A, U, finished()), ev.idle(S),
    ]);
    expect(replies.map((r) => r.kind)).toEqual(["delta", "final"]);
    expect(texts(replies, "delta")).toBe("mine");
  });

  it("an idle while the answer is unfinished waits; the abort error right after it ends the turn (servers before 1.14)", () => {
    const { replies, state } = run([
      ev.userMessage(S, U),
      ev.assistantMessage(S, A, U),
      ev.part(S, A, "prt_t", "text", ""),
      ev.delta(S, A, "prt_t", "one two"),
      ev.status(S, { type: "idle" }),
      ev.idle(S),
      ev.error(S, { name: "MessageAbortedError", data: { message: "The operation was aborted." } }),
    ]);
    expect(replies.map((r) => r.kind)).toEqual(["delta", "error"]);
    expect((replies.at(-1) as { error: unknown }).error).toBeInstanceOf(AbortedError);
    expect(state.done).toBe(true);
  });

  it("an idle while the answer is unfinished is settled by the answer's completion that follows", () => {
    const { replies } = run([
      ev.userMessage(S, U),
      ev.assistantMessage(S, A, U),
      ev.part(S, A, "prt_t", "text", "Late.", true),
      ev.idle(S),
      ev.assistantMessage(S, A, U, finished()),
    ]);
    expect(replies.map((r) => r.kind)).toEqual(["delta", "final"]);
  });

  it("an idle before this turn's prompt was taken up does not end the turn", () => {
    const { replies, state } = run([ev.idle(S), ev.status(S, { type: "idle" })]);
    expect(replies).toEqual([]);
    expect(state.done).toBe(false);
  });

  it("takes the first of session.status idle and session.idle and ignores the repeat", () => {
    const { replies } = run(textTurn("x", ["x"]));
    expect(replies.filter((r) => r.kind === "final")).toHaveLength(1);
  });

  it("reports each tool status once and keeps a visible 'unknown' name", () => {
    const { replies } = run([
      ev.userMessage(S, U),
      ev.assistantMessage(S, A, U),
      ev.tool(S, A, "prt_tool", "call_1", "bash", { status: "pending", input: {}, raw: "" }),
      ev.tool(S, A, "prt_tool", "call_1", "bash", { status: "running", input: { command: "ls" }, time: { start: 1 } }),
      ev.tool(S, A, "prt_tool", "call_1", "bash", { status: "running", input: { command: "ls" }, metadata: { output: "a" }, time: { start: 1 } }),
      ev.tool(S, A, "prt_tool", "call_1", "bash", {
        status: "completed",
        input: { command: "ls" },
        output: "a\nb",
        title: "ls",
        metadata: { exit: 0 },
        time: { start: 1, end: 2 },
      }),
      ev.tool(S, A, "prt_tool", "call_1", "bash", { status: "completed", input: {}, output: "again", title: "", metadata: {}, time: { start: 1, end: 2 } }),
      ev.tool(S, A, "prt_t2", "call_2", undefined, { status: "error", input: {}, error: "boom", time: { start: 1, end: 2 } }),
      ev.assistantMessage(S, A, U, finished()), ev.idle(S),
    ]);
    expect(replies.map((r) => r.kind)).toEqual(["tool_call", "tool_call", "tool_call", "tool_result", "tool_result", "final"]);
    expect(replies[1]).toMatchObject({ kind: "tool_call", status: "running", callID: "call_1", tool: "bash", input: { command: "ls" } });
    // The running output snapshot is an update of the same call, not a new status.
    expect(replies[2]).toMatchObject({ kind: "tool_call", status: "running", callID: "call_1", metadata: { output: "a" } });
    expect(replies[3]).toMatchObject({ kind: "tool_result", status: "completed", output: "a\nb", metadata: { exit: 0 } });
    expect(replies[4]).toMatchObject({ kind: "tool_result", status: "error", tool: "unknown", error: "boom" });
  });

  it("a step finishing with tool-calls does not end the turn; the next step's answer is the final", () => {
    const { replies } = run([
      ev.userMessage(S, U),
      ev.assistantMessage(S, "msg_a1", U),
      ev.part(S, "msg_a1", "prt_1", "text", "Looking.", true),
      ev.assistantMessage(S, "msg_a1", U, finished({ finish: "tool-calls" })),
      ev.status(S, { type: "busy" }),
      ev.assistantMessage(S, "msg_a2", U),
      ev.part(S, "msg_a2", "prt_2", "text", "Found it.", true),
      ev.assistantMessage(S, "msg_a2", U, finished()),
      ev.idle(S),
    ]);
    expect(replies.filter((r) => r.kind === "final" || r.kind === "error")).toHaveLength(1);
    expect(replies.at(-1)).toMatchObject({ kind: "final", text: "Found it.", messageID: "msg_a2" });
  });

  it("a turn whose last step asked for tools and then went idle is StoppedAfterToolCallsError, not an empty final", () => {
    const { replies } = run([
      ev.userMessage(S, U),
      ev.assistantMessage(S, A, U),
      ev.part(S, A, "prt_1", "text", "Running it.", true),
      ev.tool(S, A, "prt_tool", "call_1", "bash", { status: "error", input: { command: "ls" }, error: "rejected", time: { start: 1, end: 2 } }),
      ev.assistantMessage(S, A, U, finished({ finish: "tool-calls" })),
      ev.idle(S),
    ]);
    const last = replies.at(-1);
    expect(last?.kind).toBe("error");
    expect(last?.kind === "error" && last.error).toBeInstanceOf(StoppedAfterToolCallsError);
    expect(last?.kind === "error" && (last.error as StoppedAfterToolCallsError).partialText).toBe("Running it.");
  });

  it("a structured-output answer ends with tool-calls by design: it is the final, with its value", () => {
    const { replies } = run([
      ev.userMessage(S, U),
      ev.assistantMessage(S, A, U),
      ev.part(S, A, "prt_1", "text", "Looking it up.", true),
      ev.assistantMessage(S, A, U, finished({ finish: "tool-calls", structured: { answer: 42 } })),
      ev.idle(S),
    ]);
    expect(replies.at(-1)).toMatchObject({ kind: "final", text: "Looking it up.", finish: "tool-calls", structured: { answer: 42 } });
  });

  it("sums usage over all assistant messages of a multi-step turn; final text is the last message's", () => {
    const usage = (n: number) => ({ cost: n, tokens: { input: n, output: n, reasoning: 0, cache: { read: 0, write: 0 } } });
    const { replies } = run([
      ev.userMessage(S, U),
      ev.assistantMessage(S, "msg_a1", U),
      ev.part(S, "msg_a1", "prt_1", "text", "Let me check.", true),
      ev.assistantMessage(S, "msg_a1", U, { finish: "tool-calls", ...usage(1) }),
      ev.assistantMessage(S, "msg_a2", U),
      ev.part(S, "msg_a2", "prt_2", "text", "Done.", true),
      ev.assistantMessage(S, "msg_a2", U, { finish: "stop", ...usage(2) }),
      ev.idle(S),
    ]);
    expect(replies.at(-1)).toMatchObject({
      kind: "final",
      messageID: "msg_a2",
      text: "Done.",
      finish: "stop",
      usage: { input: 3, output: 3, cost: 3 },
    });
  });

  it("session.error ends the turn with one classified error reply", () => {
    const { replies, state } = run([
      ev.userMessage(S, U),
      ev.error(S, { name: "APIError", data: { message: "slow down", statusCode: 429, isRetryable: true, responseHeaders: { "retry-after": "5" } } }),
      ev.assistantMessage(S, A, U, { error: { name: "APIError", data: { message: "slow down", statusCode: 429, isRetryable: true } } }),
      ev.idle(S),
    ]);
    expect(replies.map((r) => r.kind)).toEqual(["error"]);
    const error = (replies[0] as { error: unknown }).error as RateLimitError;
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error.resetAt.getTime()).toBe(1_000 + 5_000); // from the latest server timestamp, not a clock
    expect(state.done && state.settled).toBe(true);
  });

  it("assistant info.error is a terminal error with the partial text", () => {
    const { replies } = run([
      ev.userMessage(S, U),
      ev.assistantMessage(S, A, U),
      ev.part(S, A, "prt_t", "text", "Half an ans"),
      ev.assistantMessage(S, A, U, { error: { name: "MessageOutputLengthError", data: {} } }),
    ]);
    const error = (replies.at(-1) as { error: unknown }).error as OutputLengthError;
    expect(error).toBeInstanceOf(OutputLengthError);
    expect(error.partialText).toBe("Half an ans");
  });

  it("an abort is an AbortedError", () => {
    const { replies } = run([ev.userMessage(S, U), ev.error(S, { name: "MessageAbortedError", data: { message: "Aborted" } })]);
    expect((replies[0] as { error: unknown }).error).toBeInstanceOf(AbortedError);
  });

  it("turns retry status and permission requests into replies, each permission once", () => {
    const { replies } = run([
      ev.userMessage(S, U),
      ev.status(S, { type: "retry", attempt: 2, message: "overloaded", next: 9_999 }),
      ev.permission(S, "per_1"),
      ev.permission(S, "per_1"),
      ev.permission("ses_other", "per_2"),
    ]);
    expect(replies).toEqual([
      { kind: "retry", sessionID: S, attempt: 2, message: "overloaded", next: 9_999, discarded: [] },
      { kind: "permission", sessionID: S, id: "per_1", permission: "bash", patterns: ["echo hi"], always: ["echo *"], metadata: {} },
    ]);
  });

  it("never throws and gives no replies for garbage", () => {
    const garbage = [null, undefined, 1, "x", [], {}, { type: "message.part.delta" }, { type: "message.part.delta", properties: null },
      { type: "message.updated", properties: { info: { id: 5, role: "assistant" } } }, { type: "session.error", properties: { sessionID: S, error: "x" } },
      { type: "message.part.updated", properties: { sessionID: S, part: { id: "__proto__", messageID: "__proto__" } } }];
    const { replies } = run(garbage);
    expect(replies).toEqual([]);
  });

  it("does not mutate its inputs", () => {
    const state = run([ev.userMessage(S, U), ev.assistantMessage(S, A, U), ev.part(S, A, "prt_t", "text", "")]).state;
    const event = ev.delta(S, A, "prt_t", "abc");
    const stateCopy = structuredClone({ ...state, seenDeltas: null });
    const eventCopy = structuredClone(event);
    const first = mapEvent(state, event);
    expect({ ...state, seenDeltas: null }).toEqual(stateCopy);
    expect(event).toEqual(eventCopy);
    // Same inputs, same outputs, even after the state was stepped once.
    expect(mapEvent(state, event).replies).toEqual(first.replies);
  });
});

describe("recovery after a gap", () => {
  const start = [ev.userMessage(S, U), ev.assistantMessage(S, A, U), ev.part(S, A, "prt_t", "text", "")];
  const info = (event: EventShape) => event.properties["info"] as never;
  const part = (event: EventShape) => event.properties["part"] as never;

  it("a stale part emits only the missing text from its next live update", () => {
    let { state, replies } = run([...start, ev.delta(S, A, "prt_t", "Hel")]);
    state = markGap(state);
    // The snapshot the Turn reads after the gap: the part is still streaming (1.18 stores no partial text).
    const snap = applySnapshot(state, {
      status: "busy",
      messages: [{ info: info(ev.assistantMessage(S, A, U)), parts: [part(ev.part(S, A, "prt_t", "text", ""))] }],
    });
    const after = run([ev.delta(S, A, "prt_t", "ld"), ev.part(S, A, "prt_t", "text", "Hello world", true), ev.assistantMessage(S, A, U, finished()), ev.idle(S)], snap.state);
    const all = [...replies, ...snap.replies, ...after.replies];
    expect(texts(all, "delta")).toBe("Hello world");
    expect(all.at(-1)).toMatchObject({ kind: "final", text: "Hello world" });
  });

  it("an idle after a gap waits for a snapshot: a part that lived only inside the gap would be missing", () => {
    let { state } = run([ev.userMessage(S, U), ev.assistantMessage(S, A, U)]);
    state = markGap(state);
    const idle = run([ev.assistantMessage(S, A, U, { finish: "stop" }), ev.idle(S)], state);
    expect(idle.replies).toEqual([]);
    expect(idle.state.needsSnapshot).toBe(true);
    const snap = applySnapshot(idle.state, {
      status: "idle",
      messages: [{ info: info(ev.assistantMessage(S, A, U, { finish: "stop" })), parts: [part(ev.part(S, A, "prt_gap", "text", "Whole part", true))] }],
    });
    expect(snap.replies.map((r) => r.kind)).toEqual(["delta", "final"]);
    expect(snap.replies.at(-1)).toMatchObject({ text: "Whole part" });
  });

  it.each([
    ["older than the in-flight deltas", "Hello"],
    ["including some in-flight deltas", "Hello wo"],
    ["including every in-flight delta", "Hello world"],
  ])("a snapshot of a still-streaming part (%s) never makes text repeat", (_, stored) => {
    let { state, replies } = run([...start, ev.delta(S, A, "prt_t", "Hell")]);
    state = markGap(state);
    ({ state } = run([ev.delta(S, A, "prt_t", " wo")], state));
    const snap = applySnapshot(state, {
      status: "busy",
      messages: [{ info: info(ev.assistantMessage(S, A, U)), parts: [part(ev.part(S, A, "prt_t", "text", stored))] }],
    });
    const rest = run([ev.delta(S, A, "prt_t", "rld"), ev.part(S, A, "prt_t", "text", "Hello world", true), ev.assistantMessage(S, A, U, finished()), ev.idle(S)], snap.state);
    const all = [...replies, ...snap.replies, ...rest.replies];
    expect(texts(all, "delta")).toBe("Hello world");
    expect(all.filter((r) => r.kind === "final")).toHaveLength(1);
  });

  it("a snapshot emits the text of parts that finished during the gap, and parts it had never seen", () => {
    let { state, replies } = run([...start, ev.delta(S, A, "prt_t", "Hi")]);
    state = markGap(state);
    const snap = applySnapshot(state, {
      status: "busy",
      messages: [
        {
          info: info(ev.assistantMessage(S, A, U)),
          parts: [part(ev.part(S, A, "prt_t", "text", "Hi there", true)), part(ev.part(S, A, "prt_new", "text", "More", true))],
        },
      ],
    });
    expect(texts([...replies, ...snap.replies], "delta")).toBe("Hi thereMore");
  });

  it("an idle while a part is stale waits for a final snapshot instead of guessing", () => {
    let { state, replies } = run([...start, ev.delta(S, A, "prt_t", "Hi")]);
    state = markGap(state);
    const idle = run([ev.idle(S)], state);
    expect(idle.replies).toEqual([]);
    expect(idle.state.needsSnapshot).toBe(true);
    const snap = applySnapshot(idle.state, {
      status: "idle",
      messages: [
        {
          info: info(ev.assistantMessage(S, A, U, { finish: "stop" })),
          parts: [part(ev.part(S, A, "prt_t", "text", "Hi there"))],
        },
      ],
    });
    const all = [...replies, ...snap.replies];
    expect(texts(all, "delta")).toBe("Hi there");
    expect(all.at(-1)).toMatchObject({ kind: "final", text: "Hi there", finish: "stop" });
    expect(snap.state.done).toBe(true);
  });

  it("a snapshot taken after the turn ended emits the missing text and the final once", () => {
    let { state, replies } = run([...start, ev.delta(S, A, "prt_t", "Hi")]);
    state = markGap(state);
    const snapshot = {
      status: "idle" as const,
      messages: [
        { info: info(ev.userMessage(S, U)), parts: [part(ev.part(S, U, "prt_u", "text", "prompt", true))] },
        { info: info(ev.assistantMessage(S, A, U, { finish: "stop" })), parts: [part(ev.part(S, A, "prt_t", "text", "Hi there", true))] },
      ],
    };
    const snap = applySnapshot(state, snapshot);
    const again = applySnapshot(snap.state, snapshot);
    const all = [...replies, ...snap.replies, ...again.replies];
    expect(texts(all, "delta")).toBe("Hi there");
    expect(all.filter((r) => r.kind === "final")).toHaveLength(1);
    expect(JSON.stringify(all)).not.toContain("prompt");
  });

  it("an idle snapshot whose stored turn never finished is not a final: the Turn must look again", () => {
    let { state, replies } = run([...start, ev.delta(S, A, "prt_t", "Half")]);
    state = markGap(state);
    const snap = applySnapshot(state, {
      status: "idle",
      messages: [
        { info: info(ev.userMessage(S, U)), parts: [] },
        { info: info(ev.assistantMessage(S, A, U)), parts: [part(ev.part(S, A, "prt_t", "text", "Half a repl"))] },
      ],
    });
    const all = [...replies, ...snap.replies];
    expect(texts(all, "delta")).toBe("Half a repl");
    expect(all.some((r) => r.kind === "final" || r.kind === "error")).toBe(false);
    expect(unfinishedWhileIdle(snap.state)).toBe(true);
    expect(lastAssistantText(snap.state)).toBe("Half a repl");
  });

  it("an idle snapshot of a turn that finished during the gap is its final, not an interruption", () => {
    const { state } = run(start);
    const snap = applySnapshot(markGap(state), {
      status: "idle",
      messages: [
        {
          info: info(ev.assistantMessage(S, A, U, { time: { created: 2_000, completed: 2_100 } })),
          parts: [part(ev.part(S, A, "prt_t", "text", "Complete.", true))],
        },
      ],
    });
    expect(snap.replies.at(-1)).toMatchObject({ kind: "final", text: "Complete." });
  });
});


describe("snapshots with parts that carry no text", () => {
  it("tool and step parts first seen in a snapshot never hold the final back", () => {
    const S2 = "ses_b";
    let state = initialTurnState({ sessionID: S2, userMessageID: U });
    state = mapEvent(state, ev.userMessage(S2, U)).state;
    state = markGap(state);
    const assistant = ev.assistantMessage(S2, A, U, { finish: "stop", time: { created: 2_000, completed: 2_500 } }).properties["info"];
    const result = applySnapshot(state, {
      status: "idle",
      messages: [
        {
          info: assistant as never,
          parts: [
            { id: "prt_step", sessionID: S2, messageID: A, type: "step-start" } as never,
            ev.tool(S2, A, "prt_tool", "call_1", "bash", { status: "completed", input: {}, output: "x", title: "", metadata: {}, time: { start: 1, end: 2 } }).properties["part"] as never,
            ev.part(S2, A, "prt_t", "text", "All done.", true).properties["part"] as never,
          ],
        },
      ],
    });
    expect(result.replies.at(-1)).toMatchObject({ kind: "final", text: "All done." });
  });
});

describe("compaction", () => {
  const C = "msg_compaction";
  const K = "msg_continue";
  const compacted = (auto: boolean, rest: EventShape[]) =>
    run([
      ev.userMessage(S, U),
      ev.assistantMessage(S, A, U),
      ev.part(S, A, "prt_t", "text", "Before.", true),
      ev.assistantMessage(S, A, U, finished({ finish: "tool-calls", cost: 1 })),
      ev.userMessage(S, C),
      ev.compactionPart(S, C, auto),
      ev.assistantMessage(S, "msg_summary", C, { summary: true }),
      ev.part(S, "msg_summary", "prt_sum", "text", "Summary of it all.", true),
      ev.assistantMessage(S, "msg_summary", C, finished({ summary: true, cost: 2 })),
      ...rest,
    ]);

  it("an automatic compaction: the turn follows the synthetic continuation; the summary is not its text", () => {
    const { replies } = compacted(true, [
      ev.userMessage(S, K),
      ev.syntheticText(S, K, "Continue if you have next steps."),
      ev.assistantMessage(S, "msg_after", K),
      ev.part(S, "msg_after", "prt_after", "text", "After.", true),
      ev.assistantMessage(S, "msg_after", K, finished({ cost: 4 })),
      ev.idle(S),
    ]);
    expect(replies.map((r) => r.kind)).toEqual(["delta", "compaction", "delta", "final"]);
    expect(replies[1]).toEqual({ kind: "compaction", sessionID: S, auto: true, messageID: C });
    expect(replies.at(-1)).toMatchObject({ kind: "final", text: "After.", messageID: "msg_after", usage: { cost: 7 } });
    expect(JSON.stringify(replies)).not.toContain("Summary of it all.");
  });

  it("a compaction the app asked for (summarize) mid-turn is reported, and the turn ends with its own last answer", () => {
    const { replies } = compacted(false, [ev.idle(S)]);
    expect(replies.map((r) => r.kind)).toEqual(["delta", "compaction", "final"]);
    expect(replies[1]).toMatchObject({ kind: "compaction", auto: false });
    expect(replies.at(-1)).toMatchObject({ kind: "final", text: "Before.", usage: { cost: 3 } });
  });

  it("another client's prompt queued during the turn is never taken for a continuation", () => {
    const { replies } = run([
      ev.userMessage(S, U),
      ev.assistantMessage(S, A, U),
      ev.part(S, A, "prt_t", "text", "Mine.", true),
      ev.assistantMessage(S, A, U, finished()),
      ev.userMessage(S, "msg_theirs"),
      ev.part(S, "msg_theirs", "prt_theirs", "text", "their prompt", true),
      ev.assistantMessage(S, "msg_their_answer", "msg_theirs"),
      ev.part(S, "msg_their_answer", "prt_ta", "text", "Theirs.", true),
      ev.assistantMessage(S, "msg_their_answer", "msg_theirs", finished()),
      ev.idle(S),
    ]);
    expect(replies.at(-1)).toMatchObject({ kind: "final", text: "Mine." });
    expect(JSON.stringify(replies)).not.toContain("Theirs.");
  });
});

describe("snapshots hold only this turn", () => {
  const info = (event: EventShape) => event.properties["info"] as never;
  const part = (event: EventShape) => event.properties["part"] as never;
  const stored = (event: EventShape, parts: EventShape[] = []) => ({ info: info(event), parts: parts.map(part) });

  it("an earlier turn's compaction in the snapshot never makes that turn's answer this turn's final", () => {
    // Ids sort as the server makes them: the earlier turn's messages, then this turn's prompt.
    const [U0, C0, SUM, K0, OLD, MINE, ME] = ["msg_01", "msg_02", "msg_03", "msg_04", "msg_05", "msg_06", "msg_07"];
    let state = initialTurnState({ sessionID: S, userMessageID: MINE });
    state = mapEvent(state, ev.userMessage(S, MINE)).state;
    state = markGap(state);
    const result = applySnapshot(state, {
      status: "idle",
      messages: [
        stored(ev.userMessage(S, U0)),
        stored(ev.userMessage(S, C0), [ev.compactionPart(S, C0, true)]),
        stored(ev.assistantMessage(S, SUM, C0, finished({ summary: true })), [ev.part(S, SUM, "prt_sum", "text", "Summary.", true)]),
        stored(ev.userMessage(S, K0), [ev.syntheticText(S, K0, "Continue if you have next steps.")]),
        stored(ev.assistantMessage(S, OLD, K0, finished({ cost: 5 })), [ev.part(S, OLD, "prt_old", "text", "The old answer.", true)]),
        stored(ev.userMessage(S, MINE), [ev.part(S, MINE, "prt_mine", "text", "my prompt", true)]),
        stored(ev.assistantMessage(S, ME, MINE, finished({ cost: 1 })), [ev.part(S, ME, "prt_me", "text", "My answer.", true)]),
      ],
    });
    expect(result.replies.map((r) => r.kind)).toEqual(["delta", "final"]);
    expect(result.replies.at(-1)).toMatchObject({ kind: "final", text: "My answer.", messageID: ME, usage: { cost: 1 } });
    expect(result.state.maxMessageID).toBe(ME);
  });

  it("without an answer of its own the turn stays unanswered, not ended by an earlier turn's answer", () => {
    const [C0, K0, OLD, MINE] = ["msg_02", "msg_04", "msg_05", "msg_06"];
    let state = initialTurnState({ sessionID: S, userMessageID: MINE });
    state = mapEvent(state, ev.userMessage(S, MINE)).state;
    state = markGap(state);
    const result = applySnapshot(state, {
      status: "idle",
      messages: [
        stored(ev.userMessage(S, C0), [ev.compactionPart(S, C0, true)]),
        stored(ev.userMessage(S, K0), [ev.syntheticText(S, K0, "Continue.")]),
        stored(ev.assistantMessage(S, OLD, K0, finished()), [ev.part(S, OLD, "prt_old", "text", "The old answer.", true)]),
        stored(ev.userMessage(S, MINE)),
      ],
    });
    expect(result.replies).toEqual([]);
    expect(unfinishedWhileIdle(result.state)).toBe(true);
  });
});

describe("stale snapshots", () => {
  const info = (event: EventShape) => event.properties["info"] as never;
  const part = (event: EventShape) => event.properties["part"] as never;
  const usage = { input: 10, output: 5, reasoning: 0, cache: { read: 0, write: 0 } };

  it("a snapshot older than the live usage never resets it to 0", () => {
    const live = run([
      ev.userMessage(S, U),
      ev.assistantMessage(S, A, U),
      ev.part(S, A, "prt_t", "text", "Done.", true),
      ev.assistantMessage(S, A, U, finished({ tokens: usage, cost: 0.5 })),
    ]);
    // Read before the step finished: no tokens stored yet.
    const snap = applySnapshot(live.state, { status: "busy", messages: [{ info: info(ev.assistantMessage(S, A, U)), parts: [] }] });
    const end = run([ev.idle(S)], snap.state);
    expect(end.replies.at(-1)).toMatchObject({ kind: "final", usage: { input: 10, output: 5, cost: 0.5 } });
  });

  it("a snapshot whose text is behind what streamed never rolls the part back", () => {
    const live = run([ev.userMessage(S, U), ev.assistantMessage(S, A, U), ev.part(S, A, "prt_t", "text", ""), ev.delta(S, A, "prt_t", "Hello"), ev.delta(S, A, "prt_t", " world")]);
    // An idle snapshot taken while the part held less text (servers that store partial text).
    const snap = applySnapshot(live.state, { status: "idle", messages: [{ info: info(ev.assistantMessage(S, A, U)), parts: [part(ev.part(S, A, "prt_t", "text", "Hello"))] }] });
    // The next delta still streams at once (the part was not closed on the stale text)...
    const next = run([ev.delta(S, A, "prt_t", "!")], snap.state);
    expect(next.replies).toMatchObject([{ kind: "delta", text: "!" }]);
    // ...and nothing is emitted twice.
    const after = run([ev.part(S, A, "prt_t", "text", "Hello world!", true), ev.assistantMessage(S, A, U, finished()), ev.idle(S)], next.state);
    after.replies.unshift(...next.replies);
    expect(texts([...live.replies, ...snap.replies, ...after.replies], "delta")).toBe("Hello world!");
    expect(after.replies.at(-1)).toMatchObject({ kind: "final", text: "Hello world!" });
  });
});

describe("servers that send no completing message.updated", () => {
  it("an idle after this turn's finished step ends it (1.18.31 after an abort)", () => {
    const { replies, state } = run([
      ev.userMessage(S, U),
      ev.status(S, { type: "busy" }),
      ev.assistantMessage(S, A, U),
      ev.part(S, A, "prt_t", "text", "Partial", true),
      ev.stepFinish(S, A, "stop"),
      ev.status(S, { type: "idle" }),
      ev.idle(S),
    ]);
    expect(replies.at(-1)).toMatchObject({ kind: "final", text: "Partial", finish: "stop" });
    expect(state.done).toBe(true);
  });

  it("a step that finished only in another turn's message does not end this one", () => {
    const { replies } = run([ev.userMessage(S, U), ev.assistantMessage(S, A, U), ev.stepFinish(S, "msg_other", "stop"), ev.idle(S)]);
    expect(replies.filter((r) => r.kind === "final")).toEqual([]);
  });
});
