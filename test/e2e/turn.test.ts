// Turns against a real `opencode serve` driven by the scripted model: streaming, reasoning,
// tools, the per-session mutex, parallel sessions, abort, provider errors, a cut event stream.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AbortedError,
  AuthenticationError,
  NotFoundError,
  ProviderAuthError,
  type OpencodeClient,
  type Reply,
  type Session,
} from "../../src/index.js";
import { startFaultProxy, type FaultProxy } from "../support/fault-proxy.js";
import { directive, startModelServer, type ModelServer } from "../support/model-server.js";
import { startTestServer, type TestServer } from "../support/opencode.js";

let model: ModelServer;
let server: TestServer;
let client: OpencodeClient;

beforeAll(async () => {
  model = await startModelServer({ model: { cost: { input: 1, output: 2 } } });
  server = await startTestServer({ config: model.providerConfig() });
  client = server.client();
});
afterAll(async () => {
  await server?.close();
  await model?.close();
});

async function collect(iterable: AsyncIterable<Reply>): Promise<Reply[]> {
  const replies: Reply[] = [];
  for await (const reply of iterable) replies.push(reply);
  return replies;
}

const joined = (replies: Reply[], kind: "delta" | "reasoning") =>
  replies.flatMap((r) => (r.kind === kind ? [r.text] : [])).join("");

/** The text the server stored for the turn whose user message is `userMessageID`. */
async function storedText(session: Session, userMessageID: string): Promise<string> {
  const messages = await session.messages();
  const answers = messages.filter((m) => m.info.role === "assistant" && "parentID" in m.info && m.info.parentID === userMessageID);
  const last = answers.at(-1);
  return (last?.parts ?? []).flatMap((p) => (p.type === "text" ? [p.text] : [])).join("");
}

