// What `session.prompt()` sends: the prompt options a caller passes and the `prompt_async` body
// built from them (text or parts, model, agent, system prompt, tools, output format).

import type { components, operations } from "../../generated/opencode.js";
import { ConfigurationError } from "../http/errors.js";
import type { SubagentDetail } from "./map-event.js";
import type { PermissionPolicy } from "./permission-policy.js";

export type PromptBody = NonNullable<operations["session.prompt_async"]["requestBody"]>["content"]["application/json"];

/** A prompt part: text, file, agent or subtask (the spec's input part types). */
export type PartInput = PromptBody["parts"][number];

export interface PromptOptions {
  /** `"provider/model"` (split at the first "/") or `{ providerID, modelID }`. Default: the server's. */
  model?: string | { providerID: string; modelID: string };
  agent?: string;
  /** Extra system prompt for this turn. */
  system?: string;
  /** Enable or disable tools by name for this turn. */
  tools?: Record<string, boolean>;
  /** Structured output, e.g. `{ type: "json_schema", schema }`; the result is `final.structured`. */
  format?: components["schemas"]["OutputFormat"];
  variant?: string;
  /**
   * How much of the sub-agents' work (`task` tool child sessions) the turn yields: "requests"
   * (default) yields their permissions, questions and start/idle/error; "all" adds their text,
   * reasoning and tool replies, tagged with the child's sessionID and parentSessionID.
   */
  subagents?: SubagentDetail;
  /** Aborting it aborts the turn (like `turn.abort()`). */
  signal?: AbortSignal;
  /**
   * A deadline for the whole turn, in ms from the call: past it the turn is stopped on the server
   * and ends with `TurnTimeoutError`. Default none: a server that is behind is waited for, and a
   * turn ends as lost only on the server's evidence.
   */
  timeoutMs?: number;
  /** The user message id (`msg_…`); generated in opencode's ascending form when omitted. */
  messageID?: string;
  /** Permission rules for this turn and its sub-agents, tried before the client's (`createClient({ permissions })`). */
  permissions?: PermissionPolicy;
}

/**
 * The `prompt_async` body. Every part gets an id (`partID()`, unless the caller chose one): the
 * transport may send the body again after a lost answer, and the server stores parts by id, so a
 * repeat stores nothing twice.
 */
export function promptBody(messageID: string, input: string | PartInput[], options: PromptOptions, partID: () => string): PromptBody {
  const given: PartInput[] = typeof input === "string" ? [{ type: "text", text: input }] : input;
  const parts = given.map((part) => (part.id === undefined ? { ...part, id: partID() } : part));
  const body: PromptBody = { messageID, parts };
  if (options.model !== undefined) body.model = parseModel(options.model);
  if (options.agent !== undefined) body.agent = options.agent;
  if (options.system !== undefined) body.system = options.system;
  if (options.tools !== undefined) body.tools = options.tools;
  if (options.format !== undefined) body.format = options.format;
  if (options.variant !== undefined) body.variant = options.variant;
  return body;
}

export function parseModel(model: string | { providerID: string; modelID: string }): { providerID: string; modelID: string } {
  if (typeof model !== "string") return model;
  const slash = model.indexOf("/");
  if (slash <= 0 || slash === model.length - 1) {
    throw new ConfigurationError(`model must look like "provider/model", got ${JSON.stringify(model)}`);
  }
  return { providerID: model.slice(0, slash), modelID: model.slice(slash + 1) };
}
