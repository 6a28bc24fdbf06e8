// The Turn engine against a scripted event source and server: every race from the turn-engine issue
// (abort in each phase, a stale error before our prompt, gaps mid-reasoning and mid-tool, a snapshot
// followed by an older live update, a codec failure), sub-agents, questions and lost requests.
import { describe, expect, it } from "vitest";
import { AbortedError, InterruptedError, StopTimeoutError, TurnTimeoutError, UnansweredError, ProviderAuthError, UnknownAgentError, UnreadableFileError } from "../../src/turn/errors.js";
import { StreamError } from "../../src/http/errors.js";
import { STREAM_GAP } from "../../src/events/types.js";
import type { Reply } from "../../src/turn/replies.js";
import { ev, finished } from "../support/events.js";
import { collect, kinds, textOf, tick, until, World } from "./engine-harness.js";

const S = "ses_root";
const C = "ses_child";
const U = "msg_u1";
const A = "msg_a1";

/** The server's answer to U: one assistant message with `text`, then idle. */
function answer(text: string, chunks = [text]) {
  return [
    ev.userMessage(S, U),
    ev.status(S, { type: "busy" }),
    ev.assistantMessage(S, A, U),
    ev.part(S, A, "prt_t", "text", ""),
    ...chunks.map((c) => ev.delta(S, A, "prt_t", c)),
    ev.part(S, A, "prt_t", "text", text, true),
    ev.assistantMessage(S, A, U, finished()),
    ev.status(S, { type: "idle" }),
    ev.idle(S),
  ];
}

const stored = (info: Record<string, unknown>, parts: Record<string, unknown>[] = []) => ({ info, parts });
const userInfo = (id = U) => ({ id, sessionID: S, role: "user", time: { created: 1_000 } });
const assistantInfo = (extra: Record<string, unknown> = {}) => ({
  id: A,
  sessionID: S,
  role: "assistant",
  parentID: U,
  time: { created: 2_000 },
  tokens: { input: 1, output: 1, reasoning: 0, cache: { read: 0, write: 0 } },
  cost: 0,
  ...extra,
});
const textPart = (id: string, text: string, closed = true) => ({ id, sessionID: S, messageID: A, type: "text", text, time: closed ? { start: 1, end: 2 } : { start: 1 } });

describe("Turn engine: the normal path", () => {
  it("streams a turn and releases the session for the next one only after it settled", async () => {
    const world = new World();
    const turn = world.prompt(S, "hi", { messageID: U });
    const next = world.prompt(S, "again", { messageID: "msg_u2" });
    await world.send(...answer("Hello world", ["Hello", " world"]));
    const replies = await collect(turn);
    expect(kinds(replies)).toEqual(["delta", "delta", "final"]);
    expect(turn.text).toBe("Hello world");
    expect(world.callsTo("post", "/session/{sessionID}/prompt_async")[0]!.init!.body).toMatchObject({ messageID: U });
    await until(() => world.callsTo("post", "/session/{sessionID}/prompt_async").length === 2);
    await next.abort();
  });

  it("chooses the message id only when the turn gets the session, above every id seen there", async () => {
    // A client clock far behind the server's: its ids would sort before the server's messages.
    const world = new World({}, () => "msg_000000000001aaaaaaaaaaaaaa");
    const first = world.prompt(S, "first", { messageID: "msg_1ff9dc3a3001aaaaaaaaaaaaaa" });
    const second = world.prompt(S, "second");
    expect(second.messageID).toBeUndefined();
    await world.send(
      ev.userMessage(S, "msg_1ff9dc3a3001aaaaaaaaaaaaaa"),
      ev.assistantMessage(S, "msg_1ff9dc3a5000bbbbbbbbbbbbbb", "msg_1ff9dc3a3001aaaaaaaaaaaaaa", finished()),
      ev.idle(S),
    );
    await first.done;
    await until(() => second.messageID !== undefined);
    expect(second.messageID! > "msg_1ff9dc3a5000bbbbbbbbbbbbbb").toBe(true);
    expect(second.messageID).toMatch(/^msg_[0-9a-f]{12}[0-9A-Za-z]{14}$/);
    await second.abort();
  });
});

