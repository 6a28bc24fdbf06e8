// The session view's reducer over every recorded opencode stream (test/fixtures, and older servers'
// in test/fixtures/v*): folding a turn's events ends in the messages the server stored (ids, text,
// tool states), also when the stream is cut at any point and the rest is read back from storage;
// and toUIMessages of the stored turn matches what toUIMessageStream streamed for it.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createParser } from "eventsource-parser";
import { describe, expect, it } from "vitest";
import type { StoredMessage } from "../../src/session/session.js";
import { assistantMessageId, toUIMessageStream, UIMessageChunks, type OpencodeUIChunk, type OpencodeUIMetadata } from "../../src/ui/ai-sdk.js";
import { initialTurnState, mapEvent } from "../../src/turn/map-event.js";
import { toUIMessages } from "../../src/ui/ui-messages.js";
import { initialSessionState, mergeHistory, reduceSession, type SessionViewState } from "../../src/views/session-state.js";
import { versionAtLeast } from "../support/opencode.js";
import { STREAM_GAP, type Event } from "../../src/events/types.js";
import { expectReloadShows, fixtureReplies, messageOf, turnOf } from "../ui/ai-sdk-support.js";
import type { UIMessageChunk } from "ai";

const DIR = fileURLToPath(new URL("../fixtures/", import.meta.url));
const only = process.env["OPENCODE_FIXTURES"] || undefined;

interface Fixture {
  name: string;
  dir: string;
  sessionID: string;
  userMessageID: string;
  opencodeVersion: string;
  stored: StoredMessage[];
  /** Agent turns: each sub-agent session's stored messages. */
  children?: Record<string, StoredMessage[]>;
  events: Event[];
}

function load(dir: string, name: string): Fixture {
  const meta = JSON.parse(readFileSync(`${dir}${name}.json`, "utf8")) as Omit<Fixture, "name" | "dir" | "events">;
  const events: Event[] = [];
  createParser({ onEvent: (m) => events.push(JSON.parse(m.data) as Event) }).feed(readFileSync(`${dir}${name}.sse`, "utf8"));
  return { ...meta, name, dir, events };
}

function fixtures(): Fixture[] {
  const out: Fixture[] = [];
  const dirs = only ? [`${DIR}v${only}/`] : [DIR, ...readdirSync(DIR).filter((d) => d.startsWith("v")).map((d) => `${DIR}${d}/`)];
  for (const dir of dirs) {
    for (const file of readdirSync(dir)) if (file.endsWith(".sse")) out.push(load(dir, file.slice(0, -4)));
  }
  return out;
}

/** What a view shows of a message, for comparison with storage: ids, roles, text, tool states. */
function essence(messages: readonly StoredMessage[]) {
  return messages.map(({ info, parts }) => ({
    id: info.id,
    role: info.role,
    parts: parts.map((p) => ({
      id: p.id,
      type: p.type,
      ...(p.type === "text" || p.type === "reasoning" ? { text: p.text } : {}),
      ...(p.type === "tool" ? { callID: p.callID, status: p.state.status, output: "output" in p.state ? p.state.output : undefined } : {}),
    })),
  }));
}

/** Folds events as a view does: when the reducer asks for a re-read (`stale`), storage answers. */
function fold(state: SessionViewState, events: readonly (Event | typeof STREAM_GAP)[], stored?: StoredMessage[]): SessionViewState {
  for (const event of events) {
    state = reduceSession(state, event);
    if (state.stale && stored) state = mergeHistory(state, { messages: stored, status: state.status });
  }
  return state;
}

/** Stored messages of the fixture's session; empty text parts a provider retry abandoned are left out of both sides. */
const storedOf = (f: Fixture) => f.stored.filter((m) => m.info.sessionID === f.sessionID);

const all = fixtures();

const AGENT_DIR = `${DIR}agent/`;
/** Turns of the whole agent (the pinned server's, older servers' in agent/v*): a question and a permission, a sub-agent asking in its own session, auto-compaction. */
const agentDirs = only ? [`${AGENT_DIR}v${only}/`].filter((d) => existsSync(d)) : [AGENT_DIR, ...readdirSync(AGENT_DIR).filter((d) => d.startsWith("v")).map((d) => `${AGENT_DIR}${d}/`)];
const agent = agentDirs.flatMap((dir) =>
  readdirSync(dir)
    .filter((file) => file.endsWith(".sse"))
    .map((file) => load(dir, file.slice(0, -4))),
);


