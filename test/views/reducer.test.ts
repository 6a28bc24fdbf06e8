// The session view's reducer and store runtime without a server: the cases a real server produces
// only by chance (shrinking bash output, a todo list racing its fetch, a part removed, the pre-1.14
// permission events), structural sharing, and coalesced notifications.
import { describe, expect, it } from "vitest";
import type { components } from "../../generated/opencode.js";
import type { EventSubscription } from "../../src/events/subscription.js";
import { STREAM_GAP, type Event, type StreamGap } from "../../src/events/types.js";
import type { StoredMessage } from "../../src/session/session.js";
import { LiveStore } from "../../src/views/live-store.js";
import { initialSessionState, mergeHistory, prependHistory, reduceSession, type SessionViewState } from "../../src/views/session-state.js";

type Part = components["schemas"]["Part"];
const S = "ses_view";
let n = 0;
const ev = (type: string, properties: Record<string, unknown>) => ({ id: `evt_${String(++n).padStart(6, "0")}`, type, properties }) as unknown as Event;
const userInfo = (id: string) => ({ id, sessionID: S, role: "user", time: { created: 1 }, agent: "build", model: { providerID: "p", modelID: "m" } });
const assistantInfo = (id: string, parentID: string, output = 0) => ({
  id,
  sessionID: S,
  role: "assistant",
  parentID,
  time: { created: 2 },
  modelID: "m",
  providerID: "p",
  mode: "build",
  agent: "build",
  path: { cwd: "/", root: "/" },
  cost: 0,
  tokens: { input: 1, output, reasoning: 0, cache: { read: 0, write: 0 } },
});
const tool = (id: string, state: Record<string, unknown>) => ({ id, sessionID: S, messageID: "msg_2", type: "tool", callID: `call_${id}`, tool: "bash", state }) as unknown as Part;

function fold(events: Event[], state: SessionViewState = initialSessionState(S)): SessionViewState {
  for (const event of events) state = reduceSession(state, event);
  return state;
}

const opening = () => [ev("message.updated", { sessionID: S, info: userInfo("msg_1") }), ev("message.updated", { sessionID: S, info: assistantInfo("msg_2", "msg_1") })];