describe("Turn engine: stopping", () => {
  it("abort while waiting for the session drops the prompt: nothing is sent", async () => {
    const world = new World();
    const running = world.prompt(S, "first", { messageID: U });
    const queued = world.prompt(S, "second", { messageID: "msg_u2" });
    await tick();
    await queued.abort();
    await expect(queued.done).rejects.toBeInstanceOf(AbortedError);
    await world.send(...answer("ok"));
    await running.done;
    await tick(20);
    expect(world.callsTo("post", "/session/{sessionID}/prompt_async")).toHaveLength(1);
  });

  it("abort while the stream opens sends nothing and ends with AbortedError", async () => {
    const world = new World();
    world.holdStream();
    const turn = world.prompt(S, "hi", { messageID: U });
    await until(() => world.subscription !== undefined);
    await turn.abort();
    await expect(turn.done).rejects.toBeInstanceOf(AbortedError);
    expect(world.calls).toEqual([]);
  });

  it("abort while prompt_async is in flight cancels it at once, then confirms the server has nothing", async () => {
    const world = new World();
    world.server.prompt = "hang";
    world.server.status = {};
    const turn = world.prompt(S, "hi", { messageID: U });
    await until(() => world.callsTo("post", "/session/{sessionID}/prompt_async").length === 1);
    const started = Date.now();
    const stopped = turn.abort();
    await expect(turn.done).rejects.toBeInstanceOf(AbortedError);
    expect(world.callsTo("post", "/session/{sessionID}/prompt_async")[0]!.init!.signal!.aborted).toBe(true);
    await stopped;
    expect(Date.now() - started).toBeLessThan(1_000);
    // The server never had the prompt: no abort was sent that could stop another client's turn.
    expect(world.callsTo("post", "/session/{sessionID}/abort")).toHaveLength(0);
  });

  it("an abort the server ignored is repeated at the turn's first sign of life, and nothing but the error is yielded", async () => {
    const world = new World();
    // The server stored the prompt and is about to run it.
    world.server.status = { [S]: { type: "busy" } };
    world.server.messages = [stored(userInfo())];
    const turn = world.prompt(S, "hi", { messageID: U });
    const replies: Reply[] = [];
    const reading = (async () => {
      for await (const reply of turn) replies.push(reply);
    })();
    await until(() => world.callsTo("post", "/session/{sessionID}/prompt_async").length === 1);
    await tick();
    const stopped = turn.abort();
    expect(world.callsTo("post", "/session/{sessionID}/abort")).toHaveLength(1);
    // The server had not started its loop: the abort did nothing and the turn runs on.
    await tick(30);
    await world.send(ev.userMessage(S, U), ev.status(S, { type: "busy" }), ev.assistantMessage(S, A, U), ev.part(S, A, "prt_t", "text", ""));
    await world.send(ev.delta(S, A, "prt_t", "still running"));
    expect(world.callsTo("post", "/session/{sessionID}/abort").length).toBeGreaterThanOrEqual(2);
    let settled = false;
    void stopped.then(() => (settled = true));
    await tick(20);
    expect(settled).toBe(false);
    await world.send(
      ev.assistantMessage(S, A, U, { error: { name: "MessageAbortedError", data: { message: "aborted" } }, time: { created: 2_000, completed: 2_100 } }),
      ev.status(S, { type: "idle" }),
    );
    await stopped;
    await reading;
    expect(kinds(replies)).toEqual(["error"]);
    expect((replies[0] as { error: unknown }).error).toBeInstanceOf(AbortedError);
  });

  it("the session lock is held until the server reports idle after a stop, then released", async () => {
    const world = new World();
    const turn = world.prompt(S, "hi", { messageID: U });
    await world.send(ev.userMessage(S, U), ev.status(S, { type: "busy" }), ev.assistantMessage(S, A, U));
    const next = world.prompt(S, "next", { messageID: "msg_u2" });
    void turn.abort();
    await tick(50);
    expect(world.callsTo("post", "/session/{sessionID}/prompt_async")).toHaveLength(1);
    await world.send(ev.error(S, { name: "MessageAbortedError", data: { message: "aborted" } }), ev.status(S, { type: "idle" }));
    await until(() => world.callsTo("post", "/session/{sessionID}/prompt_async").length === 2);
    await next.abort();
  });

  it("a stop the server never confirms releases the lock after the bound and abort() rejects with StopTimeoutError", async () => {
    const world = new World({ stopSettleMs: 200 });
    const turn = world.prompt(S, "hi", { messageID: U });
    await world.send(ev.userMessage(S, U), ev.status(S, { type: "busy" }), ev.assistantMessage(S, A, U));
    await expect(turn.abort()).rejects.toBeInstanceOf(StopTimeoutError);
    await expect(turn.done).rejects.toBeInstanceOf(AbortedError);
    // The lock is free: a new holder gets it at once.
    const free = await Promise.race([world.mutex.acquire(S), tick(50).then(() => undefined)]);
    expect(free).toBeTypeOf("function");
    free!();
  });

  it("leaving a for-await early stops the turn on the server", async () => {
    const world = new World();
    const turn = world.prompt(S, "hi", { messageID: U });
    await world.send(ev.userMessage(S, U), ev.assistantMessage(S, A, U), ev.part(S, A, "prt_t", "text", ""), ev.delta(S, A, "prt_t", "a"));
    for await (const reply of turn) if (reply.kind === "delta") break;
    await expect(turn.done).rejects.toBeInstanceOf(AbortedError);
    expect(world.callsTo("post", "/session/{sessionID}/abort")).toHaveLength(1);
  });

  it("the prompt's signal aborts the turn, and its listener is removed when the turn ends", async () => {
    const world = new World();
    const controller = new AbortController();
    let listeners = 0;
    const add = controller.signal.addEventListener.bind(controller.signal);
    const remove = controller.signal.removeEventListener.bind(controller.signal);
    controller.signal.addEventListener = ((...args: Parameters<typeof add>) => (listeners++, add(...args))) as typeof add;
    controller.signal.removeEventListener = ((...args: Parameters<typeof remove>) => (listeners--, remove(...args))) as typeof remove;
    const first = world.prompt(S, "hi", { messageID: U, signal: controller.signal });
    await world.send(...answer("ok"));
    await first.done;
    await until(() => listeners === 0);
    const second = world.prompt(S, "again", { messageID: "msg_u2", signal: controller.signal });
    controller.abort();
    await expect(second.done).rejects.toBeInstanceOf(AbortedError);
  });

  it("a closed event stream (client closed) ends the turn with AbortedError", async () => {
    const world = new World();
    const turn = world.prompt(S, "hi", { messageID: U });
    await world.send(ev.userMessage(S, U));
    world.subscription!.close();
    await expect(turn.done).rejects.toBeInstanceOf(AbortedError);
  });
});

