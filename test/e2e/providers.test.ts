// Turns through opencode's bundled `anthropic` and `openai` providers (Anthropic Messages and OpenAI
// Responses wire protocols, spoken by the scripted model server behind a `baseURL` override): every
// turn's replies must agree with what the server stored — text per part, reasoning apart, usage and
// cost — and provider failures must end in the right error class or be retried without stray text.
//
// One opencode server carries both providers; every turn has its own session, so they run in
// parallel. Tests marked "(retry retraction)", "(resetAt)" and "(sub-agent usage)" pin the provider
// failure semantics of issue 12, which the codec before the rebuilt turn engine did not have.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  RateLimitError,
  UnknownProviderError,
  type FinalReply,
  type OpencodeClient,
  type Reply,
  type Session,
  type Turn,
  type Usage,
} from "../../src/index.js";
import { directive, SHAPES, startModelServer, type ModelServer, type Script, type WireShape } from "../support/model-server.js";
import { startTestServer, type TestServer } from "../support/opencode.js";
import { keptText, storedUsage } from "../support/replies.js";

let model: ModelServer;
let server: TestServer;
let client: OpencodeClient;

const WIRE_SHAPES = ["anthropic", "responses"] as const satisfies readonly WireShape[];

beforeAll(async () => {
  model = await startModelServer({ model: { cost: { input: 1, output: 2, cache_read: 0.5, cache_write: 1.25 } } });
  server = await startTestServer({
    config: model.providerConfig({}, [...WIRE_SHAPES]),
    env: { OPENCODE_DISABLE_MODELS_FETCH: "1" },
  });
  client = server.client();
});
afterAll(async () => {
  await server?.close();
  await model?.close();
});

type Stored = Awaited<ReturnType<Session["messages"]>>;

interface Outcome {
  session: Session;
  turn: Turn;
  replies: Reply[];
  final: FinalReply | undefined;
  error: unknown;
  /** Date.now() when the terminal reply arrived. */
  endedAt: number;
  /** The turn's assistant messages as stored once it ended. */
  stored: Stored;
}

async function run(shape: WireShape, script: Script, prompt = "Answer the scripted way."): Promise<Outcome> {
  const session = await client.session.create({ title: `${shape} turn` });
  const turn = session.prompt(`${prompt}\n${directive(script)}`, { model: SHAPES[shape].model });
  const replies: Reply[] = [];
  let endedAt = 0;
  for await (const reply of turn) {
    replies.push(reply);
    if (reply.kind === "final" || reply.kind === "error") endedAt = Date.now();
  }
  const outcome = await turn.done.then(
    (final) => ({ final, error: undefined }),
    (error: unknown) => ({ final: undefined, error }),
  );
  const stored = (await session.messages()).filter(
    (m) => m.info.role === "assistant" && m.info.parentID === turn.messageID,
  );
  return { session, turn, replies, ...outcome, endedAt, stored };
}

const storedParts = (stored: Stored, type: "text" | "reasoning") =>
  stored.flatMap((m) => m.parts.flatMap((p) => (p.type === type ? [p] : [])));

const storedText = (stored: Stored) => storedParts(stored, "text").map((p) => p.text).join("");

function expectUsage(actual: Usage, expected: Usage): void {
  const { cost, ...tokens } = actual;
  const { cost: expectedCost, ...expectedTokens } = expected;
  expect(tokens).toEqual(expectedTokens);
  expect(cost).toBeCloseTo(expectedCost, 12);
}

const joined = (replies: Reply[], kind: "delta" | "reasoning") => replies.flatMap((r) => (r.kind === kind ? [r.text] : [])).join("");

/** Everything a finished turn must agree on with the server's storage. */
function expectMatchesStorage(outcome: Outcome): FinalReply {
  const { replies, final, stored, turn } = outcome;
  expect(outcome.error).toBeUndefined();
  expect(final).toBeDefined();
  expect(replies.at(-1)).toBe(final);
  expect(stored.length).toBeGreaterThan(0);
  expect(keptText(replies)).toBe(storedText(stored));
  expect(turn.text).toBe(storedText(stored));
  const last = stored.at(-1)!;
  expect(final!.messageID).toBe(last.info.id);
  expect(final!.text).toBe(storedText([last]));
  expect(joined(replies, "reasoning")).toBe(storedParts(stored, "reasoning").map((p) => p.text).join(""));
  const textParts = new Set(storedParts(stored, "text").map((p) => p.id));
  const reasoningParts = new Set(storedParts(stored, "reasoning").map((p) => p.id));
  for (const reply of replies) {
    if (reply.kind === "delta") expect(reasoningParts.has(reply.partID)).toBe(false);
    if (reply.kind === "reasoning") expect(textParts.has(reply.partID)).toBe(false);
  }
  expectUsage(final!.usage, storedUsage(stored));
  return final!;
}

