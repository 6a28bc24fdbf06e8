// Scripted model server (part of `opencode-serve-client/testing`): a model for `opencode serve` that
// answers from a script instead of an API key — the only "model" the e2e servers, the demo and
// users' own tests talk to. It
// speaks three providers' wire protocols on one port — OpenAI-compatible chat completions
// (`POST /v1/chat/completions`, the `@ai-sdk/openai-compatible` provider), Anthropic Messages
// (`POST /v1/messages`, opencode's bundled `anthropic` provider) and OpenAI Responses
// (`POST /v1/responses`, the bundled `openai` provider) — streaming SSE or plain JSON, plus
// `GET /v1/models`. It decides what to say from a `#script {json}` directive line that the test
// puts in its prompt text (see model-script.ts) — never from request order, because many sessions
// share one server and opencode makes extra calls of its own (title generation).
//
//   const model = await startModelServer();
//   // opencode config: OPENCODE_CONFIG_CONTENT = JSON.stringify(model.providerConfig({}, "anthropic"))
//   await session.prompt(`say hi\n${directive({ text: "Hello world", chunks: 5 })}`);
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { anthropicError, anthropicMessage, anthropicStream, readAnthropicRequest } from "./anthropic-messages.js";
import { listenOnLoopback } from "./loopback.js";
import {
  finishOf,
  plan,
  splitText,
  stepBlocks,
  toolCallsOf,
  type Conversation,
  type ProviderErrorSpec,
  type Script,
  type ScriptStep,
  type StreamErrorSpec,
  type UsageSpec,
} from "./model-script.js";
import { readResponsesRequest, responsesBody, responsesError, responsesStream } from "./openai-responses.js";

export * from "./model-script.js";

/** Which provider protocol opencode speaks to the server. */
export type WireShape = "chat" | "anthropic" | "responses";

/** The opencode provider and model id each shape is configured as (`SHAPES[shape].model` for prompts). */
export const SHAPES: Record<WireShape, { providerID: string; modelID: string; npm: string; model: string }> = {
  chat: { providerID: "scripted", modelID: "m", npm: "@ai-sdk/openai-compatible", model: "scripted/m" },
  anthropic: { providerID: "anthropic", modelID: "claude-scripted", npm: "@ai-sdk/anthropic", model: "anthropic/claude-scripted" },
  responses: { providerID: "openai", modelID: "gpt-scripted", npm: "@ai-sdk/openai", model: "openai/gpt-scripted" },
};

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  /** Parsed JSON body (undefined for GET or unparsable bodies). */
  body: unknown;
  /** The protocol of the request (undefined for other routes). */
  shape?: WireShape;
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
  /**
   * opencode config (for OPENCODE_CONFIG_CONTENT) using this server as its only model, through the
   * provider of each shape (default the OpenAI-compatible one) with a `baseURL` override; the
   * first shape's model is the default. `extra` is merged on top. The `anthropic` and `openai`
   * providers also need `OPENCODE_DISABLE_MODELS_FETCH=1` in the server's environment, so
   * opencode does not reach for models.dev.
   */
  providerConfig(extra?: Record<string, unknown>, shapes?: WireShape | WireShape[]): Record<string, unknown>;
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

export const PROVIDER_ID = SHAPES.chat.providerID;
export const MODEL_ID = SHAPES.chat.modelID;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function chatConversation(body: unknown): Conversation | undefined {
  const request = body as ChatRequest | undefined;
  if (!request || !Array.isArray(request.messages)) return undefined;
  const messages = request.messages;
  const last = messages.findLastIndex((m) => m.role === "user");
  return {
    system: messages.filter((m) => m.role === "system").map(messageText).join("\n"),
    prompt: last < 0 ? undefined : messageText(messages[last]!),
    // Counting assistant messages, not tool results, keeps a step with two parallel tool calls one step.
    priorSteps: last < 0 ? 0 : messages.slice(last + 1).filter((m) => m.role === "assistant").length,
    stream: request.stream === true,
    model: request.model ?? MODEL_ID,
  };
}