describe("turns on a real server", () => {
  it("streams a text turn whose deltas add up to the stored final text", async () => {
    const session = await client.session.create({ title: "text" });
    const turn = session.prompt(`greet me\n${directive({ text: "Hello there, this is a streamed answer.", chunks: 6 })}`);
    const replies = await collect(turn);
    const final = await turn.done;
    expect(replies.filter((r) => r.kind === "delta").length).toBeGreaterThanOrEqual(2);
    expect(joined(replies, "delta")).toBe("Hello there, this is a streamed answer.");
    expect(final.text).toBe("Hello there, this is a streamed answer.");
    expect(final.text).toBe(await storedText(session, turn.messageID!));
    expect(final.finish).toBe("stop");
    expect(final.usage.input).toBeGreaterThan(0);
    expect(final.usage.cost).toBeGreaterThan(0);
    expect(replies.at(-1)).toBe(final);
    expect(JSON.stringify(replies)).not.toContain("greet me");
  });

  it("reasoning never leaks into delta text", async () => {
    const session = await client.session.create({ title: "reasoning" });
    const turn = session.prompt(`think\n${directive({ reasoning: "Pondering the question carefully.", text: "The answer is 42.", chunks: 4 })}`);
    const replies = await collect(turn);
    expect(joined(replies, "reasoning")).toBe("Pondering the question carefully.");
    expect(joined(replies, "delta")).toBe("The answer is 42.");
    expect(turn.reasoning).toBe("Pondering the question carefully.");
    expect((await turn.done).text).toBe("The answer is 42.");
  });

  it("reports a real bash tool call with its statuses and output, then the final text", async () => {
    const session = await client.session.create({ title: "tool" });
    const turn = session.prompt(
      `run\n${directive({ toolCalls: [{ name: "bash", input: { command: "echo tool-output-42", description: "echo" } }], then: { text: "The command ran." } })}`,
    );
    const replies = await collect(turn);
    const calls = replies.filter((r) => r.kind === "tool_call");
    const results = replies.filter((r) => r.kind === "tool_result");
    expect(calls.length).toBeGreaterThanOrEqual(1);
    expect(calls.every((c) => c.tool === "bash")).toBe(true);
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ status: "completed", tool: "bash", input: { command: "echo tool-output-42" } });
    expect(results[0]!.kind === "tool_result" && results[0]!.output).toContain("tool-output-42");
    const final = await turn.done;
    expect(final.text).toBe("The command ran.");
    expect(final.finish).toBe("stop");
  });

  it("runs five concurrent prompts on one session one after another, each seeing only its own replies", async () => {
    const session = await client.session.create({ title: "mutex" });
    const turns = Array.from({ length: 5 }, (_, i) =>
      session.prompt(`turn ${i}\n${directive({ text: `Reply number ${i} here.`, chunks: 3, chunkDelayMs: 20 })}`),
    );
    const order: number[] = [];
    const results = await Promise.all(
      turns.map(async (turn, i) => {
        const replies = await collect(turn);
        order.push(i);
        return replies;
      }),
    );
    expect(order).toEqual([0, 1, 2, 3, 4]);
    results.forEach((replies, i) => {
      expect(joined(replies, "delta")).toBe(`Reply number ${i} here.`);
      expect(replies.at(-1)).toMatchObject({ kind: "final", text: `Reply number ${i} here.` });
    });
  });

  it("runs twenty sessions in parallel over the one shared event connection", { timeout: 90_000 }, async () => {
    const sessions = await Promise.all(Array.from({ length: 20 }, (_, i) => client.session.create({ title: `parallel ${i}` })));
    const finals = await Promise.all(
      sessions.map((session, i) => session.run(`p ${i}\n${directive({ text: `Session ${i} answers.`, chunks: 3 })}`)),
    );
    finals.forEach((final, i) => expect(final.text).toBe(`Session ${i} answers.`));
  });

  it("abort ends the turn with AbortedError and the session takes the next prompt", async () => {
    const session = await client.session.create({ title: "abort" });
    const turn = session.prompt(`slow\n${directive({ text: "word ".repeat(60), chunks: 60, chunkDelayMs: 100 })}`);
    const replies: Reply[] = [];
    for await (const reply of turn) {
      replies.push(reply);
      if (reply.kind === "delta") void turn.abort();
    }
    expect(replies.at(-1)?.kind).toBe("error");
    await expect(turn.done).rejects.toBeInstanceOf(AbortedError);
    expect(replies.filter((r) => r.kind === "final" || r.kind === "error")).toHaveLength(1);

    const next = await session.run(`again\n${directive({ text: "Back to normal." })}`);
    expect(next.text).toBe("Back to normal.");
  });

  it("aborting a queued turn removes it without touching the running one", async () => {
    const session = await client.session.create({ title: "queued abort" });
    const running = session.prompt(`first\n${directive({ text: "First finishes.", chunks: 5, chunkDelayMs: 60 })}`);
    const queued = session.prompt(`second\n${directive({ text: "Never sent." })}`);
    await queued.abort();
    await expect(queued.done).rejects.toBeInstanceOf(AbortedError);
    expect((await running.done).text).toBe("First finishes.");
    const stored = await session.messages();
    expect(stored.some((m) => m.info.id === queued.messageID)).toBe(false);
  });

  it("a provider 401 ends the turn with ProviderAuthError", async () => {
    const session = await client.session.create({ title: "provider 401" });
    const turn = session.prompt(`x\n${directive({ error: { status: 401, message: "Incorrect API key provided" } })}`);
    const replies = await collect(turn);
    expect(replies.at(-1)?.kind).toBe("error");
    const error = await turn.done.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderAuthError);
    expect((error as ProviderAuthError).retryable).toBe(false);
  });

  it("a wrong password fails the turn with AuthenticationError instead of hanging", async () => {
    const bad = server.client({ password: "wrong" });
    const started = Date.now();
    const turn = bad.session.get("ses_doesnotmatter").prompt("hi");
    await expect(turn.done).rejects.toBeInstanceOf(AuthenticationError);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe("a turn survives the event stream dropping mid-reply", () => {
  let proxy: FaultProxy;
  beforeAll(async () => {
    proxy = await startFaultProxy(server.url);
  });
  afterAll(() => proxy?.close());

  it.each(["cut", "reset"] as const)("%s: text intact, nothing repeated, final equals the stored text", async (how) => {
    const proxied = server.client({ baseUrl: proxy.url });
    const session = await proxied.session.create({ title: `cut ${how}` });
    const text = Array.from({ length: 40 }, (_, i) => `w${i}`).join(" ") + ".";
    const turn = session.prompt(`long\n${directive({ text, chunks: 40, chunkDelayMs: 60 })}`);
    const replies: Reply[] = [];
    let cuts = 0;
    for await (const reply of turn) {
      replies.push(reply);
      if (reply.kind === "delta" && cuts === 0 && replies.filter((r) => r.kind === "delta").length === 5) {
        const first = proxy.open("/event")[0]!;
        cuts += proxy.cut("/event", { reset: how === "reset" });
        // A second cut soon after the client reconnected, while the reply still streams.
        void proxy
          .waitFor((c) => c !== first && (c.path ?? "").startsWith("/event"))
          .then(() => new Promise((resolve) => setTimeout(resolve, 300)))
          .then(() => (cuts += proxy.cut("/event", { reset: how === "reset" })));
      }
    }
    expect(cuts).toBe(2);
    const final = await turn.done;
    expect(final.text).toBe(text);
    expect(joined(replies, "delta")).toBe(text);
    expect(final.text).toBe(await storedText(session, turn.messageID!));
  });
});

describe("a prompt delivered twice (#17)", () => {
  it("stores its parts once: the client sends them with ascending prt_ ids", async () => {
    // A proxy that loses the first answer to prompt_async makes the transport send the same body
    // again; this fetch delivers every prompt body twice to the server, the same thing.
    const twice = server.client({
      fetch: async (input: string, init: RequestInit) => {
        if (input.includes("/prompt_async")) await globalThis.fetch(input, init);
        return globalThis.fetch(input, init);
      },
    });
    const session = await twice.session.create({});
    const turn = session.prompt([
      { type: "text", text: `first part\n${directive({ text: "Stored once." })}` },
      { type: "text", text: "second part" },
    ]);
    expect((await turn.done).text).toBe("Stored once.");
    const user = (await session.messages()).find((m) => m.info.id === turn.messageID)!;
    const texts = user.parts.flatMap((p) => (p.type === "text" ? [p] : []));
    expect(texts.map((p) => p.text.split("\n")[0])).toEqual(["first part", "second part"]);
    expect(texts.every((p) => /^prt_[0-9a-f]{12}[0-9A-Za-z]{14}$/.test(p.id))).toBe(true);
    expect(texts[0]!.id < texts[1]!.id).toBe(true);
  });
});

describe("a session that does not exist (#17)", () => {
  it("attach() and abort() reject with NotFoundError (the server itself answers abort with true)", async () => {
    const missing = client.session.get("ses_0000000000000000000000doesnotexist");
    await expect(missing.attach()).rejects.toBeInstanceOf(NotFoundError);
    await expect(missing.abort()).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe("closing the client while a turn runs (#17)", () => {
  const words = (n: number) => Array.from({ length: n }, (_, i) => `w${i}`).join(" ");

  /** A turn on its own client that streams for ~10 s; resolves once its first text arrived. */
  async function slowTurn() {
    const closing = server.client();
    const session = await closing.session.create({});
    const turn = session.prompt(`x\n${directive({ text: words(40), chunks: 40, chunkDelayMs: 250 })}`);
    const ended = turn.done.catch((error: unknown) => error);
    while (turn.text.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    return { closing, session, ended };
  }

  const status = async (sessionID: string) => (await client.request("get", "/session/status"))[sessionID]?.type ?? "idle";

  it("stops the turn on the server: the session goes idle, the reply is stored as aborted", async () => {
    const { closing, session, ended } = await slowTurn();
    await closing.close();
    expect(await ended).toBeInstanceOf(AbortedError);
    const deadline = Date.now() + 3_000;
    while ((await status(session.id)) !== "idle" && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await status(session.id)).toBe("idle");
    const reply = (await client.session.get(session.id).messages()).find((m) => m.info.role === "assistant");
    expect(reply && "error" in reply.info ? reply.info.error?.name : undefined).toBe("MessageAbortedError");
  });

  it("with { abort: false } the turn runs on on the server", async () => {
    const { closing, session, ended } = await slowTurn();
    await closing.close({ abort: false });
    expect(await ended).toBeInstanceOf(AbortedError);
    expect(await status(session.id)).toBe("busy");
    await client.session.get(session.id).abort();
  });
});
