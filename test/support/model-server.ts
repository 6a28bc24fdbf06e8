// Scripted OpenAI-compatible model server for tests: the only "model" the e2e `opencode serve`
// instances talk to. It answers `POST /v1/chat/completions` (streaming SSE or plain JSON) and
// `GET /v1/models`, and decides what to say from a `#script {json}` directive line that the test
// puts in its prompt text — never from request order, because many sessions share one server and
// opencode makes extra calls of its own (title generation).
//
//   const model = await startModelServer();
//   // opencode config: OPENCODE_CONFIG_CONTENT = JSON.stringify(model.providerConfig())
//   await session.prompt(`say hi\n${directive({ text: "Hello world", chunks: 5 })}`);
//
// How a request is answered:
//   1. A title-generation request (system prompt "You are a title generator") always gets a short
//      title at once. It contains the user's prompt, directive included, so it must never run the
//      script (an error script there would fail the title, not the turn under test).
//   2. Otherwise a directive in the last user message (the current turn's prompt) selects the script.
//      The step is the number of assistant messages after that user message (each finished model
//      call adds one), so `steps[0]` answers the prompt, `steps[1]` answers after the first tool
//      results, etc. Past the last step the answer is plain "Done." so a tool-calling script cannot
//      loop forever. Counting assistant messages, not tool results, keeps a step with two parallel
//      tool calls a single step.
//   3. A compaction summary request (system prompt "context summarization agent") quotes the
//      conversation, directives included, so it gets a fixed summary, never a script step.
//   4. No directive in the last user message (a later turn without one, compaction, ...): a default
//      short text.
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { listenOnLoopback } from "./loopback.js";

/** A tool call the model makes. `input` is sent as the JSON `arguments` string. */
export interface ToolCallSpec {
  name: string;
  input: Record<string, unknown>;
  /** Tool call id; default `call_<step>_<index>_<random>`. */
  id?: string;
}

/**
 * Token usage reported in the last chunk (and in the non-streaming body). opencode 1.18.33 turns it
 * into tokens {input: prompt - cached, output: completion - reasoning, reasoning, cache.read: cached,
 * total: prompt + completion}; reasoning is priced at the output rate.
 */
export interface UsageSpec {
  prompt?: number;
  completion?: number;
  reasoning?: number;
  cached?: number;
}

/** One model response. */
export interface ScriptStep {
  /** Streamed as `delta.reasoning_content` before any text. */
  reasoning?: string;
  /** Streamed as `delta.content`. */
  text?: string;
  /** Repeat `text` this many times (long-output tests without a huge directive). */
  repeat?: number;
  /** Split text (and reasoning) into this many chunks each; default 3. */
  chunks?: number;
  /** Tool calls after the text, all in this one response; finish_reason becomes "tool_calls". */
  toolCalls?: ToolCallSpec[];
  /** Default `{prompt: 10, completion: 5, reasoning: 0, cached: 0}`. */
  usage?: UsageSpec;
  /** Override the finish_reason (e.g. "length"). */
  finish?: "stop" | "length" | "tool_calls" | "content_filter";
}

export interface ProviderErrorSpec {
  /** HTTP status, e.g. 401, 429, 500. */
  status: number;
  message?: string;
  /** Seconds, sent as `retry-after` (429 defaults to 1). opencode waits exactly this long before retrying. */
  retryAfter?: number;
  /** Milliseconds, sent as `retry-after-ms`; opencode prefers it, so fast 5xx/429 retry tests use it. */
  retryAfterMs?: number;
  /** Fail only the first `times` attempts of this directive (counted per `id`), then answer normally. */
  times?: number;
}

/** The directive a test puts in its prompt. Top-level step fields are shorthand for `steps[0]`. */
export interface Script extends ScriptStep {
  /** Key for per-directive state (error attempt counts). `directive()` fills in a random one. */
  id?: string;
  /** Sequential responses of one turn (step N answers after N earlier model responses). */
  steps?: ScriptStep[];
  /** With the shorthand form and `toolCalls`: the response after the tool results; default text "Done.". */
  then?: ScriptStep;
  /** Answer with an HTTP error instead of a completion. */
  error?: ProviderErrorSpec;
  /** Delay between streamed chunks. */
  chunkDelayMs?: number;
  /** Send this many content chunks (after the role chunk), then go silent with the socket open (until the client or close() ends it). */
  stallAfterChunks?: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  /** Parsed JSON body (undefined for GET or unparsable bodies). */
  body: ChatRequest | undefined;
  /** How the server classified it. */
  kind: "title" | "summary" | "script" | "default" | "other";
  script?: Script;
  step?: number;
  at: number;
}