function messageText(m: ChatMessage): string {
  if (typeof m.content === "string") return m.content;
  if (Array.isArray(m.content)) return m.content.map((p) => p.text ?? "").join("\n");
  return "";
}

const ROUTES: Array<{ suffix: string; shape: WireShape; read: (body: unknown) => Conversation | undefined }> = [
  { suffix: "/chat/completions", shape: "chat", read: chatConversation },
  { suffix: "/messages", shape: "anthropic", read: readAnthropicRequest },
  { suffix: "/responses", shape: "responses", read: readResponsesRequest },
];

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
    let body: unknown;
    try {
      body = raw ? (JSON.parse(raw) as unknown) : undefined;
    } catch {
      body = undefined;
    }
    const record: RecordedRequest = { method: req.method ?? "GET", path, headers: req.headers, body, kind: "other", at: Date.now() };
    requests.push(record);

    if (req.method === "GET" && path.endsWith("/models")) {
      return json(res, 200, { object: "list", data: [{ id: MODEL_ID, object: "model", created: 0, owned_by: PROVIDER_ID }] });
    }
    const route = req.method === "POST" ? ROUTES.find((r) => path.endsWith(r.suffix)) : undefined;
    const conversation = route?.read(body);
    if (!route || !conversation) {
      return json(res, 404, { error: { message: `no route ${req.method} ${path}`, type: "invalid_request_error" } });
    }
    record.shape = route.shape;

    const p = plan(conversation, opts);
    record.kind = p.kind;
    let streamError: StreamErrorSpec | undefined;
    if (p.kind === "script") {
      record.script = p.script;
      record.step = p.stepIndex;
      const err = p.script.error;
      if (err && failsNow(p.script, "error", err.times)) return providerError(res, route.shape, err);
      const failure = p.stepIndex === 0 ? p.script.failures?.[attempt(p.script, "failures") - 1] : undefined;
      if (failure && "status" in failure) return providerError(res, route.shape, failure);
      streamError = failure;
    }
    const script: Script = p.kind === "script" ? p.script : {};
    const stepIndex = p.kind === "script" ? p.stepIndex : 0;
    const model = conversation.model;
    if (!conversation.stream) {
      if (route.shape === "anthropic") return json(res, 200, anthropicMessage(p.step, stepIndex, model));
      if (route.shape === "responses") return json(res, 200, responsesBody(p.step, stepIndex, model));
      return complete(res, model, p.step, stepIndex);
    }
    if (route.shape === "anthropic") return send(res, anthropicStream(p.step, stepIndex, model, streamError), script);
    if (route.shape === "responses") return send(res, responsesStream(p.step, stepIndex, model, streamError), script);
    return send(res, chatStream(body as ChatRequest, model, p.step, stepIndex), script, "data: [DONE]\n\n");
  }

  /** Counts a request of the script for `kind` of failure; the count including this one. */
  function attempt(script: Script, kind: string): number {
    const key = `${script.id ?? JSON.stringify(script)}:${kind}`;
    const n = (attempts.get(key) ?? 0) + 1;
    attempts.set(key, n);
    return n;
  }

  /** True while the script's error should still fail this request. */
  function failsNow(script: Script, kind: string, times: number | undefined): boolean {
    const n = attempt(script, kind);
    return times === undefined || n <= times;
  }

  function json(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(JSON.stringify(value));
  }

  function providerError(res: ServerResponse, shape: WireShape, err: ProviderErrorSpec): void {
    const headers: Record<string, string> = {};
    const retryAfter = err.retryAfter ?? (err.status === 429 ? 1 : undefined);
    if (retryAfter !== undefined) headers["retry-after"] = String(retryAfter);
    if (err.retryAfterMs !== undefined) headers["retry-after-ms"] = String(err.retryAfterMs);
    if (shape === "anthropic") return json(res, err.status, anthropicError(err), headers);
    if (shape === "responses") return json(res, err.status, responsesError(err), headers);
    const type = err.status === 401 ? "invalid_request_error" : err.status === 429 ? "rate_limit_exceeded" : "server_error";
    const message =
      err.message ?? (err.status === 401 ? "Invalid API key" : err.status === 429 ? "Rate limit reached" : "Internal server error");
    json(res, err.status, { error: { message, type, code: err.status === 401 ? "invalid_api_key" : null } }, headers);
  }

  function complete(res: ServerResponse, model: string, step: ScriptStep, stepIndex: number): void {
    const calls = toolCallsOf(step, stepIndex);
    const blocks = stepBlocks(step);
    json(res, 200, {
      id: `chatcmpl-${randomUUID()}`,
      object: "chat.completion",
      created: Math.floor(Date.now() / 1000),
      model,
      choices: [
        {
          index: 0,
          message: {
            role: "assistant",
            content: blocks.length ? blocks.join("") : null,
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

  function chatStream(body: ChatRequest, model: string, step: ScriptStep, stepIndex: number): string[] {
    const id = `chatcmpl-${randomUUID()}`;
    const created = Math.floor(Date.now() / 1000);
    const chunk = (delta: Record<string, unknown>, finish: string | null = null, extra: Record<string, unknown> = {}) => ({
      id,
      object: "chat.completion.chunk",
      created,
      model,
      choices: [{ index: 0, delta, finish_reason: finish }],
      ...extra,
    });

    const frames: unknown[] = [chunk({ role: "assistant", content: "" })];
    const n = step.chunks ?? 3;
    if (step.reasoning) for (const r of splitText(step.reasoning, n)) frames.push(chunk({ reasoning_content: r }));
    for (const text of stepBlocks(step)) for (const t of splitText(text, n)) frames.push(chunk({ content: t }));
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
    return frames.map((frame) => `data: ${JSON.stringify(frame)}\n\n`);
  }

  /**
   * Writes SSE frames with the script's pacing. frames[0] opens the stream (the role chunk,
   * `message_start`, `response.created`), so "stall after K chunks" means K frames after it went out.
   */
  async function send(res: ServerResponse, frames: string[], script: Script, end = ""): Promise<void> {
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    // Not req "close": that fires once the request body is consumed, not when the client leaves.
    let closed = false;
    res.on("close", () => (closed = true));
    for (let i = 0; i < frames.length; i++) {
      if (closed) return;
      if (script.stallAfterChunks !== undefined && i > script.stallAfterChunks) return; // silent, socket left open
      if (i > 0 && script.chunkDelayMs) await sleep(script.chunkDelayMs);
      res.write(frames[i]);
    }
    if (!closed) res.end(end);
  }

  // Closing destroys open sockets: stalled streams would otherwise keep close() waiting forever.
  const loopback = await listenOnLoopback(server);
  const port = loopback.port;
  const url = `${loopback.origin}/v1`;

  return {
    url,
    port,
    requests,
    providerConfig(extra = {}, shapes: WireShape | WireShape[] = "chat") {
      const list = Array.isArray(shapes) ? shapes : [shapes];
      const first = SHAPES[list[0] ?? "chat"];
      const provider: Record<string, unknown> = {};
      for (const shape of list) {
        const { providerID, modelID, npm } = SHAPES[shape];
        provider[providerID] = {
          npm,
          name: providerID,
          options: { baseURL: url, apiKey: "x" },
          models: { [modelID]: { name: modelID, ...opts.model } },
        };
      }
      return {
        autoupdate: false,
        share: "disabled",
        model: `${first.providerID}/${first.modelID}`,
        small_model: `${first.providerID}/${first.modelID}`,
        provider,
        ...extra,
      };
    },
    close: loopback.close,
  };
}
