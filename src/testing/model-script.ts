// What the scripted model server says, independent of the wire protocol it says it in: the
// `#script {json}` directive a test puts in its prompt, its steps, and the choice of step for a
// request (read into a `Conversation` by each protocol's reader).

import { randomUUID } from "node:crypto";

/** A tool call the model makes. `input` is sent as the JSON `arguments` string. */
export interface ToolCallSpec {
  name: string;
  input: Record<string, unknown>;
  /** Tool call id; default `<prefix>_<step>_<index>_<random>` (prefix `call`, or `toolu` for Anthropic). */
  id?: string;
}

/**
 * Token usage of one response. For chat completions opencode 1.18.33 turns it into tokens {input:
 * prompt - cached, output: completion - reasoning, reasoning, cache.read: cached, total: prompt +
 * completion}; reasoning is priced at the output rate. Anthropic has no reasoning count and
 * reports cache writes; the Responses API reports all but cache writes.
 */
export interface UsageSpec {
  prompt?: number;
  completion?: number;
  reasoning?: number;
  cached?: number;
  /** Prompt tokens written to the cache (Anthropic's `cache_creation_input_tokens`). */
  cacheWrite?: number;
}

/** One model response. */
export interface ScriptStep {
  /** Streamed before any text (`reasoning_content`, a `thinking` block, a reasoning summary). */
  reasoning?: string;
  /** Streamed as the response's text. */
  text?: string;
  /**
   * Several text blocks in one response, after `text`: separate Anthropic `text` content blocks or
   * Responses `message` items; chat completions has one text stream, so there they run together.
   */
  texts?: string[];
  /** Repeat `text` this many times (long-output tests without a huge directive). */
  repeat?: number;
  /** Split each text block (and reasoning) into this many chunks; default 3. */
  chunks?: number;
  /** Tool calls after the text, all in this one response; the finish becomes "tool_calls". */
  toolCalls?: ToolCallSpec[];
  /** Default `{prompt: 10, completion: 5, reasoning: 0, cached: 0}`. */
  usage?: UsageSpec;
  /** Override the finish reason (e.g. "length"). */
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

/**
 * A provider error inside a stream that started fine: the step's reasoning and first `afterDeltas`
 * text deltas go out, then the protocol's stream error, then the stream ends. Retryable by
 * default (Anthropic `error` event `overloaded_error`, Responses `response.failed` code
 * `server_error`); `fatal` sends one opencode does not retry (`invalid_request_error`,
 * `invalid_prompt`).
 */
export interface StreamErrorSpec {
  afterDeltas: number;
  fatal?: boolean;
  message?: string;
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
  /**
   * How the first attempts at the first step fail, one entry per attempt (an HTTP error, or a
   * stream error on the Anthropic and Responses shapes); later attempts answer normally.
   */
  failures?: Array<ProviderErrorSpec | StreamErrorSpec>;
  /** Delay between streamed chunks. */
  chunkDelayMs?: number;
  /** Send this many content chunks (after the role chunk), then go silent with the socket open (until the client or close() ends it). */
  stallAfterChunks?: number;
}

/** What a protocol reader finds in a request: enough to pick the script step. */
export interface Conversation {
  /** System instructions, joined. */
  system: string;
  /** The current turn's prompt: the last user message's text. */
  prompt: string | undefined;
  /** How many model responses of this turn came after the prompt (the step to answer). */
  priorSteps: number;
  stream: boolean;
  model: string;
}

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

/** The step's text blocks, in order. */
export function stepBlocks(step: ScriptStep): string[] {
  return [...(step.text ? [step.text.repeat(step.repeat ?? 1)] : []), ...(step.texts ?? [])].filter((t) => t !== "");
}

export function toolCallsOf(step: ScriptStep, stepIndex: number, prefix = "call") {
  return (step.toolCalls ?? []).map((t, i) => ({
    id: t.id ?? `${prefix}_${stepIndex}_${i}_${randomUUID().slice(0, 8)}`,
    name: t.name,
    args: JSON.stringify(t.input),
  }));
}

export function finishOf(step: ScriptStep): NonNullable<ScriptStep["finish"]> {
  return step.finish ?? (step.toolCalls?.length ? "tool_calls" : "stop");
}

export type Plan =
  | { kind: "title" | "summary" | "default"; step: ScriptStep }
  | { kind: "script"; script: Script; stepIndex: number; step: ScriptStep };

/**
 * How a request is answered:
 *   1. A title-generation request (system prompt "You are a title generator") always gets a short
 *      title at once. It contains the user's prompt, directive included, so it must never run the
 *      script (an error script there would fail the title, not the turn under test).
 *   2. A compaction summary request (system prompt "context summarization agent") quotes the
 *      conversation, directives included, so it gets a fixed summary, never a script step.
 *   3. Otherwise a directive in the last user message (the current turn's prompt) selects the
 *      script, and the number of model responses since that prompt selects the step: `steps[0]`
 *      answers the prompt, `steps[1]` answers after the first tool results, etc. Past the last step
 *      the answer is plain "Done." so a tool-calling script cannot loop forever.
 *   4. No directive in the last user message (a later turn without one, compaction, ...): a
 *      default short text. An earlier turn's directive must not leak into a later turn without one
 *      (an old error script would fail every later turn).
 */
export function plan(conversation: Conversation, defaults: { title: string; defaultText: string }): Plan {
  if (conversation.system.includes("You are a title generator")) return { kind: "title", step: { text: defaults.title, chunks: 1 } };
  if (conversation.system.includes("context summarization agent")) return { kind: "summary", step: { text: SUMMARY_TEXT, chunks: 2 } };
  const script = conversation.prompt === undefined ? undefined : parseDirective(conversation.prompt);
  if (!script) return { kind: "default", step: { text: defaults.defaultText } };
  const stepIndex = conversation.priorSteps;
  const steps = script.steps ?? [script, ...(script.toolCalls ? [script.then ?? { text: "Done." }] : [])];
  return { kind: "script", script, stepIndex, step: steps[stepIndex] ?? { text: "Done." } };
}
