// The Anthropic Messages wire protocol for the scripted model server (`POST /v1/messages`): reads
// what opencode's bundled `anthropic` provider sends, and writes a script step as the real API's
// stream (`message_start`, `content_block_*` for thinking / text / tool_use, `message_delta` with
// usage, `message_stop`), as a non-streaming message, or as the API's error bodies.

import { randomUUID } from "node:crypto";
import type { Conversation, ProviderErrorSpec, ScriptStep, StreamErrorSpec } from "./model-script.js";
import { finishOf, splitText, stepBlocks, toolCallsOf } from "./model-script.js";

interface ContentBlock {
  type: string;
  text?: string;
}

interface AnthropicMessage {
  role: string;
  content: string | ContentBlock[];
}

interface AnthropicRequest {
  model?: string;
  system?: string | ContentBlock[];
  messages?: AnthropicMessage[];
  stream?: boolean;
}

const textOf = (content: string | ContentBlock[] | undefined): string =>
  typeof content === "string" ? content : (content ?? []).map((b) => (b.type === "text" ? (b.text ?? "") : "")).join("\n");

/**
 * The user's prompt is the last user message with text in it: tool results come back as user
 * messages too (blocks of type `tool_result`), and must not count as a new prompt. Each earlier
 * model response of the turn is one assistant message after it.
 */
export function readAnthropicRequest(body: unknown): Conversation | undefined {
  const request = body as AnthropicRequest | undefined;
  if (!request || !Array.isArray(request.messages)) return undefined;
  const messages = request.messages;
  const last = messages.findLastIndex((m) => m.role === "user" && textOf(m.content) !== "");
  return {
    system: textOf(request.system),
    prompt: last < 0 ? undefined : textOf(messages[last]!.content),
    priorSteps: last < 0 ? 0 : messages.slice(last + 1).filter((m) => m.role === "assistant").length,
    stream: request.stream === true,
    model: request.model ?? "m",
  };
}

const STOP_REASONS = { stop: "end_turn", tool_calls: "tool_use", length: "max_tokens", content_filter: "refusal" } as const;

function usageOf(step: ScriptStep) {
  const prompt = step.usage?.prompt ?? 10;
  const cached = step.usage?.cached ?? 0;
  const written = step.usage?.cacheWrite ?? 0;
  return {
    input_tokens: Math.max(0, prompt - cached - written),
    cache_creation_input_tokens: written,
    cache_read_input_tokens: cached,
    output_tokens: step.usage?.completion ?? 5,
  };
}

function sse(type: string, data: Record<string, unknown>): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
}

/**
 * The stream for one step. With a `failure`: its `afterDeltas` text deltas, then the API's
 * mid-stream `error` event and nothing more.
 */
export function anthropicStream(step: ScriptStep, stepIndex: number, model: string, failure?: StreamErrorSpec): string[] {
  const usage = usageOf(step);
  const frames: string[] = [
    sse("message_start", {
      message: {
        id: `msg_${randomUUID().replaceAll("-", "")}`,
        type: "message",
        role: "assistant",
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { ...usage, output_tokens: 1 },
      },
    }),
    sse("ping", {}),
  ];
  const n = step.chunks ?? 3;
  let index = 0;
  let textDeltas = 0;
  const failing = failure !== undefined;
  const failAfterDeltas = failure?.afterDeltas;
  const fail = () => {
    const error = failure?.fatal
      ? { type: "invalid_request_error", message: failure.message ?? "The request was rejected." }
      : { type: "overloaded_error", message: failure?.message ?? "Overloaded" };
    frames.push(sse("error", { error }));
    return frames;
  };

  if (step.reasoning) {
    frames.push(sse("content_block_start", { index, content_block: { type: "thinking", thinking: "", signature: "" } }));
    for (const piece of splitText(step.reasoning, n)) {
      frames.push(sse("content_block_delta", { index, delta: { type: "thinking_delta", thinking: piece } }));
    }
    frames.push(sse("content_block_delta", { index, delta: { type: "signature_delta", signature: `sig_${randomUUID()}` } }));
    frames.push(sse("content_block_stop", { index }));
    index++;
  }
  for (const text of stepBlocks(step)) {
    frames.push(sse("content_block_start", { index, content_block: { type: "text", text: "" } }));
    for (const piece of splitText(text, n)) {
      if (failing && textDeltas === failAfterDeltas) return fail();
      frames.push(sse("content_block_delta", { index, delta: { type: "text_delta", text: piece } }));
      textDeltas++;
    }
    frames.push(sse("content_block_stop", { index }));
    index++;
  }
  if (failing) return fail();
  for (const call of toolCallsOf(step, stepIndex, "toolu")) {
    frames.push(sse("content_block_start", { index, content_block: { type: "tool_use", id: call.id, name: call.name, input: {} } }));
    // The API opens every tool input with an empty partial, then streams the JSON in pieces.
    const half = Math.floor(call.args.length / 2);
    for (const partial of ["", call.args.slice(0, half), call.args.slice(half)]) {
      frames.push(sse("content_block_delta", { index, delta: { type: "input_json_delta", partial_json: partial } }));
    }
    frames.push(sse("content_block_stop", { index }));
    index++;
  }
  frames.push(
    sse("message_delta", {
      delta: { stop_reason: STOP_REASONS[finishOf(step)], stop_sequence: null },
      usage: { output_tokens: usage.output_tokens },
    }),
  );
  frames.push(sse("message_stop", {}));
  return frames;
}

export function anthropicMessage(step: ScriptStep, stepIndex: number, model: string): Record<string, unknown> {
  return {
    id: `msg_${randomUUID().replaceAll("-", "")}`,
    type: "message",
    role: "assistant",
    model,
    content: [
      ...(step.reasoning ? [{ type: "thinking", thinking: step.reasoning, signature: `sig_${randomUUID()}` }] : []),
      ...stepBlocks(step).map((text) => ({ type: "text", text })),
      ...toolCallsOf(step, stepIndex, "toolu").map((c) => ({ type: "tool_use", id: c.id, name: c.name, input: JSON.parse(c.args) as unknown })),
    ],
    stop_reason: STOP_REASONS[finishOf(step)],
    stop_sequence: null,
    usage: usageOf(step),
  };
}

/** The API's error body: `{type: "error", error: {type, message}}`, typed by status. */
export function anthropicError(err: ProviderErrorSpec): Record<string, unknown> {
  const type =
    err.status === 401
      ? "authentication_error"
      : err.status === 429
        ? "rate_limit_error"
        : err.status === 529
          ? "overloaded_error"
          : err.status >= 500
            ? "api_error"
            : "invalid_request_error";
  const message =
    err.message ??
    (err.status === 401 ? "invalid x-api-key" : err.status === 429 ? "Number of request tokens has exceeded your per-minute rate limit" : "Internal server error");
  return { type: "error", error: { type, message }, request_id: `req_${randomUUID().replaceAll("-", "")}` };
}
