// The OpenAI Responses wire protocol for the scripted model server (`POST /v1/responses`): reads what
// opencode's bundled `openai` provider sends, and writes a script step as the real API's stream
// (`response.created`, `response.output_item.added/done` for reasoning / message / function_call
// items, text, reasoning-summary and argument deltas, `response.completed` with usage), as a
// non-streaming response, or as the API's error bodies.

import { randomUUID } from "node:crypto";
import type { Conversation, ProviderErrorSpec, ScriptStep, StreamErrorSpec } from "./model-script.js";
import { finishOf, splitText, stepBlocks, toolCallsOf } from "./model-script.js";

interface InputItem {
  type?: string;
  role?: string;
  content?: string | Array<{ type: string; text?: string }>;
}

interface ResponsesRequest {
  model?: string;
  instructions?: string;
  input?: InputItem[];
  stream?: boolean;
}

const textOf = (content: InputItem["content"]): string =>
  typeof content === "string" ? content : (content ?? []).map((c) => c.text ?? "").join("\n");

const isInstruction = (item: InputItem) => item.role === "system" || item.role === "developer";
/** Items a model response produced: messages, reasoning, function calls, references to stored ones. */
const isModelOutput = (item: InputItem) => item.role === "assistant" || (item.role === undefined && item.type !== "function_call_output");

/**
 * The prompt is the last user item. A model response of the turn shows up as a run of output
 * items (reasoning, message, function_call …) that tool outputs then follow, so each run after
 * the prompt is one earlier step.
 */
export function readResponsesRequest(body: unknown): Conversation | undefined {
  const request = body as ResponsesRequest | undefined;
  if (!request || !Array.isArray(request.input)) return undefined;
  const input = request.input;
  const last = input.findLastIndex((item) => item.role === "user");
  let priorSteps = 0;
  for (let i = last + 1; i < input.length; i++) {
    if (isModelOutput(input[i]!) && (i === last + 1 || !isModelOutput(input[i - 1]!))) priorSteps++;
  }
  return {
    system: [request.instructions ?? "", ...input.filter(isInstruction).map((item) => textOf(item.content))].join("\n"),
    prompt: last < 0 ? undefined : textOf(input[last]!.content),
    priorSteps,
    stream: request.stream === true,
    model: request.model ?? "m",
  };
}

function usageOf(step: ScriptStep) {
  const input = step.usage?.prompt ?? 10;
  const output = step.usage?.completion ?? 5;
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: step.usage?.cached ?? 0 },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: step.usage?.reasoning ?? 0 },
    total_tokens: input + output,
  };
}

type Item = Record<string, unknown> & { id: string };

/** Every output item of the step, complete, in output order. */
function outputItems(step: ScriptStep, stepIndex: number): Item[] {
  const items: Item[] = [];
  if (step.reasoning) {
    items.push({ id: `rs_${randomUUID().replaceAll("-", "")}`, type: "reasoning", summary: [{ type: "summary_text", text: step.reasoning }] });
  }
  for (const text of stepBlocks(step)) {
    items.push({
      id: `msg_${randomUUID().replaceAll("-", "")}`,
      type: "message",
      status: "completed",
      role: "assistant",
      content: [{ type: "output_text", annotations: [], logprobs: [], text }],
    });
  }
  for (const call of toolCallsOf(step, stepIndex, "call")) {
    items.push({ id: `fc_${randomUUID().replaceAll("-", "")}`, type: "function_call", status: "completed", arguments: call.args, call_id: call.id, name: call.name });
  }
  return items;
}

function responseOf(id: string, model: string, status: string, output: Item[], extra: Record<string, unknown> = {}) {
  return {
    id,
    object: "response",
    created_at: Math.floor(Date.now() / 1000),
    status,
    error: null,
    incomplete_details: null,
    model,
    output,
    usage: null,
    ...extra,
  };
}

/**
 * The stream for one step. With a `failure`: its `afterDeltas` text deltas, then
 * `response.failed` and nothing more.
 */