describe("Turn engine: another turn's leftovers", () => {
  it("a stopped turn's trailing error and idle before our prompt appears do not end our turn", async () => {
    const world = new World();
    world.server.status = { [S]: { type: "busy" } };
    const turn = world.prompt(S, "hi", { messageID: U });
    await world.send(ev.error(S, { name: "MessageAbortedError", data: { message: "aborted" } }), ev.status(S, { type: "idle" }), ev.idle(S));
    await world.send(...answer("the new answer"));
    const final = await turn.done;
    expect(final.text).toBe("the new answer");
  });

  it("an error before a prompt the server never took up becomes the turn's error", async () => {
    const world = new World();
    world.server.messages = [];
    const turn = world.prompt(S, "hi", { messageID: U });
    await world.send(ev.error(S, { name: "ProviderAuthError", data: { providerID: "x", message: "bad key" } }), ev.idle(S));
    await expect(turn.done).rejects.toBeInstanceOf(ProviderAuthError);
  });

  it("a prompt stored but never answered ends with UnansweredError, not an empty final", async () => {
    const world = new World();
    world.server.messages = [stored(userInfo())];
    const turn = world.prompt(S, "hi", { messageID: U });
    await world.send(ev.userMessage(S, U), ev.status(S, { type: "busy" }), ev.status(S, { type: "idle" }), ev.idle(S));
    await expect(turn.done).rejects.toBeInstanceOf(UnansweredError);
  });

  it("a server that stored the prompt but is behind (idle, no answer, after a gap) does not lose the turn", async () => {
    const world = new World();
    world.server.messages = [stored(userInfo())];
    const turn = world.prompt(S, "hi", { messageID: U });
    // Idle snapshots show the stored prompt with no answer, but nothing said the run ended: that is a
    // prompt the server has not started yet, however long it takes (here 10× the lost-turn bound).
    await world.send("gap");
    await until(() => world.callsTo("get", "/session/{sessionID}/message").length >= 1);
    await tick(2_000);
    expect(turn.finished).toBe(false);
    // Nothing new to see: the turn waits for the stream instead of polling the server.
    expect(world.callsTo("get", "/session/{sessionID}/message").length).toBe(1);
    await world.send(...answer("warm now"));
    expect((await turn.done).text).toBe("warm now");
  });

  it("a prompt the server has no record of after the stream broke (a restart) ends with InterruptedError", async () => {
    const world = new World();
    const turn = world.prompt(S, "hi", { messageID: U });
    await world.send("gap");
    await expect(turn.done).rejects.toBeInstanceOf(InterruptedError);
  });

  it("a stored prompt the session moved past (a later prompt was answered) ends with UnansweredError", async () => {
    const skipped = new World();
    skipped.server.messages = [stored(userInfo()), stored({ ...userInfo("msg_u2") }), stored(assistantInfo({ id: "msg_a2", parentID: "msg_u2" }))];
    const turn = skipped.prompt(S, "hi", { messageID: U });
    await skipped.send("gap");
    await expect(turn.done).rejects.toBeInstanceOf(UnansweredError);
  });

  it("without evidence the turn waits; the caller's timeoutMs ends it with TurnTimeoutError and stops it on the server", async () => {
    const world = new World();
    world.server.messages = [stored(userInfo())];
    const started = Date.now();
    const turn = world.prompt(S, "hi", { messageID: U, timeoutMs: 400 });
    await world.send(ev.userMessage(S, U), ev.assistantMessage(S, A, U), ev.part(S, A, "prt_t", "text", ""), ev.delta(S, A, "prt_t", "Hal"));
    const error = await turn.done.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TurnTimeoutError);
    expect(error).toMatchObject({ timeoutMs: 400, partialText: "Hal" });
    expect(Date.now() - started).toBeGreaterThanOrEqual(390);
    await until(() => world.callsTo("post", "/session/{sessionID}/abort").length >= 1);
  });
});

