// The AI SDK adapter read by `ai` itself: chunks parsed and validated with its SSE parser and chunk
// schema (as useChat's default transport does), then folded into a UIMessage by readUIMessageStream.
// Recorded turns (text, reasoning, tool, permission, provider error) and constructed ones (question,
// sub-agent, compaction, retry, abort) must give exactly these message parts.
import { describe, expect, it } from "vitest";
import type { UIMessage, UIMessageChunk } from "ai";
import { UIChats, UIMessageChunks, toUIMessageStream, UI_MESSAGE_STREAM_HEADERS, type OpencodeUIChunk, type TurnLike } from "../../src/ui/ai-sdk.js";
import type { Session } from "../../src/session/session.js";
import type { Reply, Usage } from "../../src/turn/replies.js";
import { AbortedError } from "../../src/turn/errors.js";
import { chunksOfResponse, fixtureReplies, messageOf, turnOf } from "./ai-sdk-support.js";
import { ALLOWED, SECRETS, errors } from "./error-zoo.js";

// Compile-time: every chunk we emit is one of ai's UIMessageChunks.
const _compatible = (chunk: OpencodeUIChunk): UIMessageChunk => chunk;
void _compatible;

/** The chunks as SSE, read back through ai's parser and schema. */
async function viaSSE(chunks: OpencodeUIChunk[]): Promise<UIMessageChunk[]> {
  const body = chunks.map((chunk) => `data: ${JSON.stringify(chunk)}\n\n`).join("") + "data: [DONE]\n\n";
  return chunksOfResponse(new Response(body, { headers: UI_MESSAGE_STREAM_HEADERS }));
}

async function streamChunks(turn: TurnLike): Promise<OpencodeUIChunk[]> {
  const out: OpencodeUIChunk[] = [];
  const reader = toUIMessageStream(turn).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return out;
    out.push(value);
  }
}

async function messageOfTurn(turn: TurnLike): Promise<UIMessage> {
  const { message, errors: reported } = await messageOf(await viaSSE(await streamChunks(turn)));
  expect(reported).toEqual([]);
  return message!;
}

const zero: Usage = { input: 0, output: 0, reasoning: 0, cacheRead: 0, cacheWrite: 0, cost: 0 };
const ROOT = "ses_root";
const CHILD = "ses_child";
const USER = "msg_user";

function final(text: string, usage: Usage = zero, subagentUsage: Usage = zero): Reply {
  return { kind: "final", sessionID: ROOT, messageID: "msg_a2", text, finish: "stop", usage, subagentUsage };
}

