// Unit tests of the scripted model server itself, over plain HTTP (no opencode involved).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { directive, parseDirective, splitText, startModelServer, type ChatMessage, type ModelServer, type Script } from "./model-server.js";

let server: ModelServer;
beforeAll(async () => {
  server = await startModelServer();
});
afterAll(async () => {
  await server.close();
});

const TITLE_SYSTEM = "You are a title generator. You output ONLY a thread title. Nothing else.";

interface Chunk {
  object: string;
  choices: Array<{
    index: number;
    finish_reason: string | null;
    delta: {
      content?: string;
      reasoning_content?: string;
      tool_calls?: Array<{ index: number; id?: string; type?: string; function: { name?: string; arguments: string } }>;
    };
  }>;
  usage?: {
    prompt_tokens: number;
    completion_tokens: number;
    prompt_tokens_details: { cached_tokens: number };
    completion_tokens_details: { reasoning_tokens: number };
  };
}

function post(messages: ChatMessage[], extra: Record<string, unknown> = {}): Promise<Response> {
  return fetch(`${server.url}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer x" },
    body: JSON.stringify({ model: "m", stream: true, stream_options: { include_usage: true }, messages, ...extra }),
  });
}

/** POST a streaming request and split the body into parsed chunks (asserting the SSE framing). */
async function stream(messages: ChatMessage[]): Promise<Chunk[]> {
  const res = await post(messages);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("text/event-stream");
  const body = await res.text();
  const frames = body.split("\n\n").filter((f) => f.length > 0);
  expect(frames.every((f) => f.startsWith("data: "))).toBe(true);
  expect(frames.at(-1)).toBe("data: [DONE]");
  return frames.slice(0, -1).map((f) => JSON.parse(f.slice(6)) as Chunk);
}

const user = (text: string): ChatMessage => ({ role: "user", content: text });
const scripted = (script: Script, prefix = "do it"): ChatMessage[] => [
  { role: "system", content: "You are opencode" },
  user(`${prefix}\n${directive(script)}`),
];
const textOf = (chunks: Chunk[], key: "content" | "reasoning_content" = "content") =>
  chunks.map((c) => c.choices[0]?.delta[key] ?? "").join("");
const finishOf = (chunks: Chunk[]) => chunks.map((c) => c.choices[0]?.finish_reason).find((f) => f);

describe("directive", () => {
  it("round-trips through a prompt and adds an id", () => {
    const line = directive({ text: "Hello world", chunks: 5 });
    expect(line.startsWith("#script {")).toBe(true);
    const parsed = parseDirective(`say hi\n${line}\nmore text`);
    expect(parsed).toMatchObject({ text: "Hello world", chunks: 5 });
    expect(typeof parsed?.id).toBe("string");
    expect(parseDirective("no directive here")).toBeUndefined();
    expect(parseDirective("#script {not json")).toBeUndefined();
  });

  it("splits text deterministically without breaking surrogate pairs", () => {
    expect(splitText("Hello world", 5)).toEqual(splitText("Hello world", 5));
    expect(splitText("Hello world", 5)).toHaveLength(5);
    expect(splitText("ab", 10)).toEqual(["a", "b"]);
    expect(splitText("😀😀😀", 2).join("")).toBe("😀😀😀");
    expect(splitText("😀😀😀", 3)).toEqual(["😀", "😀", "😀"]);
  });
});

describe("streaming", () => {
  it("streams text in N chunks, then finish_reason and a usage-only chunk", async () => {
    const chunks = await stream(scripted({ text: "Hello world", chunks: 5, usage: { prompt: 7, completion: 3, cached: 2 } }));
    expect(chunks.every((c) => c.object === "chat.completion.chunk")).toBe(true);
    expect(chunks.filter((c) => c.choices[0]?.delta.content)).toHaveLength(5);
    expect(textOf(chunks)).toBe("Hello world");
    expect(finishOf(chunks)).toBe("stop");
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]); // include_usage was requested: usage comes alone, last
    expect(last.usage).toMatchObject({ prompt_tokens: 7, completion_tokens: 3, prompt_tokens_details: { cached_tokens: 2 } });
  });

  it("streams reasoning_content before the text", async () => {
    const chunks = await stream(scripted({ reasoning: "thinking hard", text: "42", usage: { reasoning: 4 } }));
    expect(textOf(chunks, "reasoning_content")).toBe("thinking hard");
    expect(textOf(chunks)).toBe("42");
    const firstText = chunks.findIndex((c) => c.choices[0]?.delta.content);
    const lastReasoning = chunks.findLastIndex((c) => c.choices[0]?.delta.reasoning_content);
    expect(lastReasoning).toBeLessThan(firstText);
    expect(chunks.at(-1)?.usage?.completion_tokens_details.reasoning_tokens).toBe(4);
  });

  it("streams a tool call as id+name then argument pieces, and answers the tool result with `then`", async () => {
    const input = { command: "echo hi", description: "say hi" };
    const script: Script = { toolCalls: [{ name: "bash", input }], then: { text: "It printed hi." } };
    const messages = scripted(script);
    const chunks = await stream(messages);
    const calls = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
    expect(calls.length).toBeGreaterThanOrEqual(2);
    const [first, ...rest] = calls;
    expect(first).toMatchObject({ index: 0, type: "function", function: { name: "bash" } });
    expect(first?.id).toMatch(/^call_/);
    expect(rest.every((c) => c.id === undefined && c.function.name === undefined)).toBe(true);
    expect(JSON.parse(calls.map((c) => c.function.arguments).join(""))).toEqual(input);
    expect(finishOf(chunks)).toBe("tool_calls");

    // Same conversation plus the tool result: the "after tool" step.
    const after = await stream([
      ...messages,
      { role: "assistant", content: "", tool_calls: [{ id: first?.id, type: "function", function: { name: "bash", arguments: "{}" } }] },
      { role: "tool", tool_call_id: first?.id, content: "hi\n" },
    ]);
    expect(textOf(after)).toBe("It printed hi.");
    expect(finishOf(after)).toBe("stop");
  });

  it("puts two tool calls in one response with indexes 0 and 1", async () => {
    const chunks = await stream(
      scripted({ toolCalls: [{ name: "bash", input: { command: "echo a" } }, { name: "bash", input: { command: "echo b" } }] }),
    );
    const calls = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
    expect(calls.filter((c) => c.id).map((c) => c.index)).toEqual([0, 1]);
  });

  it("picks sequential steps by the number of assistant messages since the directive", async () => {
    const script: Script = {
      steps: [
        { toolCalls: [{ name: "bash", input: { command: "echo one" } }] },
        { toolCalls: [{ name: "bash", input: { command: "echo two" } }] },
        { text: "Both done." },
      ],
    };
    const base = scripted(script);
    const round = (id: string): ChatMessage[] => [
      { role: "assistant", content: "", tool_calls: [{ id, type: "function", function: { name: "bash", arguments: "{}" } }] },
      { role: "tool", tool_call_id: id, content: "ok" },
    ];
    const step0 = await stream(base);
    const step1 = await stream([...base, ...round("c1")]);
    const step2 = await stream([...base, ...round("c1"), ...round("c2")]);
    const step3 = await stream([...base, ...round("c1"), ...round("c2"), { role: "assistant", content: "Both done." }]);
    const args = (cs: Chunk[]) => cs.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []).map((t) => t.function.arguments).join("");
    expect(JSON.parse(args(step0))).toEqual({ command: "echo one" });
    expect(JSON.parse(args(step1))).toEqual({ command: "echo two" });
    expect(textOf(step2)).toBe("Both done.");
    expect(textOf(step3)).toBe("Done."); // past the end: plain text, never another tool call
    expect(server.requests.slice(-4).map((r) => r.step)).toEqual([0, 1, 2, 3]);
  });

  it("repeats text for long streams", async () => {
    const chunks = await stream(scripted({ text: "abcdefghij", repeat: 1000, chunks: 100 }));
    expect(textOf(chunks)).toBe("abcdefghij".repeat(1000));
    expect(chunks.filter((c) => c.choices[0]?.delta.content)).toHaveLength(100);
  });

  it("answers without a directive with the default text", async () => {
    expect(textOf(await stream([user("hello")]))).toBe("Default reply.");
    expect(server.requests.at(-1)?.kind).toBe("default");
  });

  it("ignores an earlier turn's directive (opencode drops the failed assistant message from history)", async () => {
    const chunks = await stream([...scripted({ error: { status: 401 } }), user("hello again")]);
    expect(textOf(chunks)).toBe("Default reply.");
  });
});

describe("title requests", () => {
  it("always get a short title, never the error script in the quoted prompt", async () => {
    const script: Script = { error: { status: 401 } };
    const chunks = await stream([
      { role: "system", content: TITLE_SYSTEM },
      user("Generate a title for this conversation:\n"),
      user(`please fail\n${directive(script)}`),
    ]);
    expect(textOf(chunks)).toBe("Scripted session");
    expect(server.requests.at(-1)?.kind).toBe("title");
  });
});

describe("provider errors", () => {
  it("401 with a JSON error body", async () => {
    const res = await post(scripted({ error: { status: 401 } }));
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: { message: "Invalid API key", code: "invalid_api_key" } });
  });

  it("429 with retry-after (and retry-after-ms when asked)", async () => {
    const res = await post(scripted({ error: { status: 429, retryAfter: 3 } }));
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("3");
    await res.text();
    const fast = await post(scripted({ error: { status: 429, retryAfterMs: 50 } }));
    expect(fast.headers.get("retry-after-ms")).toBe("50");
    await fast.text();
  });

  it("500 for the first K attempts of one directive id, independently of other ids", async () => {
    const a = scripted({ id: "a", error: { status: 500, times: 2 }, text: "recovered" });
    const b = scripted({ id: "b", error: { status: 500, times: 1 }, text: "recovered" });
    const statuses: number[] = [];
    for (const messages of [a, b, a, b, a]) {
      const res = await post(messages);
      statuses.push(res.status);
      await res.text();
    }
    expect(statuses).toEqual([500, 500, 500, 200, 200]);
  });
});

describe("other routes and lifecycle", () => {
  it("answers non-streaming requests with a chat.completion", async () => {
    const res = await post(scripted({ reasoning: "r", text: "plain", toolCalls: [{ name: "bash", input: { command: "ls" } }] }), {
      stream: false,
    });
    const body = (await res.json()) as {
      object: string;
      choices: Array<{ finish_reason: string; message: { content: string; reasoning_content: string; tool_calls: unknown[] } }>;
    };
    expect(body.object).toBe("chat.completion");
    expect(body.choices[0]).toMatchObject({ finish_reason: "tool_calls", message: { content: "plain", reasoning_content: "r" } });
    expect(body.choices[0]?.message.tool_calls).toHaveLength(1);
  });

  it("lists the model and builds the opencode provider config", async () => {
    const res = await fetch(`${server.url}/models`);
    expect(await res.json()).toMatchObject({ data: [{ id: "m" }] });
    const cfg = server.providerConfig({ permission: { bash: "ask" } });
    expect(cfg).toMatchObject({
      model: "scripted/m",
      small_model: "scripted/m",
      permission: { bash: "ask" },
      provider: { scripted: { npm: "@ai-sdk/openai-compatible", options: { baseURL: server.url } } },
    });
  });

  it("stalls after K chunks and close() still ends promptly", async () => {
    const own = await startModelServer();
    const res = await fetch(`${own.url}/chat/completions`, {
      method: "POST",
      body: JSON.stringify({ stream: true, messages: scripted({ text: "one two three four", chunks: 4, stallAfterChunks: 2 }) }),
    });
    const reader = res.body!.getReader();
    let received = "";
    const decoder = new TextDecoder();
    const readAll = (async () => {
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return "ended";
          received += decoder.decode(value, { stream: true });
        }
      } catch {
        return "destroyed";
      }
    })();
    await new Promise((r) => setTimeout(r, 200));
    const contents = received
      .split("\n\n")
      .filter((f) => f.startsWith("data: {"))
      .map((f) => (JSON.parse(f.slice(6)) as Chunk).choices[0]?.delta.content ?? "");
    expect(contents.filter(Boolean)).toEqual(splitText("one two three four", 4).slice(0, 2));
    expect(received).not.toContain("[DONE]");
    await own.close();
    expect(await readAll).toMatch(/ended|destroyed/);
  });

  it("slows streams down by chunkDelayMs", async () => {
    const started = Date.now();
    await stream(scripted({ text: "abc", chunks: 3, chunkDelayMs: 40 }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(4 * 40 - 10);
  });
});