describe("Turn engine: catch-up shared by every turn of a client", () => {
  it("after one gap, 50 turns read the status once, each its own messages once, and share the session lookups", async () => {
    const world = new World();
    const sessions = Array.from({ length: 50 }, (_, i) => `ses_${String(i).padStart(3, "0")}`);
    const turns = sessions.map((id) => world.prompt(id, "hi", { messageID: U }));
    // Every session is busy with a turn nobody has seen start (the gap hid it); the server has them all stored.
    await until(() => world.subscriptions.length === sessions.length);
    world.server.status = Object.fromEntries(sessions.map((id) => [id, { type: "busy" }]));
    world.server.sessions = Object.fromEntries(sessions.map((id) => [id, { id, title: id }]));
    world.server.messages = [stored(userInfo())];
    for (const subscription of world.subscriptions) subscription.push(STREAM_GAP);
    await until(() => world.callsTo("get", "/session/{sessionID}/message").length >= sessions.length);
    await tick(300);
    expect(world.callsTo("get", "/session/status").length).toBeLessThanOrEqual(2);
    expect(world.callsTo("get", "/permission").length).toBeLessThanOrEqual(2);
    expect(world.callsTo("get", "/question").length).toBeLessThanOrEqual(2);
    // A busy session a turn does not know may be a sub-agent started in the gap: the first ten are
    // looked up once for every turn (eleven: a turn never looks up its own), then known as roots.
    expect(world.callsTo("get", "/session/{sessionID}").length).toBeLessThanOrEqual(11);
    expect(world.callsTo("get", "/session/{sessionID}/message").length).toBe(sessions.length);
    const reads = world.calls.filter((c) => c.method === "get").length;
    expect(reads / sessions.length).toBeLessThanOrEqual(3);
    for (const turn of turns) expect(turn.finished).toBe(false);
    for (const turn of turns) void turn.abort();
  });

  it("an unknown busy session is looked up once for the whole client, however many turns need it", async () => {
    const world = new World();
    world.server.sessions = { [C]: { id: C, parentID: "ses_other", title: "x" }, ses_other: { id: "ses_other", title: "other" } };
    const turns = ["ses_a", "ses_b", "ses_c"].map((id) => world.prompt(id, "hi", { messageID: U }));
    await until(() => world.subscriptions.length === 3);
    world.server.status = { [C]: { type: "busy" } };
    for (const subscription of world.subscriptions) subscription.push(STREAM_GAP);
    await until(() => world.callsTo("get", "/session/{sessionID}/message").length >= 3);
    await tick(100);
    expect(world.callsTo("get", "/session/{sessionID}").map((c) => c.init?.path?.["sessionID"])).toEqual([C, "ses_other"]);
    for (const turn of turns) void turn.abort();
  });
});

