// Around the turn, on a real `opencode serve` with the scripted model: slash and shell commands
// streamed as turns, attachments (and what the model cannot take), prompts the server refuses
// after its 204, who answered and the context used, the permission policy, and tool-calls steps.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AbortedError,
  AttachmentTooLargeError,
  bytes,
  file,
  StoppedAfterToolCallsError,
  UnknownAgentError,
  UnreadableFileError,
  UnsupportedAttachmentError,
  url,
  type OpencodeClient,
  type PermissionPolicyReply,
  type Reply,
  type Turn,
} from "../../src/node.js";
import { directive, MODEL_ID, PROVIDER_ID, startModelServer, type ChatRequest, type ModelServer } from "../support/model-server.js";
import { startTestServer, type TestServer } from "../support/opencode.js";

const PNG = Uint8Array.from(atob("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="), (c) => c.charCodeAt(0));
const SCRIPTED = `${PROVIDER_ID}/${MODEL_ID}`;
const VISION = `${PROVIDER_ID}/vision`;

let model: ModelServer;
let server: TestServer;
let client: OpencodeClient;
let outside: string;

beforeAll(async () => {
  model = await startModelServer({ model: { limit: { context: 50_000, output: 200 } } });
  const config = model.providerConfig({
    permission: { bash: "ask" },
    command: { greet: { template: `Greet $ARGUMENTS.\n${directive({ text: "Hello there.", chunks: 3 })}`, description: "greets someone" } },
  });
  // A second model of the same provider that takes images and PDFs.
  const provider = (config["provider"] as Record<string, { models: Record<string, unknown> }>)[PROVIDER_ID]!;
  provider.models["vision"] = { name: "vision", limit: { context: 8_000, output: 200 }, modalities: { input: ["text", "image", "pdf"], output: ["text"] } };
  server = await startTestServer({ config });
  client = server.client();
  outside = mkdtempSync(join(tmpdir(), "opencode-around-"));
  writeFileSync(join(outside, "note.txt"), "outside the project\n");
});
afterAll(async () => {
  await server?.close();
  await model?.close();
  if (outside) rmSync(outside, { recursive: true, force: true });
});

async function read(turn: Turn, onReply?: (reply: Reply) => Promise<void> | void): Promise<Reply[]> {
  const replies: Reply[] = [];
  for await (const reply of turn) {
    replies.push(reply);
    await onReply?.(reply);
  }
  return replies;
}

/** The chat request the scripted model answered for a directive id. */
function requestFor(id: string): ChatRequest | undefined {
  return model.requests.find((r) => r.kind === "script" && r.script?.id === id)?.body as ChatRequest | undefined;
}

describe("commands and shell as turns", () => {
  it("a shell command streams its output as tool_call updates, then its result and the final", async () => {
    const session = await client.session.create({});
    const turn = session.shell("echo one; sleep 1; echo two");
    const replies = await read(turn);
    const final = await turn.done;
    const running = replies.flatMap((r) => (r.kind === "tool_call" && r.status === "running" && typeof r.metadata?.["output"] === "string" ? [r.metadata["output"]] : []));
    // The first line arrives while the command still runs, as a snapshot (never the two joined).
    expect(running).toContain("one\n");
    expect(running.every((output) => output === "one\n" || output === "one\ntwo\n")).toBe(true);
    const result = replies.find((r) => r.kind === "tool_result");
    expect(result).toMatchObject({ tool: "bash", status: "completed" });
    expect(result?.kind === "tool_result" && result.output).toContain("one\ntwo");
    expect(replies.indexOf(result!)).toBeGreaterThan(replies.findIndex((r) => r.kind === "tool_call" && r.metadata?.["output"] === "one\n"));
    expect(final.messageID).toBe(result?.kind === "tool_result" ? result.messageID : undefined);
  });

  it("a shell command can be stopped like any turn", async () => {
    const session = await client.session.create({});
    const turn = session.shell("sleep 20");
    const done = turn.done.catch((e: unknown) => e);
    for await (const reply of turn) if (reply.kind === "tool_call") break;
    expect(await done).toBeInstanceOf(AbortedError);
    // The next turn on the session runs once the stop has settled.
    expect((await session.shell("echo after").done).messageID).toBeDefined();
  });

  it("a slash command streams like a prompt; client.command.list() names it with its arguments", async () => {
    const commands = await client.command.list();
    expect(commands.find((c) => c.name === "greet")).toMatchObject({ description: "greets someone", args: ["$ARGUMENTS"] });
    const session = await client.session.create({});
    const turn = session.command("greet", "Ada");
    const replies = await read(turn);
    const final = await turn.done;
    expect(replies.filter((r) => r.kind === "delta").map((r) => (r.kind === "delta" ? r.text : "")).join("")).toBe("Hello there.");
    expect(final).toMatchObject({ text: "Hello there.", model: { providerID: PROVIDER_ID, modelID: MODEL_ID }, agent: "build" });
  });
});