describe("session view reducer", () => {
  it("bash output arrives as growing snapshots and may shrink: the latest shows, never a concatenation", () => {
    const outputs = ["line 1\n", "line 1\nline 2\n", "…truncated\nline 3\n"];
    const state = fold([
      ...opening(),
      ...outputs.map((output) => ev("message.part.updated", { sessionID: S, part: tool("prt_1", { status: "running", input: { command: "x" }, metadata: { output }, time: { start: 1 } }) })),
    ]);
    const part = state.messages.get("msg_2")!.parts[0] as Extract<Part, { type: "tool" }>;
    expect((part.state as unknown as { metadata: { output: string } }).metadata.output).toBe("…truncated\nline 3\n");
  });

  it("a finished tool is not taken back to running by an older update", () => {
    const done = tool("prt_1", { status: "completed", input: {}, output: "ok", title: "", metadata: {}, time: { start: 1, end: 2 } });
    const late = tool("prt_1", { status: "running", input: {}, time: { start: 1 } });
    const state = fold([...opening(), ev("message.part.updated", { sessionID: S, part: done }), ev("message.part.updated", { sessionID: S, part: late })]);
    expect(state.messages.get("msg_2")!.parts[0]).toBe(done);
  });

  it("message.part.removed and message.removed take them off; usage follows", () => {
    let state = fold([...opening(), ev("message.updated", { sessionID: S, info: assistantInfo("msg_2", "msg_1", 7) })]);
    expect(state.usage.output).toBe(7);
    state = fold([ev("message.part.updated", { sessionID: S, part: tool("prt_1", { status: "pending", input: {} }) }), ev("message.part.removed", { sessionID: S, messageID: "msg_2", partID: "prt_1" })], state);
    expect(state.messages.get("msg_2")!.parts).toEqual([]);
    state = fold([ev("message.removed", { sessionID: S, messageID: "msg_2" })], state);
    expect(state.messages.toArray().map((m) => m.info.id)).toEqual(["msg_1"]);
    expect(state.usage.output).toBe(0);
  });

  it("pending follows permission.asked / replied and question.asked / rejected of the session tree only", () => {
    let state = fold([
      ev("permission.asked", { id: "per_1", sessionID: S, permission: "bash", patterns: ["echo *"], always: [], metadata: {} }),
      ev("permission.asked", { id: "per_2", sessionID: "ses_elsewhere", permission: "bash", patterns: [], always: [], metadata: {} }),
      ev("session.created", { sessionID: "ses_child", info: { id: "ses_child", parentID: S, title: "child" } }),
      ev("question.asked", { id: "que_1", sessionID: "ses_child", questions: [] }),
    ]);
    expect([...state.pending.keys()]).toEqual(["per_1", "que_1"]);
    state = fold([ev("permission.replied", { sessionID: S, requestID: "per_1", reply: "once" }), ev("question.rejected", { sessionID: "ses_child", requestID: "que_1" })], state);
    expect(state.pending.size).toBe(0);
  });

  it("an event that changes nothing returns the same state; a delta copies only its message", () => {
    const text = { id: "prt_t", sessionID: S, messageID: "msg_2", type: "text", text: "", time: { start: 1 } };
    const state = fold([...opening(), ev("message.part.updated", { sessionID: S, part: text })]);
    expect(reduceSession(state, ev("session.status", { sessionID: "ses_other", status: { type: "busy" } }))).toBe(state);
    expect(reduceSession(state, ev("server.heartbeat", {}))).toBe(state);
    const next = reduceSession(state, ev("message.part.delta", { sessionID: S, messageID: "msg_2", partID: "prt_t", field: "text", delta: "hi" }));
    expect(next.messages.get("msg_1")).toBe(state.messages.get("msg_1"));
    expect(next.messages.get("msg_2")!.parts[0]).toMatchObject({ text: "hi" });
  });

  it("after a gap a streaming part takes no deltas until its full record: text is never left with a hole", () => {
    const text = (t: string, end?: number) => ({ id: "prt_t", sessionID: S, messageID: "msg_2", type: "text", text: t, time: end ? { start: 1, end } : { start: 1 } });
    const delta = (d: string) => ev("message.part.delta", { sessionID: S, messageID: "msg_2", partID: "prt_t", field: "text", delta: d });
    let state = fold([...opening(), ev("message.part.updated", { sessionID: S, part: text("") }), delta("a")]);
    state = reduceSession(state, STREAM_GAP);
    state = fold([delta("c")], state);
    expect(state.messages.get("msg_2")!.parts[0]).toMatchObject({ text: "a" });
    state = fold([ev("message.part.updated", { sessionID: S, part: text("abcd", 2) }), delta("late")], state);
    expect(state.messages.get("msg_2")!.parts[0]).toMatchObject({ text: "abcd" });
  });

  it("a re-read drops loaded messages the server no longer has, and keeps older pages", () => {
    const message = (id: string): StoredMessage => ({ info: userInfo(id) as StoredMessage["info"], parts: [] });
    let state = mergeHistory(initialSessionState(S), { messages: ["msg_1", "msg_2", "msg_3", "msg_4"].map(message), hasOlder: true });
    state = mergeHistory(state, { messages: ["msg_2", "msg_4", "msg_5"].map(message), hasOlder: true });
    expect(state.messages.toArray().map((m) => m.info.id)).toEqual(["msg_1", "msg_2", "msg_4", "msg_5"]);
  });

  it("older pages go in front in order, summed into usage, sharing the loaded messages; an overlapping page neither doubles nor reorders", () => {
    const id = (i: number) => `msg_${String(i).padStart(4, "0")}`;
    const answer = (i: number, open = false): StoredMessage => ({
      info: assistantInfo(id(i), id(i - 1), 1) as StoredMessage["info"],
      parts: [{ id: `prt_${i}`, sessionID: S, messageID: id(i), type: "text", text: `t${i}`, time: open ? { start: 1 } : { start: 1, end: 2 } }],
    });
    const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => answer(from + k));
    let state = mergeHistory(initialSessionState(S), { messages: range(300, 400), hasOlder: true, status: { type: "busy" } });
    const newest = state.messages.get(id(399));
    state = prependHistory(state, [answer(200, true), ...range(201, 300)], true);
    state = prependHistory(state, range(100, 200), false);
    expect(state.messages.toArray().map((m) => m.info.id)).toEqual(range(100, 400).map((m) => m.info.id));
    for (let i = 100; i < 400; i++) expect(state.messages.get(id(i))?.info.id).toBe(id(i));
    expect(state.messages.get(id(399))).toBe(newest);
    expect(state.usage.output).toBe(300);
    expect(state.hasOlder).toBe(false);
    // Stored while it streamed: its text lags the deltas already sent, so it waits for its full record.
    expect(state.unsynced.has("prt_200")).toBe(true);
    // A server without cursors answers the newest `n`: the page overlaps what is loaded.
    const overlapping = prependHistory(state, [answer(50), ...range(98, 103)], false);
    expect(overlapping.messages.toArray().map((m) => m.info.id)).toEqual([id(50), id(98), id(99), ...range(100, 400).map((m) => m.info.id)]);
    expect(overlapping.usage.output).toBe(303);
  });
});