describe("Turn engine: gaps in the event stream", () => {
  it("a gap between reasoning and text shows each once, in full", async () => {
    const world = new World();
    const turn = world.prompt(S, "hi", { messageID: U });
    world.server.status = { [S]: { type: "busy" } };
    world.server.messages = [
      stored(userInfo()),
      stored(assistantInfo(), [
        { id: "prt_r", sessionID: S, messageID: A, type: "reasoning", text: "Let me think.", time: { start: 1, end: 2 } },
        textPart("prt_t", "", false),
      ]),
    ];
    await world.send(
      ev.userMessage(S, U),
      ev.assistantMessage(S, A, U),
      ev.part(S, A, "prt_r", "reasoning", ""),
      ev.delta(S, A, "prt_r", "Let me"),
      "gap",
    );
    await until(() => world.callsTo("get", "/session/{sessionID}/message").length === 1);
    await tick(10);
    // Missed: the reasoning's end, the text's start and its first deltas.
    await world.send(ev.delta(S, A, "prt_t", "world."), ev.part(S, A, "prt_t", "text", "Hello world.", true));
    await world.send(ev.assistantMessage(S, A, U, finished()), ev.idle(S));
    const replies = await collect(turn);
    expect(textOf(replies, "reasoning")).toBe("Let me think.");
    expect(textOf(replies)).toBe("Hello world.");
    expect((await turn.done).text).toBe("Hello world.");
  });

  it("a gap during a tool step reports the tool's result once and continues with the next step", async () => {
    const world = new World();
    const turn = world.prompt(S, "hi", { messageID: U });
    world.server.status = { [S]: { type: "busy" } };
    const completed = { status: "completed", input: { command: "ls" }, output: "a", title: "ls", metadata: {}, time: { start: 1, end: 2 } };
    world.server.messages = [
      stored(userInfo()),
      stored(assistantInfo(finished({ finish: "tool-calls" })), [{ id: "prt_tool", sessionID: S, messageID: A, type: "tool", callID: "c1", tool: "bash", state: completed }]),
    ];
    await world.send(
      ev.userMessage(S, U),
      ev.assistantMessage(S, A, U),
      ev.tool(S, A, "prt_tool", "c1", "bash", { status: "running", input: { command: "ls" }, time: { start: 1 } }),
      "gap",
    );
    await until(() => world.callsTo("get", "/session/{sessionID}/message").length === 1);
    await tick(10);
    // A late copy of the completed status after the snapshot must not repeat the result.
    await world.send(
      ev.tool(S, A, "prt_tool", "c1", "bash", completed),
      ev.assistantMessage(S, "msg_a2", U),
      ev.part(S, "msg_a2", "prt_2", "text", ""),
      ev.delta(S, "msg_a2", "prt_2", "Done."),
      ev.part(S, "msg_a2", "prt_2", "text", "Done.", true),
      ev.assistantMessage(S, "msg_a2", U, finished()),
      ev.idle(S),
    );
    const replies = await collect(turn);
    expect(replies.filter((r) => r.kind === "tool_result")).toHaveLength(1);
    expect(kinds(replies)).toEqual(["tool_call", "tool_result", "delta", "final"]);
  });

  it("an idle after a gap that left text missing is settled from a final snapshot", async () => {
    const world = new World();
    const turn = world.prompt(S, "hi", { messageID: U });
    world.server.status = { [S]: { type: "busy" } };
    world.server.messages = [stored(userInfo()), stored(assistantInfo(), [textPart("prt_t", "", false)])];
    await world.send(ev.userMessage(S, U), ev.assistantMessage(S, A, U), ev.part(S, A, "prt_t", "text", ""), ev.delta(S, A, "prt_t", "Hel"), "gap");
    await until(() => world.callsTo("get", "/session/{sessionID}/message").length === 1);
    world.server.status = {};
    world.server.messages = [stored(userInfo()), stored(assistantInfo(finished()), [textPart("prt_t", "Hello there")])];
    await world.send(ev.idle(S));
    const replies = await collect(turn);
    expect(textOf(replies)).toBe("Hello there");
    expect(replies.at(-1)).toMatchObject({ kind: "final", text: "Hello there" });
  });

  it("a snapshot the turn needs that fails is a StreamError with its cause, not a claimed restart", async () => {
    const world = new World();
    const turn = world.prompt(S, "hi", { messageID: U });
    world.server.failReads = true;
    await world.send(ev.userMessage(S, U), ev.assistantMessage(S, A, U), ev.part(S, A, "prt_t", "text", ""), "gap");
    // The snapshot after the gap failed too, but the live stream went on: only a warning.
    await until(() => world.logs.length === 1);
    expect(turn.finished).toBe(false);
    await world.send(ev.idle(S));
    const error = await turn.done.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StreamError);
    expect((error as Error).cause).toBeInstanceOf(Error);
  });

  it("a permission asked while the stream was down is shown once after the gap, with the sub-agent it came from", async () => {
    const world = new World();
    const turn = world.prompt(S, "hi", { messageID: U });
    world.server.status = { [S]: { type: "busy" }, [C]: { type: "busy" } };
    world.server.messages = [stored(userInfo())];
    world.server.sessions = { [C]: { id: C, parentID: S, title: "Child" }, ses_stranger: { id: "ses_stranger", title: "Other" } };
    world.server.permissions = [
      { id: "per_child", sessionID: C, permission: "external_directory", patterns: ["/tmp/*"], always: [], metadata: {} },
      { id: "per_stranger", sessionID: "ses_stranger", permission: "bash", patterns: ["ls"], always: [], metadata: {} },
    ];
    await world.send(ev.userMessage(S, U), "gap");
    await until(() => world.callsTo("get", "/permission").length === 1);
    await tick(10);
    // The live event arrives too (it was in flight): shown once.
    await world.send(ev.permission(C, "per_child"), ev.assistantMessage(S, A, U, finished()), ev.idle(S));
    const replies = await collect(turn);
    const permissions = replies.filter((r) => r.kind === "permission");
    expect(permissions).toEqual([expect.objectContaining({ id: "per_child", sessionID: C, parentSessionID: S })]);
  });
});