describe.each([...all, ...agent].map((f) => [`${f.dir.slice(DIR.length) || "1.18.33/"}${f.name}`, f] as const))("view over %s", (_, f) => {
  it("the live stream alone ends in what the server stored", () => {
    const state = fold(initialSessionState(f.sessionID), f.events, storedOf(f));
    expect(essence(state.messages.toArray())).toEqual(essence(storedOf(f)));
  });

  it("a cut at any point, then the stored messages and the rest of the stream: never doubled, ends as stored", () => {
    const step = Math.max(1, Math.floor(f.events.length / 25));
    for (let cut = 0; cut < f.events.length; cut += step) {
      let state = fold(initialSessionState(f.sessionID), [...f.events.slice(0, cut), STREAM_GAP], storedOf(f));
      // The re-read happens somewhere after the gap; the events after it arrive meanwhile and after.
      state = mergeHistory(state, { messages: storedOf(f), status: { type: "busy" } });
      state = fold(state, f.events.slice(cut), storedOf(f));
      expect(essence(state.messages.toArray()), `cut at ${cut}`).toEqual(essence(storedOf(f)));
    }
  });

  it("text is never a concatenation of a delta run and the closing snapshot", () => {
    // Every event delivered twice (a duplicated delivery) changes nothing.
    const state = fold(initialSessionState(f.sessionID), f.events.flatMap((e) => [e, e]), storedOf(f));
    expect(essence(state.messages.toArray())).toEqual(essence(storedOf(f)));
  });
});

describe.each([...all.filter((f) => !f.dir.slice(DIR.length)), ...agent].map((f) => [f.dir.slice(DIR.length) + f.name, f] as const))("toUIMessages over %s", (name, f) => {
  it("equals what toUIMessageStream streamed for the turn: ids, every part, data parts included", async () => {
    const { sessionID, messageID, replies } = fixtureReplies(name);
    const chunks: OpencodeUIChunk[] = [];
    const reader = toUIMessageStream(turnOf(sessionID, messageID, replies)).getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) chunks.push(r.value);
    const { message } = await messageOf(chunks as UIMessageChunk[]);
    const converted = toUIMessages(storedOf(f));
    const reply = converted.find((m) => m.role === "assistant");
    expect(converted[0]).toMatchObject({ id: f.userMessageID, role: "user" });
    if (message === undefined || message.parts.length === 0) return expect(reply?.parts ?? []).toEqual([]);
    expectReloadShows(reply!, message, { trimsText: !versionAtLeast(f.opencodeVersion, "1.14.0") });
    // The metadata a reload can know of a finished turn: the root session's usage and cost, the last message and its finish.
    const streamed = message.metadata as OpencodeUIMetadata;
    if (streamed.usage === undefined) return;
    // The context window comes from the model catalog a Turn reads, not from storage.
    const { contextWindow: _window, ...usage } = streamed.usage;
    expect(reply!.metadata).toMatchObject({ sessionID: f.sessionID, turnMessageID: f.userMessageID, assistantMessageID: streamed.assistantMessageID, finish: streamed.finish, usage });
  });
});

describe.skipIf(agent.length === 0)("toUIMessages over the agent turns", () => {
  it("storage keeps no permission or question request id and no retry, in the session or its sub-agents': a reload cannot show them", () => {
    for (const f of agent) {
      const stored = JSON.stringify([f.stored, f.children ?? {}]);
      const ids = f.events.flatMap((e) => (e.type === "permission.asked" || e.type === "question.asked" ? [e.properties.id] : []));
      for (const id of ids) expect(stored, `${f.dir}${f.name}`).not.toContain(id);
    }
    const retried = all.filter((f) => f.events.some((e) => e.type === "session.status" && e.properties.status.type === "retry"));
    expect(retried.length).toBeGreaterThan(0);
    for (const f of retried) expect(JSON.stringify(f.stored), `${f.dir}${f.name}`).not.toContain(`"type":"retry"`);
  });

  it("the question and permission fixtures ask on every recorded server", () => {
    expect(asking.map((f) => f.name).filter((name) => name === "question-permission" || name === "subagent")).toHaveLength(2 * agentDirs.length);
  });

  const named = (name: string) => agent.find((f) => f.name === name)!;
  const partsOf = (name: string) => toUIMessages(storedOf(named(name))).find((m) => m.role === "assistant")!.parts;

  it("covers a question answered and rejected, a permission allowed and denied, a sub-agent and a compaction", () => {
    expect(partsOf("question-permission")).toContainEqual(expect.objectContaining({ type: "data-question", id: "call_fixture_question", data: expect.objectContaining({ status: "answered", answers: [["Blue"]] }) }));
    expect(named("question-permission").events.some((e) => e.type === "permission.asked")).toBe(true);
    expect(partsOf("subagent")).toContainEqual(expect.objectContaining({ type: "data-subagent", data: expect.objectContaining({ agent: "general", status: "idle", callID: "call_fixture_task" }) }));
    expect(named("subagent").events.some((e) => e.type === "permission.asked" && e.properties.sessionID !== named("subagent").sessionID)).toBe(true);
    expect(partsOf("question-rejected")).toContainEqual(expect.objectContaining({ type: "data-question", data: expect.objectContaining({ status: "rejected" }) }));
    expect(partsOf("permission-rejected")).toContainEqual(expect.objectContaining({ type: "dynamic-tool", state: "output-error", toolCallId: "call_fixture_denied" }));
    expect(partsOf("compaction")).toContainEqual(expect.objectContaining({ type: "data-compaction", data: expect.objectContaining({ auto: true }) }));
  });
});