describe("UI message stream over recorded turns", () => {
  it("text: one step, one text part, usage and cost as metadata; headers as ai's", async () => {
    const f = fixtureReplies("text");
    const response = new UIChats().start(turnOf(f.sessionID, f.messageID, f.replies));
    for (const [key, value] of Object.entries(UI_MESSAGE_STREAM_HEADERS)) expect(response.headers.get(key)).toBe(value);
    expect(response.headers.get("x-vercel-ai-ui-message-stream")).toBe("v1");
    const chunks = await chunksOfResponse(response);
    expect(chunks.map((c) => c.type)).toEqual([
      "start", "start-step", "text-start", ...Array(6).fill("text-delta"), "text-end", "finish-step", "finish",
    ]);
    const { message, errors: reported } = await messageOf(chunks);
    expect(reported).toEqual([]);
    expect(message).toEqual({
      id: `${f.messageID}-reply`,
      role: "assistant",
      metadata: {
        sessionID: f.sessionID,
        turnMessageID: f.messageID,
        assistantMessageID: "msg_1fdcd9cd9001iuJJjmJMsa1ccn",
        finish: "stop",
        usage: { input: 32, output: 12, reasoning: 0, cacheRead: 8, cacheWrite: 0, cost: 0.00006, contextUsed: 52 },
        subagentUsage: zero,
        cost: 0.00006,
      },
      parts: [{ type: "step-start" }, { type: "text", text: "Hello from the scripted model, streamed in chunks.", state: "done" }],
    });
  });

  it("reasoning: a reasoning part before the text, never mixed into it", async () => {
    const f = fixtureReplies("reasoning");
    const message = await messageOfTurn(turnOf(f.sessionID, f.messageID, f.replies));
    expect(message.parts).toEqual([
      { type: "step-start" },
      { type: "reasoning", text: "The user wants a number. Forty-two is traditional.", state: "done" },
      { type: "text", text: "The answer is 42.", state: "done" },
    ].map((part) => (part.type === "reasoning" ? { ...part, id: expect.any(String) } : part)));
  });

  it("tool: the real tool name and input as a dynamic tool with its output, then the next step's text", async () => {
    const f = fixtureReplies("tool");
    const message = await messageOfTurn(turnOf(f.sessionID, f.messageID, f.replies));
    expect(message.parts).toEqual([
      { type: "step-start" },
      {
        type: "dynamic-tool",
        toolName: "bash",
        toolCallId: "call_fixture_tool",
        state: "output-available",
        input: { command: "echo fixture", description: "Print fixture" },
        output: "fixture\n",
      },
      { type: "step-start" },
      { type: "text", text: "The command printed fixture.", state: "done" },
    ]);
  });

  it("provider error: the error chunk and a safe error in the metadata, nothing of the provider's response", async () => {
    const f = fixtureReplies("provider-401");
    const chunks = await viaSSE(await streamChunks(turnOf(f.sessionID, f.messageID, f.replies)));
    expect(chunks.map((c) => c.type).slice(-3)).toEqual(["message-metadata", "error", "finish"]);
    const { message, errors: reported } = await messageOf(chunks);
    expect(reported).toHaveLength(1);
    expect(reported[0]).toMatch(/^Error: ProviderAuthError: /);
    expect(message!.metadata).toMatchObject({ error: { name: "ProviderAuthError", retryable: false, status: 401 } });
    expect(JSON.stringify(chunks)).not.toMatch(/responseHeaders|responseBody|https?:\/\//);
  });
});

describe("permission as a tool approval, answered through addToolApprovalResponse", () => {
  it("the response pauses at the approval; the approval POST calls session.respond and the same turn continues", async () => {
    const f = fixtureReplies("permission");
    const asked = f.replies.findIndex((r) => r.kind === "permission");
    // The recorded turn, held at the permission until the server side answers it.
    let release = () => {};
    const answered = new Promise<void>((resolve) => (release = resolve));
    const turn: TurnLike = {
      sessionID: f.sessionID,
      messageID: f.messageID,
      async *[Symbol.asyncIterator]() {
        for (const [i, reply] of f.replies.entries()) {
          if (i === asked + 1) await answered;
          yield reply;
        }
      },
    };
    const responded: [string, string][] = [];
    const session = {
      id: f.sessionID,
      async respond(id: string, response: string) {
        responded.push([id, response]);
        release();
      },
    } as unknown as Session;
    const chats = new UIChats();

    const first = await chunksOfResponse(chats.start(turn));
    expect(first.map((c) => c.type)).toEqual(["start", "start-step", "tool-input-start", "tool-input-available", "tool-approval-request", "finish"]);
    const paused = (await messageOf(first)).message!;
    expect(paused.parts[1]).toMatchObject({
      type: "dynamic-tool",
      toolName: "bash",
      state: "approval-requested",
      input: { command: "echo permitted", description: "Needs permission" },
      approval: { id: "per_1fdce040f001Y6GZV6LXGYazRi", descriptor: { permission: "bash", patterns: ["echo permitted"] } },
    });

    // What useChat's addToolApprovalResponse({ id, approved: true }) leaves in the message it POSTs.
    const approvedMessage = {
      ...paused,
      parts: paused.parts.map((part) =>
        part.type === "dynamic-tool" && part.state === "approval-requested"
          ? { ...part, state: "approval-responded" as const, approval: { ...part.approval, approved: true } }
          : part,
      ),
    } as UIMessage;
    const continuation = await chats.handle(session, { messages: [approvedMessage] }, () => {
      throw new Error("an approval must not start a new turn");
    });
    expect(responded).toEqual([["per_1fdce040f001Y6GZV6LXGYazRi", "once"]]);
    const rest = await chunksOfResponse(continuation);
    expect(rest[0]).toEqual({ type: "start", messageId: `${f.messageID}-reply`, messageMetadata: { sessionID: f.sessionID, turnMessageID: f.messageID } });
    const { message, errors: reported } = await messageOf(rest, approvedMessage);
    expect(reported).toEqual([]);
    expect(message!.parts).toEqual([
      { type: "step-start" },
      {
        type: "dynamic-tool",
        toolName: "bash",
        toolCallId: "call_fixture_permission",
        state: "output-available",
        input: { command: "echo permitted", description: "Needs permission" },
        output: "permitted\n",
        approval: { id: "per_1fdce040f001Y6GZV6LXGYazRi", approved: true, descriptor: { permission: "bash", patterns: ["echo permitted"] } },
      },
      { type: "step-start" },
      { type: "text", text: "Permission granted, it ran.", state: "done" },
    ]);
    // The same approval sent again (useChat re-checks after every response) is not answered twice.
    await chats.answerApprovals(session, approvedMessage);
    expect(responded).toHaveLength(1);
    // The turn was delivered to its end: nothing left to continue or resume.
    expect(chats.resume(f.sessionID).status).toBe(204);
  });

  it("a user message's useChat file parts reach the prompt as file parts; a message with only a file is a prompt too", async () => {
    const chats = new UIChats();
    const session = { id: ROOT } as unknown as Session;
    const prompted: [string, unknown[]][] = [];
    const message = {
      id: "u1",
      role: "user" as const,
      parts: [
        { type: "text", text: "what is this?" },
        { type: "file", mediaType: "image/png", filename: "dot.png", url: "data:image/png;base64,AAAA" },
      ],
    };
    const response = await chats.handle(session, { messages: [message] }, (text, files) => {
      prompted.push([text, files]);
      return turnOf(ROOT, "msg_u1", [final("A dot.")]) as never;
    });
    await chunksOfResponse(response);
    expect(prompted).toEqual([["what is this?", [{ type: "file", mime: "image/png", filename: "dot.png", url: "data:image/png;base64,AAAA" }]]]);
    const onlyFile = { ...message, id: "u2", parts: [message.parts[1]!] };
    const second = await chats.handle(session, { messages: [onlyFile] }, (text, files) => {
      prompted.push([text, files]);
      return turnOf(ROOT, "msg_u2", [final("Still a dot.")]) as never;
    });
    expect(second.status).toBe(200);
    expect(prompted[1]).toEqual(["", [{ type: "file", mime: "image/png", filename: "dot.png", url: "data:image/png;base64,AAAA" }]]);
  });

  it("a permission asked before the tool's input arrived: the approved tool ends with its real input, not the placeholder", async () => {
    const replies: Reply[] = [
      { kind: "tool_call", sessionID: ROOT, messageID: "msg_a1", partID: "p1", callID: "c1", tool: "bash", input: {}, status: "pending" },
      { kind: "permission", sessionID: ROOT, id: "per_1", permission: "bash", patterns: ["echo x"], always: [], metadata: {}, tool: { messageID: "msg_a1", callID: "c1" } },
      { kind: "permission_replied", sessionID: ROOT, id: "per_1", reply: "once" },
      { kind: "tool_call", sessionID: ROOT, messageID: "msg_a1", partID: "p1", callID: "c1", tool: "bash", input: { command: "echo x" }, status: "running" },
      { kind: "tool_result", sessionID: ROOT, messageID: "msg_a1", partID: "p1", callID: "c1", tool: "bash", input: { command: "echo x" }, status: "completed", output: "x", title: "echo x", metadata: {} },
      final(""),
    ];
    const message = await messageOfTurn(turnOf(ROOT, USER, replies));
    expect(message.parts[1]).toMatchObject({ state: "output-available", input: { command: "echo x" }, title: "echo x", approval: { id: "per_1", approved: true } });
  });

  it("a denied approval ends as output-denied", async () => {
    const replies: Reply[] = [
      { kind: "tool_call", sessionID: ROOT, messageID: "msg_a1", partID: "p1", callID: "c1", tool: "bash", input: { command: "rm -rf x" }, status: "running" },
      { kind: "permission", sessionID: ROOT, id: "per_1", permission: "bash", patterns: ["rm -rf x"], always: [], metadata: {}, tool: { messageID: "msg_a1", callID: "c1" } },
      { kind: "permission_replied", sessionID: ROOT, id: "per_1", reply: "reject" },
      { kind: "tool_result", sessionID: ROOT, messageID: "msg_a1", partID: "p1", callID: "c1", tool: "bash", input: { command: "rm -rf x" }, status: "error", error: "The user rejected permission", metadata: {} },
      final(""),
    ];
    const message = await messageOfTurn(turnOf(ROOT, USER, replies));
    expect(message.parts[1]).toMatchObject({ type: "dynamic-tool", toolCallId: "c1", state: "output-denied", approval: { id: "per_1", approved: false } });
  });
});

describe("opencode's own activity as typed data parts", () => {
  it("a question with its options, then its answers, on the question tool call", async () => {
    const questions = [
      { header: "Deploy", question: "Deploy now?", options: [{ label: "Yes", description: "ship it" }, { label: "No", description: "wait" }], multiple: false, custom: true },
    ];
    const replies: Reply[] = [
      { kind: "tool_call", sessionID: ROOT, messageID: "msg_a1", partID: "p1", callID: "cq", tool: "question", input: {}, status: "pending" },
      { kind: "question", sessionID: ROOT, id: "que_1", questions, tool: { messageID: "msg_a1", callID: "cq" } },
      { kind: "tool_call", sessionID: ROOT, messageID: "msg_a1", partID: "p1", callID: "cq", tool: "question", input: { questions }, status: "running" },
      { kind: "question_replied", sessionID: ROOT, id: "que_1", answers: [["Yes"]], rejected: false },
      { kind: "tool_result", sessionID: ROOT, messageID: "msg_a1", partID: "p1", callID: "cq", tool: "question", input: { questions }, status: "completed", output: "Yes", metadata: {} },
      { kind: "delta", sessionID: ROOT, messageID: "msg_a2", partID: "p2", text: "Deploying." },
      final("Deploying."),
    ];
    const message = await messageOfTurn(turnOf(ROOT, USER, replies));
    expect(message.parts).toEqual([
      { type: "step-start" },
      { type: "dynamic-tool", toolName: "question", toolCallId: "cq", state: "output-available", input: { questions }, output: "Yes" },
      { type: "data-question", id: "cq", data: { id: "que_1", sessionID: ROOT, questions, callID: "cq", status: "answered", answers: [["Yes"]] } },
      { type: "step-start" },
      { type: "text", text: "Deploying.", state: "done" },
    ]);
  });

  it("a sub-agent: its status as a data part, its text and tools marked with its session, its permission approvable, its usage apart", async () => {
    const childUsage: Usage = { input: 10, output: 5, reasoning: 0, cacheRead: 0, cacheWrite: 0, cost: 0.002 };
    const rootUsage: Usage = { input: 20, output: 8, reasoning: 0, cacheRead: 0, cacheWrite: 0, cost: 0.003 };
    const taskInput = { description: "look around", prompt: "list files", subagent_type: "general" };
    const child = { sessionID: CHILD, parentSessionID: ROOT };
    const replies: Reply[] = [
      { kind: "tool_call", sessionID: ROOT, messageID: "msg_a1", partID: "pt", callID: "call_task", tool: "task", input: {}, status: "pending" },
      { kind: "subagent", ...child, agent: "general", description: "look around", status: "started", callID: "call_task" },
      { kind: "tool_call", sessionID: ROOT, messageID: "msg_a1", partID: "pt", callID: "call_task", tool: "task", input: taskInput, status: "running" },
      { kind: "delta", ...child, messageID: "msg_c1", partID: "pc1", text: "Looking " },
      { kind: "delta", ...child, messageID: "msg_c1", partID: "pc1", text: "around." },
      { kind: "permission", ...child, id: "per_dir", permission: "external_directory", patterns: ["/tmp/elsewhere/*"], always: [], metadata: {} },
      { kind: "permission_replied", ...child, id: "per_dir", reply: "once" },
      { kind: "tool_call", ...child, messageID: "msg_c1", partID: "pc2", callID: "call_ls", tool: "bash", input: { command: "ls" }, status: "running" },
      { kind: "tool_result", ...child, messageID: "msg_c1", partID: "pc2", callID: "call_ls", tool: "bash", input: { command: "ls" }, status: "completed", output: "a b", metadata: {} },
      { kind: "subagent", ...child, agent: "general", description: "look around", status: "idle", callID: "call_task" },
      { kind: "tool_result", sessionID: ROOT, messageID: "msg_a1", partID: "pt", callID: "call_task", tool: "task", input: taskInput, status: "completed", output: "a b", metadata: {} },
      { kind: "delta", sessionID: ROOT, messageID: "msg_a2", partID: "pr", text: "Found a and b." },
      final("Found a and b.", rootUsage, childUsage),
    ];
    const message = await messageOfTurn(turnOf(ROOT, USER, replies));
    const marker = { opencode: { sessionID: CHILD, parentSessionID: ROOT } };
    expect(message.parts).toEqual([
      { type: "step-start" },
      { type: "dynamic-tool", toolName: "task", toolCallId: "call_task", state: "output-available", input: taskInput, output: "a b" },
      { type: "data-subagent", id: CHILD, data: { ...child, agent: "general", description: "look around", status: "idle", callID: "call_task" } },
      { type: "text", text: "Looking around.", state: "done", providerMetadata: marker },
      {
        type: "dynamic-tool",
        toolName: "external_directory",
        toolCallId: "per_dir",
        state: "output-available",
        input: { patterns: ["/tmp/elsewhere/*"], metadata: {} },
        output: "once",
        callProviderMetadata: marker,
        approval: { id: "per_dir", approved: true, descriptor: { permission: "external_directory", patterns: ["/tmp/elsewhere/*"] } },
      },
      { type: "dynamic-tool", toolName: "bash", toolCallId: "call_ls", state: "output-available", input: { command: "ls" }, output: "a b", callProviderMetadata: marker },
      { type: "step-start" },
      { type: "text", text: "Found a and b.", state: "done" },
    ]);
    expect(message.metadata).toMatchObject({ usage: rootUsage, subagentUsage: childUsage, cost: 0.005 });
  });

  it("compaction as a data part; a retry that discards text drops the failed attempt's parts", async () => {
    const replies: Reply[] = [
      { kind: "delta", sessionID: ROOT, messageID: "msg_a1", partID: "p1", text: "Half an ans" },
      { kind: "retry", sessionID: ROOT, attempt: 1, message: "Provider overloaded at https://api.provider.example/v1", next: 1_800_000_002_000, discarded: [{ messageID: "msg_a1", partID: "p1", kind: "text", text: "Half an ans" }] },
      { kind: "delta", sessionID: ROOT, messageID: "msg_a1", partID: "p2", text: "A whole answer." },
      { kind: "compaction", sessionID: ROOT, messageID: "msg_compact", auto: true },
      { kind: "delta", sessionID: ROOT, messageID: "msg_a3", partID: "p3", text: "Continuing." },
      final("Continuing."),
    ];
    const message = await messageOfTurn(turnOf(ROOT, USER, replies));
    expect(message.parts).toEqual([
      { type: "step-start" },
      { type: "data-retry", id: "retry", data: { attempt: 1, message: "Provider overloaded at [url]", next: 1_800_000_002_000 } },
      { type: "text", text: "A whole answer.", state: "done" },
      { type: "data-compaction", id: "msg_compact", data: { sessionID: ROOT, messageID: "msg_compact", auto: true } },
      { type: "step-start" },
      { type: "text", text: "Continuing.", state: "done" },
    ]);
  });

  it("an aborted turn ends with an abort chunk, not an error", async () => {
    const aborted = new AbortedError("MessageAbortedError: aborted", { name: "MessageAbortedError" });
    const chunks = await viaSSE(
      await streamChunks(turnOf(ROOT, USER, [{ kind: "delta", sessionID: ROOT, messageID: "m", partID: "p", text: "Hal" }, { kind: "error", sessionID: ROOT, error: aborted }])),
    );
    expect(chunks.map((c) => c.type)).toEqual(["start", "start-step", "text-start", "text-delta", "text-end", "message-metadata", "abort", "finish"]);
  });
});

describe("errors in the UI message stream", () => {
  it.each(errors.map((error) => [error.constructor.name, error] as const))("%s: allowlisted metadata, safe error text", async (_, error) => {
    const chunks = new UIMessageChunks(ROOT).map({ kind: "error", sessionID: ROOT, error });
    const parsed = await viaSSE(chunks);
    const metadata = parsed.find((c) => c.type === "message-metadata");
    const wire = (metadata as { messageMetadata: { error: Record<string, unknown> } }).messageMetadata.error;
    expect(Object.keys(wire).every((key) => ALLOWED.includes(key)), JSON.stringify(wire)).toBe(true);
    expect(wire["name"]).toBe(error.name);
    const json = JSON.stringify(parsed);
    for (const secret of SECRETS) expect(json, `${secret} in ${json}`).not.toContain(secret);
  });
});

describe("useChat resume and disconnects", () => {
  const replies: Reply[] = [
    ...["One ", "two ", "three ", "four ", "five."].map((text): Reply => ({ kind: "delta", sessionID: ROOT, messageID: "msg_a1", partID: "p1", text })),
    final("One two three four five."),
  ];

  /** A turn that yields its replies as the test releases them. */
  function gated() {
    let released = 0;
    let wake = () => {};
    const turn = turnOf(ROOT, USER, []);
    turn[Symbol.asyncIterator] = async function* () {
      for (let i = 0; i < replies.length; i++) {
        while (i >= released) await new Promise<void>((resolve) => (wake = resolve));
        yield replies[i]!;
      }
    };
    return { turn, release: (n: number) => ((released = n), wake()) };
  }

  async function firstChunks(response: Response, count: number): Promise<void> {
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    while ((text.match(/^data: /gm) ?? []).length < count) text += decoder.decode((await reader.read()).value, { stream: true });
    await reader.cancel();
  }

  it("the resume request replays the running turn from its start (useChat resets and rebuilds), then goes on live", async () => {
    const { turn, release } = gated();
    const chats = new UIChats({ reconnectGraceMs: 10_000 });
    release(3);
    await firstChunks(chats.start(turn), 4);
    const resumed = chats.resume(ROOT);
    release(replies.length);
    const { message, errors: reported } = await messageOf(await chunksOfResponse(resumed));
    expect(reported).toEqual([]);
    expect(message!.parts).toEqual([{ type: "step-start" }, { type: "text", text: "One two three four five.", state: "done" }]);
    expect(turn.aborted).toBe(0);
    expect(chats.resume(ROOT).status).toBe(204);
  });

  it("a resume with Last-Event-ID continues after it; a browser that never comes back aborts the turn", async () => {
    const { turn, release } = gated();
    const chats = new UIChats({ reconnectGraceMs: 50 });
    release(3);
    await firstChunks(chats.start(turn), 4);
    const lastId = `${ROOT}:${USER}:3`;
    const resumed = chats.resume(ROOT, lastId);
    release(4);
    const reader = resumed.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    while (!text.includes('"four "')) text += decoder.decode((await reader.read()).value, { stream: true });
    expect(text).not.toContain('"One "');
    expect(text).toContain(`id: ${ROOT}:${USER}:4`);
    // The text block started before this response: it is re-opened before its next delta.
    expect(text.indexOf('"type":"text-start"')).toBeLessThan(text.indexOf('"four "'));
    await reader.cancel();
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(turn.aborted).toBe(1);
  });
});

describe("toUIMessageStream cancel", () => {
  it("detaches: the turn runs on to its final and no abort is sent", async () => {
    const { World } = await import("../turn/engine-harness.js");
    const { ev, finished } = await import("../support/events.js");
    const world = new World();
    const turn = world.prompt("ses_s", "hi", { messageID: "msg_u" });
    const reader = toUIMessageStream(turn).getReader();
    await world.send(ev.userMessage("ses_s", "msg_u"), ev.assistantMessage("ses_s", "msg_a", "msg_u"), ev.part("ses_s", "msg_a", "prt_t", "text", ""), ev.delta("ses_s", "msg_a", "prt_t", "Hel"));
    expect((await reader.read()).value).toMatchObject({ type: "start" });
    await reader.cancel();
    await world.send(ev.delta("ses_s", "msg_a", "prt_t", "lo"), ev.part("ses_s", "msg_a", "prt_t", "text", "Hello", true), ev.assistantMessage("ses_s", "msg_a", "msg_u", finished()), ev.idle("ses_s"));
    await expect(turn.done).resolves.toMatchObject({ kind: "final", text: "Hello" });
    expect(world.callsTo("post", "/session/{sessionID}/abort")).toHaveLength(0);
  });
});