describe("Turn engine: attaching", () => {
  it("attaching to a running turn shows the permission it is waiting on (read once, with the stored messages)", async () => {
    const world = new World();
    world.server.status = { [S]: { type: "busy" } };
    world.server.messages = [stored(userInfo()), stored(assistantInfo())];
    world.server.permissions = [{ id: "per_root", sessionID: S, permission: "bash", patterns: ["ls"], always: [], metadata: {} }];
    const turn = world.turn(S, { kind: "attach", userMessageID: U, options: {} });
    await until(() => world.callsTo("get", "/permission").length === 1);
    await tick(10);
    await world.send(ev.assistantMessage(S, A, U, finished()), ev.idle(S));
    const replies = await collect(turn);
    expect(replies.filter((r) => r.kind === "permission")).toEqual([expect.objectContaining({ id: "per_root", sessionID: S })]);
  });

  it("stopping an attached turn stops following it, not the run: no abort reaches the server (a reloading tab must not stop it)", async () => {
    const world = new World();
    world.server.status = { [S]: { type: "busy" } };
    world.server.messages = [stored(userInfo()), stored(assistantInfo())];
    const turn = world.turn(S, { kind: "attach", userMessageID: U, options: {} });
    await until(() => world.callsTo("get", "/session/{sessionID}/message").length >= 1);
    await tick(10);
    await turn.abort();
    await expect(turn.done).rejects.toBeInstanceOf(AbortedError);
    await tick(50);
    expect(world.callsTo("post", "/session/{sessionID}/abort")).toEqual([]);
  });
});

describe("Turn engine: sub-agents and questions", () => {
  it("a sub-agent's permission surfaces with the child's id; its text never joins the root's", async () => {
    const world = new World();
    const turn = world.prompt(S, "hi", { messageID: U });
    await world.send(
      ev.userMessage(S, U),
      ev.assistantMessage(S, A, U),
      ev.task(S, A, "prt_task", "pending"),
      ev.sessionCreated(C, S),
      ev.task(S, A, "prt_task", "running", C),
      ev.userMessage(C, "msg_cu"),
      ev.status(C, { type: "busy" }),
      ev.assistantMessage(C, "msg_ca", "msg_cu"),
      ev.permission(C, "per_1"),
      ev.permissionReplied(C, "per_1", "once"),
      ev.part(C, "msg_ca", "prt_c", "text", ""),
      ev.delta(C, "msg_ca", "prt_c", "child text"),
      ev.part(C, "msg_ca", "prt_c", "text", "child text", true),
      ev.assistantMessage(C, "msg_ca", "msg_cu", finished({ cost: 2, tokens: { input: 7, output: 3, reasoning: 0, cache: { read: 0, write: 0 } } })),
      ev.idle(C),
      ev.task(S, A, "prt_task", "completed", C),
      ev.assistantMessage(S, A, U, finished({ finish: "tool-calls", cost: 1, tokens: { input: 5, output: 1, reasoning: 0, cache: { read: 0, write: 0 } } })),
      ev.assistantMessage(S, "msg_a2", U),
      ev.part(S, "msg_a2", "prt_2", "text", "Parent done.", true),
      ev.assistantMessage(S, "msg_a2", U, finished()),
      ev.idle(S),
    );
    const replies = await collect(turn);
    expect(kinds(replies)).toEqual(["tool_call", "subagent", "tool_call", "permission", "permission_replied", "subagent", "tool_result", "delta", "final"]);
    expect(replies[1]).toMatchObject({ kind: "subagent", sessionID: C, parentSessionID: S, status: "started", agent: "general", description: "Look around" });
    expect(replies[3]).toMatchObject({ kind: "permission", id: "per_1", sessionID: C, parentSessionID: S });
    expect(replies[5]).toMatchObject({ kind: "subagent", sessionID: C, status: "idle" });
    const final = await turn.done;
    expect(final.text).toBe("Parent done.");
    expect(turn.text).toBe("Parent done.");
    expect(final.usage.cost).toBe(1);
    expect(final.subagentUsage).toMatchObject({ input: 7, output: 3, cost: 2 });
  });

  it("with subagents: 'all' the child's text and tools are yielded, tagged with the child", async () => {
    const world = new World();
    const turn = world.prompt(S, "hi", { messageID: U, subagents: "all" });
    await world.send(
      ev.userMessage(S, U),
      ev.assistantMessage(S, A, U),
      ev.sessionCreated(C, S),
      ev.assistantMessage(C, "msg_ca", "msg_cu"),
      ev.part(C, "msg_ca", "prt_c", "text", ""),
      ev.delta(C, "msg_ca", "prt_c", "child text"),
      ev.part(S, A, "prt_t", "text", "root", true),
      ev.assistantMessage(S, A, U, finished()),
      ev.idle(S),
    );
    const replies = await collect(turn);
    const child = replies.find((r) => r.kind === "delta" && r.sessionID === C);
    expect(child).toMatchObject({ text: "child text", parentSessionID: S });
    expect(turn.text).toBe("root");
  });

  it("a question becomes a reply; the answer from another client is reported", async () => {
    const world = new World();
    const turn = world.prompt(S, "hi", { messageID: U });
    await world.send(
      ev.userMessage(S, U),
      ev.assistantMessage(S, A, U),
      ev.question(S, "que_1", { messageID: A, callID: "call_q" }),
      ev.questionReplied(S, "que_1", [["Blue"]]),
      ev.part(S, A, "prt_t", "text", "Blue it is.", true),
      ev.assistantMessage(S, A, U, finished()),
      ev.idle(S),
    );
    const replies = await collect(turn);
    expect(replies[0]).toEqual({
      kind: "question",
      sessionID: S,
      id: "que_1",
      questions: [
        { header: "Color", question: "Which color?", options: [{ label: "Red", description: "warm" }, { label: "Blue", description: "cool" }], multiple: false, custom: true },
      ],
      tool: { messageID: A, callID: "call_q" },
    });
    expect(replies[1]).toEqual({ kind: "question_replied", sessionID: S, id: "que_1", answers: [["Blue"]], rejected: false });
  });

  it("an unrelated session's request never leaks into the turn", async () => {
    const world = new World();
    const turn = world.prompt(S, "hi", { messageID: U });
    await world.send(ev.userMessage(S, U), ev.permission("ses_other", "per_x"), ev.question("ses_other", "que_x"), ...answer("ok").slice(1));
    const replies = await collect(turn);
    expect(kinds(replies)).toEqual(["delta", "final"]);
  });
});