export interface ModelServerOptions {
  /** Text for requests without a directive; default "Default reply.". */
  defaultText?: string;
  /** Title for title-generation requests; default "Scripted session". */
  title?: string;
  /**
   * Extra fields for the model entry in providerConfig(), e.g. `{ cost: { input: 1, output: 2 } }`
   * (USD per million tokens) so turns report a non-zero cost; without it every cost is 0.
   */
  model?: Record<string, unknown>;
}

export interface ModelServer {
  /** `http://127.0.0.1:PORT/v1` — the provider baseURL. */
  url: string;
  port: number;
  requests: RecordedRequest[];
  /** opencode config (for OPENCODE_CONFIG_CONTENT) using this server as its only model; `extra` is merged on top. */
  providerConfig(extra?: Record<string, unknown>): Record<string, unknown>;
  close(): Promise<void>;
}

/** The parts of an OpenAI chat request this server looks at. */
export interface ChatMessage {
  role: "system" | "user" | "assistant" | "tool" | string;
  content?: string | Array<{ type: string; text?: string }> | null;
  tool_calls?: unknown[];
  tool_call_id?: string;
}
export interface ChatRequest {
  model?: string;
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  messages?: ChatMessage[];
  tools?: unknown[];
  [key: string]: unknown;
}

export const PROVIDER_ID = "scripted";
export const MODEL_ID = "m";
const DIRECTIVE = "#script ";
/** What the scripted model answers to opencode's compaction (summary) requests. */
export const SUMMARY_TEXT = "Summary: the user asked for work and it was done.";

/** Render a script as the `#script {json}` line to append to a prompt. Adds a random `id` if missing. */
export function directive(script: Script): string {
  return DIRECTIVE + JSON.stringify({ id: randomUUID(), ...script });
}

/** Find the directive in a text, if any (the last `#script` line wins). */
export function parseDirective(text: string): Script | undefined {
  let found: Script | undefined;
  for (const line of text.split("\n")) {
    const at = line.indexOf(DIRECTIVE);
    if (at < 0) continue;
    try {
      const parsed: unknown = JSON.parse(line.slice(at + DIRECTIVE.length));
      if (parsed && typeof parsed === "object") found = parsed as Script;
    } catch {
      // not a directive after all (e.g. the line was quoted back to us truncated)
    }
  }
  return found;
}

function messageText(m: ChatMessage): string {
  if (typeof m.content === "string") return m.content;
  if (Array.isArray(m.content)) return m.content.map((p) => p.text ?? "").join("\n");
  return "";
}

/** Split deterministically into `n` near-equal pieces, by code point (never inside a surrogate pair). */
export function splitText(text: string, n: number): string[] {
  const chars = Array.from(text);
  const count = Math.max(1, Math.min(n, chars.length));
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const piece = chars.slice(Math.floor((i * chars.length) / count), Math.floor(((i + 1) * chars.length) / count)).join("");
    if (piece) out.push(piece);
  }
  return out;
}

type Plan =
  | { kind: "title" | "summary" | "default"; step: ScriptStep }
  | { kind: "script"; script: Script; stepIndex: number; step: ScriptStep };