/** Every symbol class one code point at a time: ZWJ emoji sequences, flags, CJK, Hebrew, Arabic. */
const UNICODE_SAMPLE = "👩‍💻 家族👨‍👩‍👧‍👦 🇯🇵 漢字かな交じり文 שלום עולם مرحبا بالعالم ";
function codePoints(count: number): string {
  const sample = Array.from(UNICODE_SAMPLE);
  return Array.from({ length: count }, (_, i) => sample[i % sample.length]).join("");
}

/** One turn whose every attempt gets a 429 (five retries 1 s apart), shared by the tests about it. */
const rateLimitedTurns = new Map<WireShape, Promise<Outcome>>();
function rateLimited(shape: WireShape): Promise<Outcome> {
  let outcome = rateLimitedTurns.get(shape);
  if (!outcome) {
    outcome = run(shape, { text: "never", error: { status: 429, retryAfter: 1 } });
    rateLimitedTurns.set(shape, outcome);
  }
  return outcome;
}

const usage = { prompt: 120, completion: 30, reasoning: 6, cached: 40, cacheWrite: 10 };

describe.concurrent.each(WIRE_SHAPES)("%s wire protocol on a real server", (shape) => {
  // The slowest turns (the server's own retries wait 1-5 s each) first, so they overlap the rest.
  it("(retry retraction) when every attempt fails mid-stream, turn.text holds the last attempt's text once", { timeout: 60_000 }, async () => {
    const outcome = await run(shape, {
      text: "Partial answer before the failure, then more.",
      chunks: 6,
      failures: [{ afterDeltas: 2 }, { afterDeltas: 2 }, { afterDeltas: 2, fatal: true }],
    });
    expect(outcome.error).toBeInstanceOf(UnknownProviderError);
    expect(outcome.replies.filter((r) => r.kind === "retry")).toHaveLength(2);
    expect(outcome.replies.filter((r) => r.kind === "delta")).toHaveLength(6);
    // Storage: two empty parts of the retried attempts, then the failed last attempt's text.
    expect(storedParts(outcome.stored, "text").map((p) => p.text)).toEqual(["", "", "Partial answer "]);
    expect(outcome.turn.text).toBe("Partial answer ");
    expect(keptText(outcome.replies)).toBe(storedText(outcome.stored));
  });
  it("a 429 on every attempt is a RateLimitError once the server gives up", { timeout: 60_000 }, async () => {
    const outcome = await rateLimited(shape);
    expect(outcome.error).toBeInstanceOf(RateLimitError);
    expect((outcome.error as RateLimitError).retryable).toBe(true);
    expect(outcome.replies.filter((r) => r.kind === "retry").map((r) => r.kind === "retry" && r.attempt)).toEqual([1, 2, 3, 4, 5]);
    expect(outcome.replies.at(-1)).toMatchObject({ kind: "error" });
  });

  it("(resetAt) a RateLimitError's resetAt counts retry-after from the time of the error, not the turn's start", { timeout: 60_000 }, async () => {
    const outcome = await rateLimited(shape);
    expect(outcome.error).toBeInstanceOf(RateLimitError);
    const resetAt = (outcome.error as RateLimitError).resetAt.getTime();
    // retry-after is 1 s; the error's date header has whole seconds, so allow for its truncation.
    expect(resetAt).toBeGreaterThanOrEqual(outcome.endedAt - 250);
    expect(resetAt).toBeLessThanOrEqual(outcome.endedAt + 2_000);
  });

  it("a text turn's deltas add up to the stored text, with the stored usage and cost", async () => {
    const outcome = await run(shape, { text: "Hello from the other provider, in six chunks.", chunks: 6, usage });
    const final = expectMatchesStorage(outcome);
    expect(final.text).toBe("Hello from the other provider, in six chunks.");
    expect(outcome.replies.filter((r) => r.kind === "delta")).toHaveLength(6);
    expect(final.finish).toBe("stop");
    expect(final.usage.input).toBeGreaterThan(0);
    expect(final.usage.cacheRead).toBeGreaterThan(0);
    expect(final.usage.cost).toBeGreaterThan(0);
  });

  it("reasoning streams apart and never leaks into text", async () => {
    const reasoning = "Thinking it over: forty-two is the traditional answer.";
    const outcome = await run(shape, { reasoning, text: "The answer is 42.", chunks: 5, usage });
    const final = expectMatchesStorage(outcome);
    expect(joined(outcome.replies, "reasoning")).toBe(reasoning);
    expect(outcome.turn.reasoning).toBe(reasoning);
    expect(final.text).toBe("The answer is 42.");
    expect(joined(outcome.replies, "delta")).not.toContain("forty-two");
  });

  it("two text blocks in one response become two text parts of one message", async () => {
    const outcome = await run(shape, { text: "First block. ", texts: ["Second block."], chunks: 3 });
    const final = expectMatchesStorage(outcome);
    expect(outcome.stored).toHaveLength(1);
    expect(storedParts(outcome.stored, "text").map((p) => p.text)).toEqual(["First block. ", "Second block."]);
    expect(new Set(outcome.replies.flatMap((r) => (r.kind === "delta" ? [r.partID] : []))).size).toBe(2);
    expect(final.text).toBe("First block. Second block.");
  });

  it("a tool call then text spans two messages, usage summed over both", async () => {
    const outcome = await run(shape, {
      text: "Let me check. ",
      toolCalls: [{ name: "bash", input: { command: "echo provider-tool", description: "Echo" } }],
      then: { text: "It printed provider-tool.", usage },
      usage,
    });
    const final = expectMatchesStorage(outcome);
    expect(outcome.stored).toHaveLength(2);
    const results = outcome.replies.filter((r) => r.kind === "tool_result");
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ status: "completed", tool: "bash" });
    expect(results[0]!.kind === "tool_result" && results[0]!.output).toContain("provider-tool");
    expect(final.text).toBe("It printed provider-tool.");
    expect(final.usage.input).toBe(outcome.stored.reduce((n, m) => n + (m.info.role === "assistant" ? m.info.tokens.input : 0), 0));
  });

  it("two parallel tool calls in one response both complete", async () => {
    const outcome = await run(shape, {
      toolCalls: [
        { name: "bash", input: { command: "echo left", description: "Left" } },
        { name: "bash", input: { command: "echo right", description: "Right" } },
      ],
      then: { text: "Both ran." },
    });
    expectMatchesStorage(outcome);
    const results = outcome.replies.filter((r) => r.kind === "tool_result");
    expect(results.map((r) => r.kind === "tool_result" && r.output?.trim()).sort()).toEqual(["left", "right"]);
    expect(new Set(results.map((r) => r.messageID)).size).toBe(1);
    expect(outcome.stored).toHaveLength(2);
  });

  it("a length-limited response ends the turn with finish \"length\" and the text so far", async () => {
    const outcome = await run(shape, { text: "Cut off in the mid", finish: "length" });
    const final = expectMatchesStorage(outcome);
    expect(final.finish).toBe("length");
    expect(final.text).toBe("Cut off in the mid");
  });

  it("a tool call the tool rejects ends as an error tool_result and the turn goes on", async () => {
    const outcome = await run(shape, {
      toolCalls: [{ name: "read", input: { filePath: "missing-file.txt" } }],
      then: { text: "The file was missing." },
    });
    const final = expectMatchesStorage(outcome);
    const results = outcome.replies.filter((r) => r.kind === "tool_result");
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ status: "error", tool: "read" });
    expect(results[0]!.kind === "tool_result" && results[0]!.error).toBeTruthy();
    expect(final.text).toBe("The file was missing.");
  });

  it("2 000 deltas of emoji, ZWJ sequences, CJK and RTL, one code point each, add up exactly", { timeout: 60_000 }, async () => {
    const text = codePoints(2_000);
    const outcome = await run(shape, { text, chunks: 2_000 });
    const final = expectMatchesStorage(outcome);
    expect(final.text).toBe(text);
    const deltas = outcome.replies.filter((r) => r.kind === "delta");
    expect(deltas).toHaveLength(2_000);
    for (const delta of deltas) expect(Array.from(delta.text)).toHaveLength(1);
  });

  it("a retried 429 ends in the final answer after one retry reply", async () => {
    const before = Date.now();
    const outcome = await run(shape, { text: "Through after the rate limit.", error: { status: 429, retryAfter: 1, times: 1 } });
    expectMatchesStorage(outcome);
    const retries = outcome.replies.filter((r) => r.kind === "retry");
    // Attempt and message together, so a failure shows what the server retried.
    expect(retries.map((r) => r.kind === "retry" && [r.attempt, r.message])).toHaveLength(1);
    expect(retries[0]).toMatchObject({ attempt: 1 });
    expect(retries[0]!.kind === "retry" && retries[0]!.next).toBeGreaterThan(before);
  });

  it("(retry retraction) a mid-stream provider error retracts the failed attempt's text on the retry reply", { timeout: 60_000 }, async () => {
    const text = "Partial answer before the failure, then the rest.";
    const outcome = await run(shape, { text, chunks: 6, failures: [{ afterDeltas: 2 }] });
    const retryIndex = outcome.replies.findIndex((r) => r.kind === "retry");
    expect(retryIndex).toBeGreaterThan(0);
    const abandoned = outcome.replies.slice(0, retryIndex).filter((r) => r.kind === "delta");
    expect(abandoned.length).toBe(2);
    const retry = outcome.replies[retryIndex]!;
    expect(retry.kind === "retry" && retry.discarded).toEqual([
      { messageID: abandoned[0]!.messageID, partID: abandoned[0]!.partID, kind: "text", text: abandoned.map((d) => d.kind === "delta" && d.text).join("") },
    ]);
    // The failed attempt's part stays in storage, empty; the retry streams into a new part.
    const parts = storedParts(outcome.stored, "text");
    expect(parts.map((p) => p.text)).toEqual(["", text]);
    expect(parts[0]!.id).toBe(abandoned[0]!.partID);
    const final = expectMatchesStorage(outcome);
    expect(final.text).toBe(text);
  });

  it("(retry retraction) a retry retracts only the still-open part; the failed attempt's closed blocks stay, as stored", { timeout: 60_000 }, async () => {
    const outcome = await run(shape, {
      reasoning: "Thinking first.",
      text: "First block. ",
      texts: ["Second block."],
      chunks: 3,
      failures: [{ afterDeltas: 4 }],
    });
    // The server keeps the failed attempt's closed reasoning and first text block, and leaves the
    // open second block empty; the retry then streams all of it again into new parts.
    expect(storedParts(outcome.stored, "text").map((p) => p.text)).toEqual(["First block. ", "", "First block. ", "Second block."]);
    expect(storedParts(outcome.stored, "reasoning").map((p) => p.text)).toEqual(["Thinking first.", "Thinking first."]);
    const retry = outcome.replies.find((r) => r.kind === "retry");
    const open = storedParts(outcome.stored, "text")[1]!;
    expect(retry?.kind === "retry" && retry.discarded).toEqual([{ messageID: open.messageID, partID: open.id, kind: "text", text: "Seco" }]);
    const final = expectMatchesStorage(outcome);
    expect(final.text).toBe("First block. First block. Second block.");
  });

});