describe("Turn engine: failures of its own", () => {
  it("a codec failure ends the turn with a typed error instead of a hang", async () => {
    const world = new World();
    const turn = world.prompt(S, "hi", { messageID: U });
    const poisoned = ev.delta(S, A, "prt_t", "x");
    Object.defineProperty(poisoned.properties, "delta", {
      enumerable: true,
      get() {
        throw new Error("a field that cannot be read");
      },
    });
    await world.send(ev.userMessage(S, U), ev.assistantMessage(S, A, U), ev.part(S, A, "prt_t", "text", ""), poisoned);
    const error = await turn.done.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StreamError);
    expect((error as Error).message).toMatch(/codec/);
  });
});

describe("Turn engine: catching up when reads fail (#17)", () => {
  it("a catch-up read that fails is retried with backoff: a permission asked during the gap still shows", async () => {
    const world = new World({ maxReadFailures: 10 });
    const turn = world.prompt(S, "hi", { messageID: U });
    const replies: Reply[] = [];
    const reading = (async () => {
      for await (const reply of turn) replies.push(reply);
    })();
    await world.send(ev.userMessage(S, U), ev.status(S, { type: "busy" }), ev.assistantMessage(S, A, U));
    world.server.failReads = true;
    await world.send("gap");
    // The session waits on the permission: the stream is silent, only reads can show it.
    await until(() => world.logs.length >= 2);
    world.server.failReads = false;
    world.server.status = { [S]: { type: "busy" } };
    world.server.messages = [stored(userInfo()), stored(assistantInfo())];
    world.server.permissions = [{ id: "per_1", sessionID: S, permission: "bash", patterns: ["ls"], always: [], metadata: {} }];
    await until(() => replies.some((r) => r.kind === "permission"));
    await world.send(ev.assistantMessage(S, A, U, finished()), ev.idle(S));
    await reading;
    expect(kinds(replies)).toEqual(["permission", "final"]);
  });

  it("a server that stays unreachable after a gap ends the turn with a retryable StreamError, not a hang", async () => {
    const world = new World({ maxReadFailures: 3 });
    const turn = world.prompt(S, "hi", { messageID: U });
    await world.send(ev.userMessage(S, U), ev.status(S, { type: "busy" }), ev.assistantMessage(S, A, U));
    world.server.failReads = true;
    await world.send("gap");
    const error = await turn.done.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StreamError);
    expect((error as StreamError).retryable).toBe(true);
    expect(world.callsTo("get", "/session/status")).toHaveLength(3);
  });
});

describe("Turn engine: one abort per stop (#17)", () => {
  it("a stop of a running turn sends one abort, however many events follow", async () => {
    const world = new World();
    const turn = world.prompt(S, "hi", { messageID: U });
    await world.send(ev.userMessage(S, U), ev.status(S, { type: "busy" }), ev.assistantMessage(S, A, U), ev.part(S, A, "prt_t", "text", ""));
    const stopped = turn.abort();
    for (let i = 0; i < 5; i++) {
      await world.send(ev.delta(S, A, "prt_t", `d${i}`), ev.status(S, { type: "busy" }));
      // Spaced wider than any repeat interval: signs of life alone never send another abort.
      await tick(80);
    }
    await world.send(ev.error(S, { name: "MessageAbortedError", data: { message: "aborted" } }), ev.status(S, { type: "idle" }));
    await stopped;
    expect(world.callsTo("post", "/session/{sessionID}/abort")).toHaveLength(1);
  });

  it("an abort sent before the prompt loop ran is repeated exactly once when the loop shows up", async () => {
    const world = new World();
    world.server.status = { [S]: { type: "busy" } };
    world.server.messages = [stored(userInfo())];
    const turn = world.prompt(S, "hi", { messageID: U });
    await until(() => world.callsTo("post", "/session/{sessionID}/prompt_async").length === 1);
    await tick();
    const stopped = turn.abort();
    await world.send(ev.userMessage(S, U), ev.status(S, { type: "busy" }), ev.assistantMessage(S, A, U), ev.part(S, A, "prt_t", "text", ""));
    for (let i = 0; i < 3; i++) {
      await world.send(ev.delta(S, A, "prt_t", `d${i}`), ev.assistantMessage(S, A, U));
      await tick(30);
    }
    await world.send(ev.error(S, { name: "MessageAbortedError", data: { message: "aborted" } }), ev.status(S, { type: "idle" }));
    await stopped;
    expect(world.callsTo("post", "/session/{sessionID}/abort")).toHaveLength(2);
  });
});