function plan(body: ChatRequest, opts: Required<ModelServerOptions>): Plan {
  const messages = body.messages ?? [];
  const system = messages.filter((m) => m.role === "system").map(messageText).join("\n");
  if (system.includes("You are a title generator")) return { kind: "title", step: { text: opts.title, chunks: 1 } };
  // Compaction's summary request quotes the whole conversation, directives included: never run them.
  if (system.includes("context summarization agent")) return { kind: "summary", step: { text: SUMMARY_TEXT, chunks: 2 } };

  // Only the last user message (the current turn's prompt) counts: an earlier turn's directive must
  // not leak into a later turn without one (an old error script would fail every later turn).
  const last = messages.findLastIndex((m) => m.role === "user");
  const script = last < 0 ? undefined : parseDirective(messageText(messages[last]!));
  if (!script) return { kind: "default", step: { text: opts.defaultText } };
  const stepIndex = messages.slice(last + 1).filter((m) => m.role === "assistant").length;
  const steps = script.steps ?? [script, ...(script.toolCalls ? [script.then ?? { text: "Done." }] : [])];
  return { kind: "script", script, stepIndex, step: steps[stepIndex] ?? { text: "Done." } };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function usageOf(u: UsageSpec | undefined) {
  const prompt = u?.prompt ?? 10;
  const completion = u?.completion ?? 5;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: u?.cached ?? 0 },
    completion_tokens_details: { reasoning_tokens: u?.reasoning ?? 0 },
  };
}

function toolCallsOf(step: ScriptStep, stepIndex: number) {
  return (step.toolCalls ?? []).map((t, i) => ({
    id: t.id ?? `call_${stepIndex}_${i}_${randomUUID().slice(0, 8)}`,
    name: t.name,
    args: JSON.stringify(t.input),
  }));
}

function finishOf(step: ScriptStep): string {
  return step.finish ?? (step.toolCalls?.length ? "tool_calls" : "stop");
}