/** A subscription the test feeds by hand. */
function fakeSubscription() {
  const queue: (Event | StreamGap)[] = [];
  let wake: (() => void) | undefined;
  let closed = false;
  const subscription = {
    ready: Promise.resolve(),
    close: () => {
      closed = true;
      wake?.();
    },
    follow: () => undefined,
    async *[Symbol.asyncIterator]() {
      while (!closed) {
        if (queue.length > 0) yield queue.shift()!;
        else await new Promise<void>((resolve) => (wake = resolve));
      }
    },
  };
  return {
    subscription: subscription as unknown as EventSubscription<Event | StreamGap>,
    push(event: Event | StreamGap) {
      queue.push(event);
      wake?.();
    },
    get closed() {
      return closed;
    },
  };
}

describe("view store runtime", () => {
  it("a todo list sent while the first read is in flight wins over the slower read's older list", async () => {
    const feed = fakeSubscription();
    let answer!: (fold: (state: SessionViewState) => SessionViewState) => void;
    const store = new LiveStore<SessionViewState>({
      subscription: feed.subscription,
      initial: initialSessionState(S),
      reduce: reduceSession,
      read: () => new Promise((resolve) => (answer = resolve)),
      logger: {},
    });
    const opened = store.open();
    await new Promise((resolve) => setTimeout(resolve, 0));
    const newest = [{ content: "newest", status: "pending", priority: "high" }];
    feed.push(ev("todo.updated", { sessionID: S, todos: newest }));
    await new Promise((resolve) => setTimeout(resolve, 0));
    answer((state) => mergeHistory(state, { todos: [{ content: "older", status: "pending", priority: "high" }], status: { type: "idle" } }));
    await opened;
    expect(store.state.todos).toEqual(newest);
    store.close();
    expect(feed.closed).toBe(true);
  });

  it("many events in one task give each of 1,000 subscribers one notification; closing leaves no timer", async () => {
    const feed = fakeSubscription();
    const store = new LiveStore<SessionViewState>({
      subscription: feed.subscription,
      initial: initialSessionState(S),
      reduce: reduceSession,
      read: async () => (state) => state,
      logger: {},
    });
    await store.open();
    let calls = 0;
    for (let i = 0; i < 1_000; i++) store.listeners.add(() => calls++);
    for (const event of opening()) feed.push(event);
    for (let i = 0; i < 50; i++) feed.push(ev("todo.updated", { sessionID: S, todos: [{ content: `t${i}`, status: "pending", priority: "low" }] }));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(calls).toBe(1_000);
    feed.push(ev("todo.updated", { sessionID: S, todos: [] }));
    store.close();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(calls).toBe(1_000);
    expect(store.listeners.size).toBe(0);
  });
});