export function responsesStream(step: ScriptStep, stepIndex: number, model: string, failure?: StreamErrorSpec): string[] {
  const id = `resp_${randomUUID().replaceAll("-", "")}`;
  const frames: string[] = [];
  let sequence = 0;
  const send = (type: string, data: Record<string, unknown>) =>
    frames.push(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence++, ...data })}\n\n`);
  const n = step.chunks ?? 3;
  const items = outputItems(step, stepIndex);
  const done: Item[] = [];
  let textDeltas = 0;
  const failing = failure !== undefined;
  const failAfterDeltas = failure?.afterDeltas;
  const fail = () => {
    send("response.failed", {
      response: responseOf(id, model, "failed", done, {
        error: failure?.fatal
          ? { code: "invalid_prompt", message: failure.message ?? "Invalid prompt: the request was rejected." }
          : { code: "server_error", message: failure?.message ?? "The server had an error while processing your request. Sorry about that!" },
      }),
    });
    return frames;
  };

  send("response.created", { response: responseOf(id, model, "in_progress", []) });
  send("response.in_progress", { response: responseOf(id, model, "in_progress", []) });
  for (const [output_index, item] of items.entries()) {
    if (item.type === "function_call" && failing) return fail();
    if (item.type === "reasoning") {
      const text = step.reasoning!;
      send("response.output_item.added", { output_index, item: { ...item, summary: [] } });
      const ref = { item_id: item.id, output_index, summary_index: 0 };
      send("response.reasoning_summary_part.added", { ...ref, part: { type: "summary_text", text: "" } });
      for (const delta of splitText(text, n)) send("response.reasoning_summary_text.delta", { ...ref, delta });
      send("response.reasoning_summary_text.done", { ...ref, text });
      send("response.reasoning_summary_part.done", { ...ref, part: { type: "summary_text", text } });
    } else if (item.type === "message") {
      const text = (item["content"] as Array<{ text: string }>)[0]!.text;
      send("response.output_item.added", { output_index, item: { ...item, status: "in_progress", content: [] } });
      const ref = { item_id: item.id, output_index, content_index: 0 };
      send("response.content_part.added", { ...ref, part: { type: "output_text", annotations: [], logprobs: [], text: "" } });
      for (const delta of splitText(text, n)) {
        if (failing && textDeltas === failAfterDeltas) return fail();
        send("response.output_text.delta", { ...ref, delta, logprobs: [] });
        textDeltas++;
      }
      send("response.output_text.done", { ...ref, text, logprobs: [] });
      send("response.content_part.done", { ...ref, part: { type: "output_text", annotations: [], logprobs: [], text } });
    } else {
      const args = item["arguments"] as string;
      send("response.output_item.added", { output_index, item: { ...item, status: "in_progress", arguments: "" } });
      const half = Math.floor(args.length / 2);
      for (const delta of [args.slice(0, half), args.slice(half)]) {
        send("response.function_call_arguments.delta", { item_id: item.id, output_index, delta });
      }
      send("response.function_call_arguments.done", { item_id: item.id, output_index, arguments: args });
    }
    send("response.output_item.done", { output_index, item });
    done.push(item);
  }
  if (failing) return fail();
  const usage = usageOf(step);
  if (finishOf(step) === "length") {
    send("response.incomplete", {
      response: responseOf(id, model, "incomplete", done, { incomplete_details: { reason: "max_output_tokens" }, usage }),
    });
  } else {
    send("response.completed", { response: responseOf(id, model, "completed", done, { usage }) });
  }
  return frames;
}

export function responsesBody(step: ScriptStep, stepIndex: number, model: string): Record<string, unknown> {
  const length = finishOf(step) === "length";
  return responseOf(`resp_${randomUUID().replaceAll("-", "")}`, model, length ? "incomplete" : "completed", outputItems(step, stepIndex), {
    usage: usageOf(step),
    ...(length ? { incomplete_details: { reason: "max_output_tokens" } } : {}),
  });
}

/** The API's error body: `{error: {message, type, param, code}}`. */
export function responsesError(err: ProviderErrorSpec): Record<string, unknown> {
  const [type, code, message] =
    err.status === 401
      ? ["invalid_request_error", "invalid_api_key", "Incorrect API key provided"]
      : err.status === 429
        ? ["requests", "rate_limit_exceeded", "Rate limit reached for requests"]
        : ["server_error", null, "The server had an error while processing your request."];
  return { error: { message: err.message ?? message, type, param: null, code } };
}