/** Start the server on 127.0.0.1 with a free port. */
export async function startModelServer(options: ModelServerOptions = {}): Promise<ModelServer> {
  const opts: Required<ModelServerOptions> = {
    defaultText: options.defaultText ?? "Default reply.",
    title: options.title ?? "Scripted session",
    model: options.model ?? {},
  };
  const requests: RecordedRequest[] = [];
  const attempts = new Map<string, number>(); // directive id -> error attempts so far

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      handle(req, res, Buffer.concat(chunks).toString("utf8")).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { message: String(err), type: "server_error" } }));
      });
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse, raw: string): Promise<void> {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    let body: ChatRequest | undefined;
    try {
      body = raw ? (JSON.parse(raw) as ChatRequest) : undefined;
    } catch {
      body = undefined;
    }
    const record: RecordedRequest = { method: req.method ?? "GET", path, headers: req.headers, body, kind: "other", at: Date.now() };
    requests.push(record);

    if (req.method === "GET" && path.endsWith("/models")) {
      return json(res, 200, { object: "list", data: [{ id: MODEL_ID, object: "model", created: 0, owned_by: PROVIDER_ID }] });
    }
    if (req.method !== "POST" || !path.endsWith("/chat/completions") || !body) {
      return json(res, 404, { error: { message: `no route ${req.method} ${path}`, type: "invalid_request_error" } });
    }

    const p = plan(body, opts);
    record.kind = p.kind;
    if (p.kind === "script") {
      record.script = p.script;
      record.step = p.stepIndex;
      const err = p.script.error;
      if (err) {
        const key = p.script.id ?? JSON.stringify(p.script);
        const n = (attempts.get(key) ?? 0) + 1;
        attempts.set(key, n);
        if (err.times === undefined || n <= err.times) return providerError(res, err);
      }
    }
    const script: Script = p.kind === "script" ? p.script : {};
    if (body.stream) return stream(req, res, body, p.step, p.kind === "script" ? p.stepIndex : 0, script);
    return complete(res, body, p.step, p.kind === "script" ? p.stepIndex : 0);
  }

  function json(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(JSON.stringify(value));
  }

  function providerError(res: ServerResponse, err: ProviderErrorSpec): void {
    const type = err.status === 401 ? "invalid_request_error" : err.status === 429 ? "rate_limit_exceeded" : "server_error";
    const message =
      err.message ?? (err.status === 401 ? "Invalid API key" : err.status === 429 ? "Rate limit reached" : "Internal server error");
    const headers: Record<string, string> = {};
    const retryAfter = err.retryAfter ?? (err.status === 429 ? 1 : undefined);
    if (retryAfter !== undefined) headers["retry-after"] = String(retryAfter);
    if (err.retryAfterMs !== undefined) headers["retry-after-ms"] = String(err.retryAfterMs);
    json(res, err.status, { error: { message, type, code: err.status === 401 ? "invalid_api_key" : null } }, headers);
  }

  function complete(res: ServerResponse, body: ChatRequest, step: ScriptStep, stepIndex: number): void {
    const calls = toolCallsOf(step, stepIndex);
    json(res, 200, {
      id: `chatcmpl-${randomUUID()}`,
      object: "chat.completion",
      created: Math.floor(Date.now() / 1000),
      model: body.model ?? MODEL_ID,
      choices: [
        {
          index: 0,
          message: {
            role: "assistant",
            content: step.text === undefined ? null : step.text.repeat(step.repeat ?? 1),
            ...(step.reasoning ? { reasoning_content: step.reasoning } : {}),
            ...(calls.length
              ? { tool_calls: calls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: c.args } })) }
              : {}),
          },
          finish_reason: finishOf(step),
        },
      ],
      usage: usageOf(step.usage),
    });
  }

  async function stream(
    req: IncomingMessage,
    res: ServerResponse,
    body: ChatRequest,
    step: ScriptStep,
    stepIndex: number,
    script: Script,
  ): Promise<void> {
    const id = `chatcmpl-${randomUUID()}`;
    const created = Math.floor(Date.now() / 1000);
    const model = body.model ?? MODEL_ID;
    const chunk = (delta: Record<string, unknown>, finish: string | null = null, extra: Record<string, unknown> = {}) => ({
      id,
      object: "chat.completion.chunk",
      created,
      model,
      choices: [{ index: 0, delta, finish_reason: finish }],
      ...extra,
    });

    // Everything to send, in order; the stall/delay logic below only decides the pacing.
    const frames: unknown[] = [chunk({ role: "assistant", content: "" })];
    const n = step.chunks ?? 3;
    if (step.reasoning) for (const r of splitText(step.reasoning, n)) frames.push(chunk({ reasoning_content: r }));
    if (step.text) for (const t of splitText(step.text.repeat(step.repeat ?? 1), n)) frames.push(chunk({ content: t }));
    toolCallsOf(step, stepIndex).forEach((c, index) => {
      // id + name + first half of the arguments, then the rest: the shape real providers stream.
      const half = Math.floor(c.args.length / 2);
      frames.push(chunk({ tool_calls: [{ index, id: c.id, type: "function", function: { name: c.name, arguments: c.args.slice(0, half) } }] }));
      frames.push(chunk({ tool_calls: [{ index, function: { arguments: c.args.slice(half) } }] }));
    });
    const usage = usageOf(step.usage);
    if (body.stream_options?.include_usage) {
      frames.push(chunk({}, finishOf(step)));
      frames.push({ id, object: "chat.completion.chunk", created, model, choices: [], usage });
    } else {
      frames.push(chunk({}, finishOf(step), { usage }));
    }

    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    // Not req "close": that fires once the request body is consumed, not when the client leaves.
    let closed = false;
    res.on("close", () => (closed = true));
    for (let i = 0; i < frames.length; i++) {
      if (closed) return;
      // frames[0] is the role chunk, so "after K chunks" means K content chunks went out.
      if (script.stallAfterChunks !== undefined && i > script.stallAfterChunks) return; // silent, socket left open
      if (i > 0 && script.chunkDelayMs) await sleep(script.chunkDelayMs);
      res.write(`data: ${JSON.stringify(frames[i])}\n\n`);
    }
    if (!closed) res.end("data: [DONE]\n\n");
  }

  // Closing destroys open sockets: stalled streams would otherwise keep close() waiting forever.
  const loopback = await listenOnLoopback(server);
  const port = loopback.port;
  const url = `${loopback.origin}/v1`;

  return {
    url,
    port,
    requests,
    providerConfig(extra = {}) {
      return {
        autoupdate: false,
        share: "disabled",
        model: `${PROVIDER_ID}/${MODEL_ID}`,
        small_model: `${PROVIDER_ID}/${MODEL_ID}`,
        provider: {
          [PROVIDER_ID]: {
            npm: "@ai-sdk/openai-compatible",
            name: PROVIDER_ID,
            options: { baseURL: url, apiKey: "x" },
            models: { [MODEL_ID]: { name: MODEL_ID, ...opts.model } },
          },
        },
        ...extra,
      };
    },
    close: loopback.close,
  };
}
