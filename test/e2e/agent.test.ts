// Turns that follow the whole agent on a real `opencode serve`: a `task` sub-agent asking a
// permission, the question tool, automatic compaction mid-turn, a stop from a second client followed
// at once by a prompt, a permission asked while the event connection was down, and reconnects during
// reasoning and during a tool step.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AbortedError, StoppedAfterToolCallsError, type OpencodeClient, type Reply, type Session, type Turn } from "../../src/index.js";
import { startFaultProxy, type FaultProxy } from "../support/fault-proxy.js";
import { directive, startModelServer, SUMMARY_TEXT, type ModelServer } from "../support/model-server.js";
import { startTestServer, type TestServer } from "../support/opencode.js";

let model: ModelServer;
let server: TestServer;
let client: OpencodeClient;
let outside: string;

beforeAll(async () => {
  // A small context window: a step reporting 5 000 prompt tokens overflows it and makes the server compact.
  model = await startModelServer({ model: { limit: { context: 2_000, output: 200 }, cost: { input: 1, output: 2 } } });
  server = await startTestServer({ config: model.providerConfig({ permission: { bash: "ask" } }) });
  client = server.client();
  outside = mkdtempSync(join(tmpdir(), "opencode-outside-"));
  writeFileSync(join(outside, "note.txt"), "outside the project\n");
});
afterAll(async () => {
  await server?.close();
  await model?.close();
  if (outside) rmSync(outside, { recursive: true, force: true });
});

async function storedTurn(session: Session, userMessageID: string) {
  const messages = await session.messages();
  return messages.filter((m) => m.info.role === "assistant" && "parentID" in m.info && m.info.parentID !== undefined && m.info.id > userMessageID);
}

/** Reads a turn to its end, allowing every permission it asks for once. */
async function readAllowing(session: Session, turn: Turn): Promise<Reply[]> {
  const replies: Reply[] = [];
  for await (const reply of turn) {
    replies.push(reply);
    if (reply.kind === "permission") await session.respond(reply.id, "once");
  }
  return replies;
}

const joined = (replies: Reply[], kind: "delta" | "reasoning") =>
  replies.flatMap((r) => (r.kind === kind && r.parentSessionID === undefined ? [r.text] : [])).join("");

describe("agent turns on a real server", () => {
  it("a task sub-agent whose child asks external_directory: answered, the turn completes", async () => {
    const session = await client.session.create({});
    const child = directive({ steps: [{ toolCalls: [{ name: "read", input: { filePath: join(outside, "note.txt") } }] }, { text: "Child read it." }] });
    const turn = session.prompt(
      `delegate\n${directive({
        steps: [{ toolCalls: [{ name: "task", input: { description: "Read the note", prompt: `read the note\n${child}`, subagent_type: "general" } }] }, { text: "Parent done." }],
      })}`,
    );
    const replies = await readAllowing(session, turn);
    const final = await turn.done;
    const permission = replies.find((r) => r.kind === "permission");
    const started = replies.find((r) => r.kind === "subagent" && r.status === "started");
    expect(started).toMatchObject({ parentSessionID: session.id, agent: "general", description: "Read the note" });
    expect(permission).toMatchObject({ permission: "external_directory", sessionID: started!.sessionID, parentSessionID: session.id });
    expect(replies.some((r) => r.kind === "permission_replied" && r.id === (permission as { id: string }).id)).toBe(true);
    expect(replies.some((r) => r.kind === "subagent" && r.status === "idle")).toBe(true);
    // The child's text stays out of the root's.
    expect(final.text).toBe("Parent done.");
    expect(turn.text).toBe("Parent done.");
    expect(final.subagentUsage.output).toBeGreaterThan(0);
  });

  it("the question tool: the question is a reply, answering it finishes the turn", async () => {
    const session = await client.session.create({});
    const turn = session.prompt(
      `ask me\n${directive({
        steps: [
          {
            toolCalls: [
              {
                name: "question",
                input: { questions: [{ header: "Color", question: "Which color?", options: [{ label: "Red", description: "warm" }, { label: "Blue", description: "cool" }] }] },
              },
            ],
          },
          { text: "Blue it is." },
        ],
      })}`,
    );
    const replies: Reply[] = [];
    for await (const reply of turn) {
      replies.push(reply);
      if (reply.kind === "question") await session.answer(reply.id, [["Blue"]]);
    }
    const question = replies.find((r) => r.kind === "question");
    expect(question).toMatchObject({ sessionID: session.id, questions: [{ header: "Color", question: "Which color?", multiple: false }] });
    expect(replies.find((r) => r.kind === "question_replied")).toMatchObject({ answers: [["Blue"]], rejected: false });
    expect((await turn.done).text).toBe("Blue it is.");
  });

  it("a question rejected through the handle ends the tool with an error, and the run stops there: StoppedAfterToolCallsError", async () => {
    const session = await client.session.create({});
    const turn = session.prompt(
      `ask\n${directive({ steps: [{ toolCalls: [{ name: "question", input: { questions: [{ header: "Go", question: "Go on?", options: [{ label: "Yes", description: "" }] }] } }] }, { text: "Fine." }] })}`,
    );
    const replies: Reply[] = [];
    for await (const reply of turn) {
      replies.push(reply);
      if (reply.kind === "question") await session.rejectQuestion(reply.id);
    }
    expect(replies.find((r) => r.kind === "question_replied")).toMatchObject({ rejected: true });
    expect(replies.find((r) => r.kind === "tool_result")).toMatchObject({ tool: "question", status: "error" });
    expect(await turn.done.catch((e: unknown) => e)).toBeInstanceOf(StoppedAfterToolCallsError);
  });

  it("auto-compaction mid-turn: the turn follows the continuation, and the final is its answer", async () => {
    const session = await client.session.create({});
    const turn = session.prompt(
      `long work\n${directive({
        steps: [{ toolCalls: [{ name: "bash", input: { command: "echo hi", description: "hi" } }], usage: { prompt: 5_000, completion: 10 } }],
      })}`,
    );
    const replies = await readAllowing(session, turn);
    const final = await turn.done;
    expect(replies.find((r) => r.kind === "compaction")).toMatchObject({ sessionID: session.id, auto: true });
    // The continuation is answered without a directive: the model server's default text.
    expect(final.text).toBe("Default reply.");
    expect(joined(replies, "delta")).not.toContain(SUMMARY_TEXT);
    // Usage covers the tool step, the summary and the continuation.
    const messages = await session.messages();
    const assistants = messages.filter((m) => m.info.role === "assistant");
    expect(assistants).toHaveLength(3);
    const input = assistants.reduce((sum, m) => sum + (m.info.role === "assistant" ? m.info.tokens.input : 0), 0);
    expect(final.usage.input).toBe(input);
  });

  it("a stop from a second client followed at once by its prompt: the new turn is answered, not aborted", async () => {
    const session = await client.session.create({});
    const other = server.client();
    // The second client's stream is already open (like a tab that has been watching), so its turn
    // subscribes at once and sees the stopped turn's trailing error and idle that follow the stop.
    const watching = other.events.subscribe({});
    await watching.ready;
    const first = session.prompt(`slow\n${directive({ text: "one two three four five six seven eight", chunks: 8, chunkDelayMs: 200 })}`);
    const firstDone = first.done.catch((e: unknown) => e);
    for await (const reply of first) if (reply.kind === "delta") break;
    // The second client (another tab, the TUI) stops the session and sends its own prompt right away.
    const handle = other.session.get(session.id);
    await handle.abort();
    const second = handle.prompt(`next\n${directive({ text: "The second answer." })}`);
    expect((await second.done).text).toBe("The second answer.");
    expect(await firstDone).toBeInstanceOf(AbortedError);
    watching.close();
  });
});