describe("attachments", () => {
  it("a text file reaches the model as the user's text and never shows as the turn's", async () => {
    const session = await client.session.create({});
    const path = join(outside, "notes.md");
    writeFileSync(path, "the secret ingredient is basil\n");
    const id = crypto.randomUUID();
    const turn = session.prompt([{ type: "text", text: `summarize\n${directive({ id, text: "Noted." })}` }, await file(path)]);
    const replies = await read(turn);
    expect((await turn.done).text).toBe("Noted.");
    expect(JSON.stringify(requestFor(id)?.messages)).toContain("the secret ingredient is basil");
    expect(JSON.stringify(replies)).not.toContain("basil");
  });

  it("an image for a model without image input is refused before sending; a model that takes images gets it", async () => {
    const session = await client.session.create({});
    const before = model.requests.length;
    const refused = session.prompt([{ type: "text", text: "look" }, bytes(PNG, { filename: "dot.png" })], { model: SCRIPTED });
    const error = await refused.done.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnsupportedAttachmentError);
    expect(error).toMatchObject({ mime: "image/png", input: "image", model: SCRIPTED, filename: "dot.png" });
    expect(model.requests.slice(before).filter((r) => r.kind === "script" || r.kind === "default")).toHaveLength(0);

    const id = crypto.randomUUID();
    const seen = session.prompt([{ type: "text", text: `look\n${directive({ id, text: "A dot." })}` }, bytes(PNG, { filename: "dot.png" })], { model: VISION });
    expect(await seen.done).toMatchObject({ text: "A dot.", model: { providerID: PROVIDER_ID, modelID: "vision" } });
    expect(JSON.stringify(requestFor(id)?.messages)).toContain("image");
  });

  it("the size cap is a typed error naming the file and both sizes", async () => {
    const path = join(outside, "big.txt");
    writeFileSync(path, "x".repeat(2_000));
    const error = await file(path, { maxBytes: 1_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AttachmentTooLargeError);
    expect(error).toMatchObject({ filename: "big.txt", size: 2_000, maxBytes: 1_000 });
    expect(() => bytes(new Uint8Array(11), { maxBytes: 10 })).toThrow(AttachmentTooLargeError);
  });
});

describe("why a prompt did nothing", () => {
  it("an unknown agent ends the turn with UnknownAgentError naming it, within a few seconds", async () => {
    const session = await client.session.create({});
    const started = Date.now();
    const error = await session.prompt("hi", { agent: "nope" }).done.catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(error).toBeInstanceOf(UnknownAgentError);
    expect(error).toMatchObject({ agent: "nope" });
    expect((error as UnknownAgentError).available).toContain("build");
  });

  it("a file:// part the server cannot read ends the turn with UnreadableFileError naming the path", async () => {
    const session = await client.session.create({});
    const missing = join(outside, "missing.txt");
    const started = Date.now();
    const turn = session.prompt([{ type: "text", text: "read this" }, url(`file://${missing}`, { mime: "text/plain" })]);
    const error = await turn.done.catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(error).toBeInstanceOf(UnreadableFileError);
    expect(error).toMatchObject({ path: missing });
  });

  it("final says which model and agent answered, with the context used and the model's window", async () => {
    const session = await client.session.create({});
    const turn = session.prompt(`plan it\n${directive({ text: "A plan.", usage: { prompt: 120, completion: 30 } })}`, { agent: "plan" });
    const final = await turn.done;
    expect(final).toMatchObject({ model: { providerID: PROVIDER_ID, modelID: MODEL_ID }, agent: "plan" });
    expect(final.usage).toMatchObject({ input: 120, output: 30, contextUsed: 150, contextWindow: 50_000 });
  });

  it("turn.usage is live: it grows step by step before the final", async () => {
    const session = await client.session.create({});
    const turn = session.prompt(
      `two steps\n${directive({ steps: [{ toolCalls: [{ name: "read", input: { filePath: join(server.project, "none.txt") } }], usage: { prompt: 100, completion: 7 } }, { text: "Done.", usage: { prompt: 200, completion: 9 } }] })}`,
    );
    const seen: number[] = [];
    // The second step's first text: the first step has finished and counted.
    await read(turn, (reply) => {
      if (reply.kind === "delta") seen.push(turn.usage.output);
    });
    const final = await turn.done;
    expect(seen[0]).toBe(7);
    expect(final.usage).toMatchObject({ output: 16, contextUsed: 209 });
    expect(turn.usage.output).toBe(16);
  });
});

