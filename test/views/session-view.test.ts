// Session views on a real `opencode serve` with the scripted model: history paged in, turns started
// by another client (and sub-agents) followed live, cuts of the event connection repaired to what
// the server stored, revert / unrevert / removal, compaction, pending requests answered anywhere,
// todos, usage, one connection for every view, and nothing left open after close.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient, type OpencodeClient, type Session, type SessionSnapshot, type SessionView } from "../../src/index.js";
import { startFaultProxy, type FaultProxy } from "../support/fault-proxy.js";
import { directive, MODEL_ID, PROVIDER_ID, startModelServer, type ModelServer } from "../support/model-server.js";
import { startTestServer, versionAtLeast, type TestServer } from "../support/opencode.js";
import { toUIMessageStream, toUIMessages, type OpencodeUIChunk } from "../../src/index.js";
import { expectReloadShows, messageOf } from "../ui/ai-sdk-support.js";
import type { UIMessageChunk } from "ai";

let model: ModelServer;
let server: TestServer;
let proxy: FaultProxy;
/** Watches through the fault proxy. */
let client: OpencodeClient;
/** Another client (another tab, the TUI): prompts and answers behind the views' back. */
let other: OpencodeClient;
let outside: string;

beforeAll(async () => {
  model = await startModelServer({ model: { limit: { context: 2_000, output: 200 }, cost: { input: 1, output: 2 } } });
  server = await startTestServer({ config: model.providerConfig({ permission: { bash: "ask" } }) });
  proxy = await startFaultProxy(server.url);
  client = server.client({ baseUrl: proxy.url, events: { reconnectInitialMs: 50, reconnectMaxMs: 500 } });
  other = server.client();
  outside = mkdtempSync(join(tmpdir(), "opencode-outside-"));
  writeFileSync(join(outside, "note.txt"), "outside the project\n");
});
afterAll(async () => {
  await proxy?.close();
  await server?.close();
  await model?.close();
  if (outside) rmSync(outside, { recursive: true, force: true });
});

/** Resolves with the first snapshot that passes; fails after `ms`. */
function until(view: SessionView, pass: (snap: SessionSnapshot) => boolean, ms = 20_000): Promise<SessionSnapshot> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const snap = view.get();
      if (!pass(snap)) return false;
      clearTimeout(timer);
      off();
      resolve(snap);
      return true;
    };
    const timer = setTimeout(() => {
      off();
      reject(new Error(`view never got there: ${JSON.stringify(summary(view.get()))}`));
    }, ms);
    const off = view.subscribe(check);
    check();
  });
}

function summary(snap: SessionSnapshot) {
  return { status: snap.status.type, messages: snap.messages.map((m) => [m.info.id, m.parts.map((p) => p.type + ("text" in p ? `:${p.text}` : ""))]), pending: snap.pending.length };
}