it("a question or sub-agent whose run ended (interrupted) shows as rejected or failed, not still asked or started", () => {
  const stillRunning = (name: string, tool: string) => {
    const f = agent.find((a) => a.name === name)!;
    const messages = structuredClone(storedOf(f));
    const part = messages.flatMap((m) => m.parts).find((p) => p.type === "tool" && p.tool === tool)!;
    if (part.type !== "tool") throw new Error("no tool part");
    part.state = { status: "running", input: part.state.input, time: { start: 1 }, ...("metadata" in part.state ? { metadata: part.state.metadata } : {}) };
    return { messages, id: part.id };
  };
  const question = stillRunning("question-permission", "question");
  const shown = (messages: StoredMessage[], interrupted?: ReadonlySet<string>) =>
    toUIMessages(messages, interrupted ? { interrupted } : {}).flatMap((m) => m.parts).filter((p) => p.type === "data-question" || p.type === "data-subagent");
  expect(shown(question.messages)).toContainEqual(expect.objectContaining({ type: "data-question", data: expect.objectContaining({ status: "asked" }) }));
  expect(shown(question.messages, new Set([question.id]))).toContainEqual(expect.objectContaining({ type: "data-question", data: expect.objectContaining({ status: "rejected" }) }));
  const task = stillRunning("subagent", "task");
  expect(shown(task.messages)).toContainEqual(expect.objectContaining({ type: "data-subagent", data: expect.objectContaining({ status: "started" }) }));
  expect(shown(task.messages, new Set([task.id]))).toContainEqual(expect.objectContaining({ type: "data-subagent", data: expect.objectContaining({ status: "error" }) }));
});

/** The stream's message so far and the view's, after the fixture's first `n` events. */
async function bothAfter(f: Fixture, n: number) {
  let turn = initialTurnState({ sessionID: f.sessionID, userMessageID: f.userMessageID });
  const chunks: OpencodeUIChunk[] = [];
  const mapper = new UIMessageChunks(f.sessionID);
  for (const event of f.events.slice(0, n)) {
    const result = mapEvent(turn, event);
    turn = result.state;
    for (const reply of result.replies) chunks.push(...mapper.map(reply));
  }
  const { message } = await messageOf([{ type: "start", messageId: assistantMessageId({ messageID: f.userMessageID }) }, ...chunks] as UIMessageChunk[]);
  const view = fold(initialSessionState(f.sessionID), f.events.slice(0, n));
  return { streamed: message!, view };
}

/** After each request is asked (before its answer): the event counts. */
const asks = (f: Fixture) => f.events.flatMap((e, i) => (e.type === "permission.asked" || e.type === "question.asked" ? [i + 1] : []));
const asking = agent.filter((f) => asks(f).length > 0);

describe.each(asking.map((f) => [f.dir.slice(DIR.length) + f.name, f] as const))("toUIMessages with a view's pending requests, %s", (_, f) => {
  it("while a request is open, shows it as the stream does: an approval request, an asked question with its request id", async () => {
    for (const n of asks(f)) {
      const { streamed, view } = await bothAfter(f, n);
      const pending = [...view.pending.values()];
      expect(pending.length, `after event ${n}`).toBe(1);
      const reply = toUIMessages(view.messages.toArray(), { pending }).find((m) => m.role === "assistant")!;
      expectReloadShows(reply, streamed, { trimsText: !versionAtLeast(f.opencodeVersion, "1.14.0") });
      const open = reply.parts.filter((p) => (p.type === "dynamic-tool" && p.state === "approval-requested") || (p.type === "data-question" && p.data.status === "asked"));
      expect(open, `after event ${n}`).toHaveLength(1);
    }
  });
});