describe("sub-agents on a real server", () => {
  it("(sub-agent usage) final.usage keeps the root's figures; final.subagentUsage holds the task sub-agent's", { timeout: 60_000 }, async () => {
    const child = directive({ text: "The sub-agent's answer.", usage: { prompt: 300, completion: 70, cached: 100 } });
    const outcome = await run("anthropic", {
      toolCalls: [
        {
          name: "task",
          input: { description: "Scripted sub task", prompt: `Do the sub task.\n${child}`, subagent_type: "general" },
        },
      ],
      then: { text: "The parent is done.", usage: { prompt: 50, completion: 9 } },
      usage: { prompt: 40, completion: 8 },
    });
    const final = expectMatchesStorage(outcome);
    const task = outcome.stored.flatMap((m) => m.parts).find((p) => p.type === "tool" && p.tool === "task");
    expect(task?.type === "tool" && task.state.status).toBe("completed");
    const childID = task?.type === "tool" && "metadata" in task.state ? (task.state.metadata?.["sessionId"] as string | undefined) : undefined;
    expect(childID).toBeTruthy();
    const childStored = (await client.session.get(childID!).messages()).filter((m) => m.info.role === "assistant");
    expect(childStored.length).toBeGreaterThan(0);
    expectUsage(final.usage, storedUsage(outcome.stored));
    // Sub-agent usage is a sum over other sessions: no single step's context to report.
    const { contextUsed: _, ...childSum } = storedUsage(childStored);
    expectUsage(final.subagentUsage, childSum);
    expect(final.subagentUsage.input).toBeGreaterThan(0);
  });
});