/** The view, once idle, ends deep-equal to what the server stores. */
async function settlesToStored(view: SessionView, session: Session): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const snap = await until(view, (s) => s.status.type === "idle");
    const stored = await session.messages();
    try {
      expect(snap.messages).toEqual(stored);
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

const text = (snap: SessionSnapshot) =>
  snap.messages
    .filter((m) => m.info.role === "assistant")
    .flatMap((m) => m.parts.flatMap((p) => (p.type === "text" ? [p.text] : [])))
    .join("|");

describe("session views on a real server", () => {
  it("pages history in: the newest first, then older pages until hasOlder is false", async () => {
    const session = await other.session.create({});
    for (let i = 0; i < 3; i++) await session.run(`turn ${i}\n${directive({ text: `answer ${i}` })}`);
    const stored = await session.messages();
    await using view = await client.session.get(session.id).watch({ history: 2 });
    expect(view.get().messages).toEqual(stored.slice(-2));
    expect(view.get().hasOlder).toBe(true);
    await view.loadOlder(3);
    expect(view.get().messages).toEqual(stored.slice(-5));
    await view.loadOlder(3);
    expect(view.get().messages).toEqual(stored);
    expect(view.get().hasOlder).toBe(false);
    // Usage summed over the loaded answers; the context window from GET /provider.
    expect(view.get().usage.output).toBeGreaterThan(0);
    expect(view.get().usage.context).toMatchObject({ limit: 2_000, model: `${PROVIDER_ID}/${MODEL_ID}` });
    expect(view.get().usage.context.used).toBeGreaterThan(0);
  });

  it("every handle the client hands out opens views: create, get, list, fork", async () => {
    const session = await client.session.create({});
    await session.run(`hello\n${directive({ text: "hi" })}`);
    const forked = await session.fork();
    const listed = (await client.session.list()).find((s) => s.id === forked.id);
    expect(listed).toBeDefined();
    for (const handle of [session, client.session.get(session.id), forked, listed!]) {
      await using view = await handle.watch({ history: 5 });
      expect(view.get().messages).toEqual(await handle.messages());
      expect(view.get().messages.length).toBe(2);
    }
  });

  it("a view opened while another client's turn streams: nothing lost or doubled, ends as stored", async () => {
    const session = await other.session.create({});
    const words = Array.from({ length: 40 }, (_, i) => `w${i}`).join(" ");
    const streaming = other.events.subscribe({ sessionID: session.id, types: ["message.part.delta"] });
    await streaming.ready;
    void session.run(`stream\n${directive({ text: words, chunks: 40, chunkDelayMs: 40 })}`);
    for await (const delta of streaming) if (delta.type === "message.part.delta") break;
    await using view = await client.session.get(session.id).watch();
    const seen: string[] = [];
    view.subscribe(() => seen.push(text(view.get())));
    await settlesToStored(view, session);
    expect(text(view.get())).toBe(words);
    // Whatever showed along the way was a prefix of the answer, never a doubled run.
    for (const shown of seen) expect(words.startsWith(shown)).toBe(true);
  });

  it("a turn another client starts shows live, text streaming in, and the same snapshot object until something changes", async () => {
    const session = await other.session.create({});
    await using view = await client.session.get(session.id).watch();
    const idle = view.get();
    expect(view.get()).toBe(idle);
    const words = Array.from({ length: 30 }, (_, i) => `v${i}`).join(" ");
    void other.session.get(session.id).run(`live\n${directive({ text: words, chunks: 30, chunkDelayMs: 30 })}`);
    const partial = await until(view, (s) => s.status.type === "busy" && text(s).length > 0 && text(s) !== words);
    expect(words.startsWith(text(partial))).toBe(true);
    await settlesToStored(view, session);
    expect(text(view.get())).toBe(words);
  });

  it("after the event connection is cut mid-turn the view re-reads and ends deep-equal to the server", async () => {
    const session = await other.session.create({});
    await using view = await client.session.get(session.id).watch();
    const words = Array.from({ length: 60 }, (_, i) => `c${i}`).join(" ");
    void other.session.get(session.id).run(`cut\n${directive({ steps: [{ toolCalls: [{ name: "read", input: { filePath: join(server.project, "missing.txt") } }] }, { text: words, chunks: 60 }], chunkDelayMs: 25 })}`);
    await until(view, (s) => text(s).length > 10);
    expect(proxy.cut("/event")).toBeGreaterThan(0);
    await until(view, (s) => text(s).length > 60);
    proxy.cut("/event", { reset: true });
    await settlesToStored(view, session);
    expect(text(view.get())).toBe(words);
    const tool = view.get().messages.flatMap((m) => m.parts).find((p) => p.type === "tool");
    expect(tool).toMatchObject({ tool: "read", state: { status: "error" } });
  });

  it("a sub-agent's permission shows in pending with the child's session, and leaves when another client answers", async () => {
    const session = await other.session.create({});
    await using view = await client.session.get(session.id).watch();
    const child = directive({ steps: [{ toolCalls: [{ name: "read", input: { filePath: join(outside, "note.txt") } }] }, { text: "Child read it." }] });
    void other.session.get(session.id).run(
      `delegate\n${directive({ steps: [{ toolCalls: [{ name: "task", input: { description: "Read the note", prompt: `read\n${child}`, subagent_type: "general" } }] }, { text: "Parent done." }] })}`,
    );
    const asked = await until(view, (s) => s.pending.length === 1);
    const request = asked.pending[0]!;
    expect(request).toMatchObject({ kind: "permission", permission: "external_directory" });
    expect(request.sessionID).not.toBe(session.id);
    // The task part names the child session the request came from.
    const task = asked.messages.flatMap((m) => m.parts).find((p) => p.type === "tool" && p.tool === "task");
    expect(task).toMatchObject({ state: { status: "running", metadata: { sessionId: request.sessionID } } });
    // A view of the child session follows it too.
    await using childView = await client.session.get(request.sessionID).watch();
    expect(childView.get().pending.map((p) => p.id)).toEqual([request.id]);
    await other.session.get(request.sessionID).respond(request.id, "once");
    await until(view, (s) => s.pending.length === 0);
    await until(childView, (s) => s.pending.length === 0 && text(s) === "Child read it.");
    await settlesToStored(view, session);
    expect(text(view.get())).toBe("Parent done.");
  });

  it("two parallel permission asks: one 'always' answered elsewhere clears both; a reject clears both", async () => {
    // The reject first: an "always" also allows later sessions' calls of the same command.
    for (const [reply, command] of [["reject", "printf"], ["always", "echo"]] as const) {
      const session = await other.session.create({});
      await using view = await client.session.get(session.id).watch();
      void other.session
        .get(session.id)
        .run(
          `two\n${directive({ steps: [{ toolCalls: [{ name: "bash", input: { command: `${command} a`, description: "a" } }, { name: "bash", input: { command: `${command} b`, description: "b" } }] }, { text: "Both ran." }] })}`,
        )
        .catch(() => undefined);
      const asked = await until(view, (s) => s.pending.length === 2);
      expect(asked.pending.map((p) => p.kind)).toEqual(["permission", "permission"]);
      await other.session.get(session.id).respond(asked.pending[0]!.id, reply);
      await until(view, (s) => s.pending.length === 0);
      await settlesToStored(view, session);
    }
  });

  it("a question asked, then answered by another client, leaves pending exact", async () => {
    const session = await other.session.create({});
    await using view = await client.session.get(session.id).watch();
    void other.session.get(session.id).run(
      `ask\n${directive({ steps: [{ toolCalls: [{ name: "question", input: { questions: [{ header: "Color", question: "Which?", options: [{ label: "Red", description: "" }] }] } }] }, { text: "Red." }] })}`,
    );
    const asked = await until(view, (s) => s.pending.length === 1);
    expect(asked.pending[0]).toMatchObject({ kind: "question", sessionID: session.id, questions: [{ header: "Color" }] });
    await other.session.get(session.id).answer(asked.pending[0]!.id, [["Red"]]);
    await until(view, (s) => s.pending.length === 0);
    await settlesToStored(view, session);
  });

  it("todos arrive as full lists and the newest shows", async () => {
    const session = await other.session.create({});
    await using view = await client.session.get(session.id).watch();
    const todos = (status: string) => ({ todos: [{ content: "write the view", status, priority: "high" }, { content: "test it", status: "pending", priority: "low" }] });
    await other.session.get(session.id).run(
      `plan\n${directive({ steps: [{ toolCalls: [{ name: "todowrite", input: todos("in_progress") }] }, { toolCalls: [{ name: "todowrite", input: todos("completed") }] }, { text: "Planned." }] })}`,
    );
    const snap = await until(view, (s) => s.todos[0]?.status === "completed");
    expect(snap.todos).toEqual(await other.session.get(session.id).todo());
    // A view opened now reads the same list.
    await using fresh = await client.session.get(session.id).watch();
    expect(fresh.get().todos).toEqual(snap.todos);
  });

  it("revert shows in info.revert, unrevert clears it, and the next prompt removes the reverted messages", async () => {
    const session = await other.session.create({});
    await session.run(`one\n${directive({ text: "first" })}`);
    await session.run(`two\n${directive({ text: "second" })}`);
    await using view = await client.session.get(session.id).watch();
    const second = view.get().messages.filter((m) => m.info.role === "user")[1]!;
    await session.revert(second.info.id);
    await until(view, (s) => s.info?.revert?.messageID === second.info.id);
    await session.unrevert();
    await until(view, (s) => s.info?.revert === undefined);
    await session.revert(second.info.id);
    await until(view, (s) => s.info?.revert !== undefined);
    await session.run(`three\n${directive({ text: "third" })}`);
    const after = await until(view, (s) => !s.messages.some((m) => m.info.id === second.info.id) && text(s) === "first|third");
    expect(after.messages.length).toBe(4);
    await settlesToStored(view, session);
  });

  it("compaction: the summary and its messages show as the server stores them", async () => {
    const session = await other.session.create({});
    await session.run(`work\n${directive({ text: "did the work" })}`);
    await using view = await client.session.get(session.id).watch();
    await session.summarize({ model: `${PROVIDER_ID}/${MODEL_ID}` });
    await until(view, (s) => s.messages.some((m) => m.parts.some((p) => p.type === "compaction")));
    await settlesToStored(view, session);
    // A summarize() between turns belongs to no turn: the turn before it shows no compaction, and its usage no summary.
    const reloaded = toUIMessages(await session.messages());
    expect(reloaded.map((m) => m.role)).toEqual(["user", "assistant"]);
    expect(reloaded[1]!.parts.map((p) => p.type)).toEqual(["step-start", "text"]);
    const turn = view.get().messages.find((m) => m.info.role === "assistant")!.info;
    expect(reloaded[1]!.metadata?.usage?.output).toBe(turn.role === "assistant" ? turn.tokens.output : -1);
  });

  it("one event connection serves every view and turn of the client; closing every view leaves none open", async () => {
    const fresh = createClient({ baseUrl: proxy.url, username: server.username, password: server.password, logger: {} });
    const from = proxy.connections.length;
    const streams = () => proxy.connections.slice(from).filter((c) => c.path?.startsWith("/event"));
    const sessions = await Promise.all([0, 1, 2].map(() => other.session.create({})));
    const views = await Promise.all(sessions.map((s) => fresh.session.get(s.id).watch()));
    const list = await fresh.session.watchAll();
    await fresh.session.get(sessions[0]!.id).run(`hi\n${directive({ text: "one stream" })}`);
    expect(streams().length).toBe(1);
    for (const view of views) view.close();
    list.close();
    expect(fresh.events.state).toBe("closed");
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(streams().every((c) => c.closed)).toBe(true);
    await fresh.close();
  });

  it("the view of a session's child appears when another client starts it, from session.created", async () => {
    const session = await other.session.create({});
    await using list = await client.session.watchAll();
    const childInfo = await other.session.create({ parentID: session.id, title: "child" } as never);
    const seen = await new Promise<boolean>((resolve) => {
      const check = () => list.get().sessions.some((e) => e.info.id === childInfo.id && e.info.parentID === session.id);
      if (check()) return resolve(true);
      const off = list.subscribe(() => check() && (off(), resolve(true)));
      setTimeout(() => resolve(check()), 10_000);
    });
    expect(seen).toBe(true);
  });

  it("a page reload shows what the stream showed: toUIMessages of the stored turn (question, sub-agent, permissions), open requests from the view's pending", async () => {
    const session = await client.session.create({});
    // Commands no other test here allows "always", so both ask.
    const child = directive({ steps: [{ text: "Child reads. ", toolCalls: [{ name: "bash", input: { command: "pwd", description: "child" } }] }, { text: "Child done." }] });
    const turn = session.prompt(
      `all of it\n${directive({
        steps: [
          { toolCalls: [{ name: "question", input: { questions: [{ header: "Color", question: "Which?", options: [{ label: "Red", description: "" }, { label: "Blue", description: "" }] }] } }] },
          { toolCalls: [{ name: "task", input: { description: "Run the child", prompt: `run\n${child}`, subagent_type: "general" } }] },
          { text: "Now mine. ", toolCalls: [{ name: "bash", input: { command: "uname", description: "root" } }] },
          { text: "All done." },
        ],
      })}`,
    );
    await using view = await client.session.get(session.id).watch();
    /** A reload while the request is open: the view's history and pending show it, answerable by its id. */
    const reloadShowsOpen = async (id: string) => {
      const snap = await until(view, (s) => s.pending.some((p) => p.id === id));
      const parts = toUIMessages(snap.messages, { pending: snap.pending }).at(-1)!.parts;
      expect(parts.some((p) => (p.type === "data-question" && p.data.status === "asked" && p.data.id === id) || (p.type === "dynamic-tool" && p.state === "approval-requested" && p.approval.id === id))).toBe(true);
    };
    const chunks: OpencodeUIChunk[] = [];
    const reader = toUIMessageStream(turn).getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      chunks.push(r.value);
      // Answered as a user of the page would: the question's request id, the approval's id.
      if (r.value.type === "data-question" && r.value.data.status === "asked") {
        await reloadShowsOpen(r.value.data.id!);
        await session.answer(r.value.data.id!, [["Blue"]]);
      }
      if (r.value.type === "tool-approval-request") {
        await reloadShowsOpen(r.value.approvalId);
        await session.respond(r.value.approvalId, "once");
      }
    }
    const { message: streamed, errors } = await messageOf(chunks as UIMessageChunk[]);
    expect(errors).toEqual([]);
    const kinds = streamed!.parts.map((p) => p.type);
    expect(kinds).toEqual(expect.arrayContaining(["data-question", "data-subagent", "dynamic-tool"]));
    expect(streamed!.parts.filter((p) => p.type === "dynamic-tool" && p.approval).length).toBe(2);
    // The reload: history from the server, no stream.
    const reloaded = toUIMessages(await session.messages());
    expect(reloaded.map((m) => m.role)).toEqual(["user", "assistant"]);
    expectReloadShows(reloaded[1]!, streamed!, { trimsText: !versionAtLeast(server.version, "1.14.0") });
  });
});