describe("Turn engine: commands, shell and the permission policy", () => {
  it("a shell turn follows the stream while its request is still open (the server answers it at the end)", async () => {
    const world = new World();
    const turn = world.turn(S, { kind: "shell", body: { command: "ls", agent: "build" }, options: { messageID: U } });
    await world.send(...answer("listed"));
    expect((await turn.done).text).toBe("listed");
    expect(world.callsTo("post", "/session/{sessionID}/shell")[0]!.init!.body).toEqual({ command: "ls", agent: "build", messageID: U });
  });

  it("a command refused before it showed up ends the turn with the refusal", async () => {
    const world = new World();
    world.server.command = new StreamError("the server refused the command", false);
    const turn = world.turn(S, { kind: "command", body: { command: "init", arguments: "" }, options: { messageID: U } });
    expect(await turn.done.catch((e: unknown) => e)).toBe(world.server.command);
  });

  it("one 'always' by the policy answers two parallel asks with one request; the covered one is reported, not answered", async () => {
    const world = new World();
    const turn = world.prompt(S, "hi", { messageID: U, permissions: [{ permission: "bash", action: "allow", always: true }] });
    await world.send(ev.userMessage(S, U), ev.status(S, { type: "busy" }), ev.permission(S, "per_1"), ev.permission(S, "per_2"));
    await until(() => world.callsTo("get", "/permission").length === 1);
    await world.send(ev.permissionReplied(S, "per_1", "always"), ev.permissionReplied(S, "per_2", "always"), ...answer("ran").slice(2));
    const replies = await collect(turn);
    expect(world.callsTo("post", "/permission/{requestID}/reply").map((c) => [c.init!.path!["requestID"], c.init!.body])).toEqual([["per_1", { reply: "always" }]]);
    expect(replies.filter((r) => r.kind === "permission_policy")).toMatchObject([
      { id: "per_1", reply: "always" },
      { id: "per_2", reply: "always", coveredBy: "per_1" },
    ]);
    expect(kinds(replies)).not.toContain("permission");
  });

  it("a covered ask the server still lists after the first answer is answered too", async () => {
    const world = new World();
    world.server.permissions = [{ id: "per_2", sessionID: S, permission: "bash", patterns: ["echo hi"], always: ["echo *"], metadata: {} }];
    const turn = world.prompt(S, "hi", { messageID: U, permissions: [{ permission: "bash", action: "allow", always: true }] });
    await world.send(ev.userMessage(S, U), ev.status(S, { type: "busy" }), ev.permission(S, "per_1"), ev.permission(S, "per_2"));
    await until(() => world.callsTo("post", "/permission/{requestID}/reply").length === 2);
    expect(world.callsTo("post", "/permission/{requestID}/reply").map((c) => c.init!.path!["requestID"])).toEqual(["per_1", "per_2"]);
    await world.send(...answer("ran").slice(2));
    await turn.done;
  });

  it("the server's 'Agent not found' for this turn's agent ends it at once with UnknownAgentError; another agent's does not", async () => {
    const world = new World();
    const turn = world.prompt(S, "hi", { messageID: U, agent: "nope" });
    await world.send(ev.error(S, { name: "UnknownError", data: { message: 'Agent not found: "other". Available agents: build' } }));
    expect(turn.finished).toBe(false);
    await world.send(ev.error(S, { name: "UnknownError", data: { message: 'Agent not found: "nope". Available agents: build, plan' } }));
    const error = await turn.done.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnknownAgentError);
    expect(error).toMatchObject({ agent: "nope" });
  });

  it("the server's 'File not found' for this turn's file:// part ends it and stops the run that would answer without it", async () => {
    const world = new World();
    const turn = world.turn(S, { kind: "prompt", input: [{ type: "text", text: "read" }, { type: "file", mime: "text/plain", url: "file:///tmp/missing%20file.txt" }], options: { messageID: U } });
    await world.send(ev.error(S, { name: "UnknownError", data: { message: "File not found: /tmp/missing file.txt" } }), ev.userMessage(S, U), ev.status(S, { type: "busy" }));
    const error = await turn.done.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnreadableFileError);
    expect(error).toMatchObject({ path: "/tmp/missing file.txt" });
    await until(() => world.callsTo("post", "/session/{sessionID}/abort").length >= 1);
  });
});
