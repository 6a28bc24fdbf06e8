// Unit tests of the scripted model server's Anthropic Messages and OpenAI Responses protocols, over
// plain HTTP (no opencode involved): the event sequences, the step choice from each protocol's
// conversation shape, and the failures.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { directive, startModelServer, type ModelServer, type Script } from "./model-server.js";

let server: ModelServer;
beforeAll(async () => {
  server = await startModelServer();
});
afterAll(async () => {
  await server.close();
});

interface Frame {
  event: string;
  data: Record<string, unknown> & { type: string };
}

/** Parse an SSE body, checking each frame's `event:` line names its data's `type`. */
function frames(body: string): Frame[] {
  return body
    .split("\n\n")
    .filter((f) => f.length > 0)
    .map((f) => {
      const [eventLine, dataLine] = f.split("\n");
      expect(eventLine).toMatch(/^event: /);
      expect(dataLine).toMatch(/^data: /);
      const frame = { event: eventLine!.slice(7), data: JSON.parse(dataLine!.slice(6)) as Frame["data"] };
      expect(frame.data.type).toBe(frame.event);
      return frame;
    });
}

async function post(path: string, body: unknown): Promise<Response> {
  return fetch(`${server.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
}

const prompt = (script: Script) => `do it\n${directive(script)}`;

describe("Anthropic Messages", () => {
  const request = (script: Script, extra: Record<string, unknown>[] = [], stream = true) => ({
    model: "claude-scripted",
    max_tokens: 1000,
    stream,
    system: [{ type: "text", text: "You are opencode" }],
    messages: [{ role: "user", content: [{ type: "text", text: prompt(script) }] }, ...extra],
  });
  const stream = async (script: Script, extra: Record<string, unknown>[] = []) => {
    const res = await post("/messages", request(script, extra));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    return frames(await res.text());
  };
  const deltas = (fs: Frame[], type: string, key: string) =>
    fs.flatMap((f) => {
      const delta = f.data["delta"] as Record<string, string> | undefined;
      return f.event === "content_block_delta" && delta?.["type"] === type ? [delta[key]] : [];
    });

  it("streams thinking with a signature, text, then tool_use with input_json_delta, then usage and stop", async () => {
    const input = { command: "echo hi", description: "d" };
    const fs = await stream({
      reasoning: "Let me think.",
      text: "Calling it.",
      chunks: 3,
      toolCalls: [{ name: "bash", input }],
      usage: { prompt: 50, completion: 9, cached: 20, cacheWrite: 5 },
    });
    expect(fs[0]?.event).toBe("message_start");
    expect((fs[0]?.data["message"] as { usage: unknown }).usage).toEqual({
      input_tokens: 25,
      cache_creation_input_tokens: 5,
      cache_read_input_tokens: 20,
      output_tokens: 1,
    });
    const starts = fs.filter((f) => f.event === "content_block_start").map((f) => (f.data["content_block"] as { type: string }).type);
    expect(starts).toEqual(["thinking", "text", "tool_use"]);
    expect(deltas(fs, "thinking_delta", "thinking").join("")).toBe("Let me think.");
    expect(deltas(fs, "signature_delta", "signature")).toHaveLength(1);
    expect(deltas(fs, "text_delta", "text").join("")).toBe("Calling it.");
    expect(JSON.parse(deltas(fs, "input_json_delta", "partial_json").join(""))).toEqual(input);
    expect(fs.filter((f) => f.event === "content_block_stop")).toHaveLength(3);
    expect(fs.at(-2)?.data).toMatchObject({ type: "message_delta", delta: { stop_reason: "tool_use" }, usage: { output_tokens: 9 } });
    expect(fs.at(-1)?.event).toBe("message_stop");
  });

  it("answers the step after tool results (a user message of tool_result blocks is not a new prompt)", async () => {
    const script: Script = { toolCalls: [{ id: "toolu_1", name: "bash", input: { command: "ls" } }], then: { text: "Listed." } };
    const fs = await stream(script, [
      { role: "assistant", content: [{ type: "tool_use", id: "toolu_1", name: "bash", input: { command: "ls" } }] },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: "a\nb" }] },
    ]);
    expect(deltas(fs, "text_delta", "text").join("")).toBe("Listed.");
    expect(server.requests.at(-1)).toMatchObject({ shape: "anthropic", kind: "script", step: 1 });
  });

  it("gives a title generator its title from the system prompt", async () => {
    const res = await post("/messages", {
      ...request({ error: { status: 500 } }),
      system: "You are a title generator. You output ONLY a thread title.",
    });
    expect(res.status).toBe(200);
    expect(deltas(frames(await res.text()), "text_delta", "text").join("")).toBe("Scripted session");
  });

  it("fails mid-stream with an overloaded_error event after the asked deltas, then streams normally", async () => {
    const script: Script = { id: "anthropic-midstream", text: "abcdef", chunks: 6, failures: [{ afterDeltas: 2 }, { afterDeltas: 1, fatal: true }] };
    const first = await stream(script);
    expect(deltas(first, "text_delta", "text")).toEqual(["a", "b"]);
    expect(first.at(-1)).toEqual({ event: "error", data: { type: "error", error: { type: "overloaded_error", message: "Overloaded" } } });
    const second = await stream(script);
    expect(deltas(second, "text_delta", "text")).toEqual(["a"]);
    expect((second.at(-1)?.data["error"] as { type: string }).type).toBe("invalid_request_error");
    const third = await stream(script);
    expect(deltas(third, "text_delta", "text").join("")).toBe("abcdef");
    expect(third.at(-1)?.event).toBe("message_stop");
  });

  it("answers 429 with the API's error body and retry-after", async () => {
    const res = await post("/messages", request({ error: { status: 429, retryAfter: 3 } }));
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("3");
    expect(await res.json()).toMatchObject({ type: "error", error: { type: "rate_limit_error" } });
  });

  it("answers non-streaming requests with a message", async () => {
    const res = await post("/messages", request({ text: "plain", toolCalls: [{ name: "bash", input: { command: "ls" } }] }, [], false));
    expect(await res.json()).toMatchObject({
      type: "message",
      content: [{ type: "text", text: "plain" }, { type: "tool_use", name: "bash", input: { command: "ls" } }],
      stop_reason: "tool_use",
    });
  });
});

describe("OpenAI Responses", () => {
  const request = (script: Script, extra: Record<string, unknown>[] = [], stream = true) => ({
    model: "gpt-scripted",
    stream,
    input: [
      { role: "system", content: "You are opencode" },
      { role: "user", content: [{ type: "input_text", text: prompt(script) }] },
      ...extra,
    ],
  });
  const stream = async (script: Script, extra: Record<string, unknown>[] = []) => {
    const res = await post("/responses", request(script, extra));
    expect(res.status).toBe(200);
    return frames(await res.text());
  };
  const all = (fs: Frame[], type: string, key = "delta") => fs.filter((f) => f.event === type).map((f) => f.data[key] as string);

  it("streams reasoning summary, message text and function-call arguments as output items, then usage", async () => {
    const input = { command: "echo hi" };
    const fs = await stream({
      reasoning: "Let me think.",
      text: "One. ",
      texts: ["Two."],
      toolCalls: [{ name: "bash", input }],
      usage: { prompt: 50, completion: 9, reasoning: 4, cached: 20 },
    });
    expect(fs.map((f) => f.data["sequence_number"])).toEqual(fs.map((_, i) => i));
    expect(fs[0]?.event).toBe("response.created");
    const added = fs.filter((f) => f.event === "response.output_item.added").map((f) => (f.data["item"] as { type: string }).type);
    expect(added).toEqual(["reasoning", "message", "message", "function_call"]);
    expect(fs.filter((f) => f.event === "response.output_item.done")).toHaveLength(4);
    expect(all(fs, "response.reasoning_summary_text.delta").join("")).toBe("Let me think.");
    expect(all(fs, "response.output_text.delta").join("")).toBe("One. Two.");
    expect(JSON.parse(all(fs, "response.function_call_arguments.delta").join(""))).toEqual(input);
    const done = fs.at(-1)!;
    expect(done.event).toBe("response.completed");
    expect((done.data["response"] as { usage: unknown }).usage).toEqual({
      input_tokens: 50,
      input_tokens_details: { cached_tokens: 20 },
      output_tokens: 9,
      output_tokens_details: { reasoning_tokens: 4 },
      total_tokens: 59,
    });
  });

  it("counts each run of output items followed by tool outputs as one earlier step", async () => {
    const script: Script = {
      steps: [
        { toolCalls: [{ name: "bash", input: { command: "a" } }, { name: "bash", input: { command: "b" } }] },
        { toolCalls: [{ name: "bash", input: { command: "c" } }] },
        { text: "Third step." },
      ],
    };
    const call = (id: string) => ({ type: "function_call", call_id: id, name: "bash", arguments: "{}" });
    const output = (id: string) => ({ type: "function_call_output", call_id: id, output: "ok" });
    const fs = await stream(script, [
      { type: "reasoning", id: "rs_1", summary: [] },
      call("c1"),
      call("c2"),
      output("c1"),
      output("c2"),
      { type: "item_reference", id: "msg_1" },
      call("c3"),
      output("c3"),
    ]);
    expect(all(fs, "response.output_text.delta").join("")).toBe("Third step.");
    expect(server.requests.at(-1)).toMatchObject({ shape: "responses", kind: "script", step: 2 });
  });

  it("fails mid-stream with response.failed after the asked deltas, then streams normally", async () => {
    const script: Script = { id: "responses-midstream", text: "abcdef", chunks: 6, failures: [{ afterDeltas: 3 }, { afterDeltas: 0, fatal: true }] };
    const first = await stream(script);
    expect(all(first, "response.output_text.delta")).toEqual(["a", "b", "c"]);
    expect(first.at(-1)?.data).toMatchObject({ type: "response.failed", response: { status: "failed", error: { code: "server_error" } } });
    const second = await stream(script);
    expect(all(second, "response.output_text.delta")).toEqual([]);
    expect(second.at(-1)?.data).toMatchObject({ response: { error: { code: "invalid_prompt" } } });
    const third = await stream(script);
    expect(all(third, "response.output_text.delta").join("")).toBe("abcdef");
  });

  it("ends a length-limited response with response.incomplete", async () => {
    const fs = await stream({ text: "cut", finish: "length" });
    expect(fs.at(-1)?.data).toMatchObject({ type: "response.incomplete", response: { incomplete_details: { reason: "max_output_tokens" } } });
  });

  it("answers 429 with the API's error body and retry-after-ms when asked", async () => {
    const res = await post("/responses", request({ error: { status: 429, retryAfterMs: 250 } }));
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after-ms")).toBe("250");
    expect(await res.json()).toMatchObject({ error: { code: "rate_limit_exceeded" } });
  });

  it("answers non-streaming requests with a response", async () => {
    const res = await post("/responses", request({ text: "plain" }, [], false));
    expect(await res.json()).toMatchObject({ object: "response", status: "completed", output: [{ type: "message", content: [{ text: "plain" }] }] });
  });
});

describe("provider config", () => {
  it("configures the bundled providers with a baseURL override, the first shape's model as default", () => {
    expect(server.providerConfig({}, ["anthropic", "responses"])).toMatchObject({
      model: "anthropic/claude-scripted",
      provider: {
        anthropic: { npm: "@ai-sdk/anthropic", options: { baseURL: server.url, apiKey: "x" }, models: { "claude-scripted": {} } },
        openai: { npm: "@ai-sdk/openai", options: { baseURL: server.url, apiKey: "x" }, models: { "gpt-scripted": {} } },
      },
    });
  });
});