describe("permission policy", () => {
  // The server keeps an "always" for the whole project while it runs: each test runs its own commands.
  const parallelBash = (command: string) =>
    directive({
      steps: [{ toolCalls: [{ name: "bash", input: { command: `${command} a`, description: "a" } }, { name: "bash", input: { command: `${command} b`, description: "b" } }] }, { text: "Both ran." }],
    });

  it("one 'always' answers the parallel asks it covers: one answer sent, the turn completes", async () => {
    const policed = server.client({ permissions: [{ permission: "bash", pattern: "echo *", action: "allow", always: true }] });
    const session = await policed.session.create({});
    const turn = session.prompt(`run both\n${parallelBash("echo")}`);
    const replies = await read(turn);
    expect((await turn.done).text).toBe("Both ran.");
    expect(replies.some((r) => r.kind === "permission")).toBe(false);
    const audits = replies.filter((r): r is PermissionPolicyReply => r.kind === "permission_policy");
    const answered = audits.filter((a) => a.coveredBy === undefined);
    expect(answered).toHaveLength(1);
    expect(answered[0]).toMatchObject({ permission: "bash", reply: "always", rule: { pattern: "echo *", action: "allow" } });
    // A second ask, if the server made it before the answer, was covered by the first, not answered again.
    for (const audit of audits.slice(1)) expect(audit.coveredBy).toBe(answered[0]!.id);
    const results = replies.filter((r) => r.kind === "tool_result");
    expect(results.map((r) => r.kind === "tool_result" && r.status)).toEqual(["completed", "completed"]);
  });

  it("a deny rejects what the server rejects, and the turn ends as stopped after its tool calls", async () => {
    const session = await client.session.create({});
    const turn = session.prompt(`run both\n${parallelBash("printf")}`, { permissions: [{ permission: "bash", action: "deny" }] });
    const replies = await read(turn);
    const error = await turn.done.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoppedAfterToolCallsError);
    expect(replies.filter((r) => r.kind === "permission_policy" && r.coveredBy === undefined)).toMatchObject([{ reply: "reject", rule: { action: "deny" } }]);
    expect(replies.filter((r) => r.kind === "tool_result").every((r) => r.kind === "tool_result" && r.status === "error")).toBe(true);
    expect(replies.some((r) => r.kind === "permission")).toBe(false);
  });

  it("applies to a sub-agent's requests; a prompt's rules come before the client's", async () => {
    const policed = server.client({ permissions: [{ permission: "external_directory", action: "deny" }] });
    const session = await policed.session.create({});
    const child = directive({ steps: [{ toolCalls: [{ name: "read", input: { filePath: join(outside, "note.txt") } }] }, { text: "Child read it." }] });
    const turn = session.prompt(
      `delegate\n${directive({ steps: [{ toolCalls: [{ name: "task", input: { description: "Read the note", prompt: `read the note\n${child}`, subagent_type: "general" } }] }, { text: "Parent done." }] })}`,
      { permissions: [{ permission: "external_directory", action: "allow" }] },
    );
    const replies = await read(turn);
    expect((await turn.done).text).toBe("Parent done.");
    const audit = replies.find((r) => r.kind === "permission_policy");
    expect(audit).toMatchObject({ permission: "external_directory", reply: "once", parentSessionID: session.id, rule: { action: "allow" } });
  });

  it("a request no rule answers is asked; answered by another client, it ends here too", async () => {
    const policed = server.client({ permissions: [{ permission: "edit", action: "deny" }] });
    const session = await policed.session.create({});
    const other = server.client().session.get(session.id);
    const turn = session.prompt(`run\n${directive({ steps: [{ toolCalls: [{ name: "bash", input: { command: "pwd", description: "x" } }] }, { text: "Ran." }] })}`);
    const replies = await read(turn, async (reply) => {
      if (reply.kind === "permission") await other.respond(reply.id, "once");
    });
    expect((await turn.done).text).toBe("Ran.");
    const asked = replies.find((r) => r.kind === "permission");
    expect(replies.find((r) => r.kind === "permission_replied")).toMatchObject({ id: asked?.kind === "permission" ? asked.id : "", reply: "once" });
  });
});

describe("steps", () => {
  it("a step finishing with tool-calls is not the end: the turn's final is the next step's answer", async () => {
    const session = await client.session.create({});
    const turn = session.prompt(`go on\n${directive({ steps: [{ text: "Thinking.", finish: "tool_calls" }, { text: "The answer." }] })}`);
    const final = await turn.done;
    expect(final.text).toBe("The answer.");
    expect(final.finish).toBe("stop");
  });
});