describe("agent turns through a faulty connection", () => {
  let proxy: FaultProxy;
  let faulty: OpencodeClient;

  beforeAll(async () => {
    proxy = await startFaultProxy(server.url);
    faulty = server.client({ baseUrl: proxy.url, events: { idleTimeoutMs: 1_500, reconnectMaxMs: 300 } });
  });
  afterAll(async () => {
    await proxy?.close();
  });

  it("a permission asked while the event connection was down is shown after the reconnect", async () => {
    const session = await faulty.session.create({});
    const turn = session.prompt(
      `run it\n${directive({
        chunkDelayMs: 150,
        steps: [{ text: "Let me run it.", chunks: 4, toolCalls: [{ name: "bash", input: { command: "echo asked", description: "Asked" } }] }, { text: "It ran." }],
      })}`,
    );
    const replies: Reply[] = [];
    let stalled = false;
    for await (const reply of turn) {
      replies.push(reply);
      if (reply.kind === "delta" && !stalled) {
        // Silence the stream: the permission is asked into it and lost; the watchdog reconnects.
        stalled = proxy.stall("/event") === 1;
      }
      if (reply.kind === "permission") await session.respond(reply.id, "once");
    }
    expect(stalled).toBe(true);
    expect(replies.filter((r) => r.kind === "permission")).toHaveLength(1);
    const final = await turn.done;
    expect(final.text).toBe("It ran.");
  });

  it.each([
    ["during reasoning", { reasoning: "thinking ".repeat(20), text: "The answer after thinking.", chunks: 20, chunkDelayMs: 50 }, "reasoning"],
    ["during a tool step", { steps: [{ toolCalls: [{ name: "bash", input: { command: "sleep 1; echo slept", description: "Sleep" } }] }, { text: "After the tool.", chunks: 5 }] }, "tool_call"],
  ] as const)("a reconnect %s loses and repeats nothing", async (_, script, cutAt) => {
    const session = await faulty.session.create({});
    const turn = session.prompt(`go\n${directive(script as never)}`);
    const replies: Reply[] = [];
    let cut = false;
    for await (const reply of turn) {
      replies.push(reply);
      if (reply.kind === "permission") await session.respond(reply.id, "once");
      if (!cut && reply.kind === cutAt) cut = proxy.cut("/event") === 1;
    }
    expect(cut).toBe(true);
    const final = await turn.done;
    const stored = await storedTurn(session, turn.messageID!);
    const storedText = (kind: "text" | "reasoning") =>
      stored.flatMap((m) => m.parts.flatMap((p) => (p.type === kind ? [p.text] : []))).join("");
    expect(joined(replies, "delta")).toBe(storedText("text"));
    expect(joined(replies, "reasoning")).toBe(storedText("reasoning"));
    expect(final.text).toBe(stored.at(-1)!.parts.flatMap((p) => (p.type === "text" ? [p.text] : [])).join(""));
    const results = replies.filter((r) => r.kind === "tool_result");
    expect(new Set(results.map((r) => (r as { callID: string }).callID)).size).toBe(results.length);
  });
});
