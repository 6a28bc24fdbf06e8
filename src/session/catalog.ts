// What the client knows about the server's agents and models, read once per client and re-read
// when a name is missing: checks a turn before it is sent (the server takes an unknown agent or an
// attachment the model cannot read with 204, then fails or drops it) and gives `final.usage` the
// model's context window. A catalog that cannot be read checks nothing: the server still decides.

import type { components } from "../../generated/opencode.js";
import { AbortError } from "../http/errors.js";
import type { TypedRequest } from "../http/paths.js";
import { parseModel } from "../turn/prompt-body.js";
import { UnknownAgentError } from "../turn/errors.js";
import type { TurnCatalog, TurnStart } from "../turn/turn.js";
import { inputKind, UnsupportedAttachmentError } from "./attachments.js";

type Model = components["schemas"]["Model"];
type ModelRef = { providerID: string; modelID: string };

/** After a failed read, how long every turn goes without it (a server without the route, or one that is behind, is not asked per turn). */
const RETRY_AFTER_MS = 30_000;

export class ServerCatalog implements TurnCatalog {
  private readonly agents: SharedRead<string[]>;
  private readonly models: SharedRead<Map<string, Model>>;
  private readonly defaultModel: SharedRead<string | undefined>;

  constructor(request: TypedRequest) {
    this.agents = new SharedRead(async () => agentNames(await request("get", "/agent")));
    this.models = new SharedRead(async () => modelsOf(await request("get", "/provider")));
    this.defaultModel = new SharedRead(async () => {
      const model: unknown = (await request("get", "/config"))?.model;
      return typeof model === "string" ? model : undefined;
    });
  }

  /** The shared reads go on for other turns; a stopped turn just stops waiting for them. */
  check(start: TurnStart, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const stop = () => reject(new AbortError("the turn was stopped while checking it"));
      if (signal.aborted) return stop();
      signal.addEventListener("abort", stop, { once: true });
      this.checkStart(start).then(resolve, reject).finally(() => signal.removeEventListener("abort", stop));
    });
  }

  private async checkStart(start: TurnStart): Promise<void> {
    if (start.kind === "attach") return;
    // Read once so every final can carry its model's context window.
    const models = this.models.get();
    const agent = start.kind === "prompt" ? start.options.agent : start.body.agent;
    if (agent !== undefined) await this.checkAgent(agent);
    const parts = start.kind === "prompt" ? (typeof start.input === "string" ? [] : start.input) : start.kind === "command" ? (start.body.parts ?? []) : [];
    const files = parts.flatMap((part) => (part.type === "file" && inputKind(part.mime) !== undefined ? [part] : []));
    if (files.length > 0) {
      const chosen = start.kind === "prompt" ? start.options.model : start.kind === "command" ? start.body.model : undefined;
      const ref = chosen !== undefined ? parseModel(chosen) : modelRef(await this.defaultModel.get());
      const model = ref && ((await this.models.get())?.get(key(ref)) ?? (await this.models.get(true))?.get(key(ref)));
      for (const part of model ? files : []) {
        const kind = inputKind(part.mime)!;
        if (accepts(model!, kind) === false) throw new UnsupportedAttachmentError(part.mime, kind, key(ref!), part.filename);
      }
    }
    await models;
  }

  contextWindow(model: ModelRef): number | undefined {
    const context = this.models.known?.get(key(model))?.limit?.context;
    return typeof context === "number" && context > 0 ? context : undefined;
  }

  private async checkAgent(agent: string): Promise<void> {
    let names = await this.agents.get();
    // Config can add agents while the client runs: a miss is read again once.
    if (names && !names.includes(agent)) names = await this.agents.get(true);
    if (names && !names.includes(agent)) {
      throw new UnknownAgentError(`Agent not found: ${JSON.stringify(agent)}; the server has ${names.join(", ")}`, { name: "UnknownAgentError", data: { agent } }, agent, names);
    }
  }
}

/**
 * One read shared by every turn of the client (so never under one turn's signal). A failed read
 * is not repeated for a while: a server without the route, or one that is behind, is not asked
 * again by every turn.
 */
class SharedRead<T> {
  private pending: Promise<T | undefined> | undefined;
  private failedAt = -Infinity;
  /** The last value read, if any. */
  known: T | undefined;

  constructor(private readonly read: () => Promise<T>) {}

  get(refresh = false): Promise<T | undefined> {
    if (this.pending && !refresh) return this.pending;
    if (Date.now() - this.failedAt < RETRY_AFTER_MS) return Promise.resolve(this.known);
    return (this.pending = this.read().then(
      (value) => (this.known = value),
      () => {
        this.failedAt = Date.now();
        this.pending = undefined;
        return this.known;
      },
    ));
  }
}

function agentNames(agents: unknown): string[] {
  if (!Array.isArray(agents)) throw new TypeError("not an agent list");
  return agents.flatMap((a: { name?: unknown }) => (typeof a?.name === "string" ? [a.name] : []));
}

function modelRef(model: string | undefined): ModelRef | undefined {
  if (model === undefined) return undefined;
  try {
    return parseModel(model);
  } catch {
    return undefined;
  }
}

/** Whether the model takes this input kind: `capabilities.input` (1.x today) or `modalities.input` (older servers); undefined when it does not say. */
function accepts(model: Model, kind: string): boolean | undefined {
  const capabilities = (model as { capabilities?: { input?: Record<string, unknown> } }).capabilities?.input;
  if (capabilities) return capabilities[kind] === true;
  const modalities = (model as { modalities?: { input?: unknown } }).modalities?.input;
  return Array.isArray(modalities) ? modalities.includes(kind) : undefined;
}

/** Every provider's models by `"provider/model"`; what is not shaped like a provider list is skipped. */
function modelsOf(providers: unknown): Map<string, Model> {
  const map = new Map<string, Model>();
  const all = (providers as { all?: unknown } | undefined)?.all;
  if (!Array.isArray(all)) return map;
  for (const provider of all as { id?: unknown; models?: unknown }[]) {
    if (typeof provider?.id !== "string" || !provider.models || typeof provider.models !== "object") continue;
    for (const [id, model] of Object.entries(provider.models as Record<string, Model>)) map.set(key({ providerID: provider.id, modelID: id }), model);
  }
  return map;
}

function key(ref: ModelRef): string {
  return `${ref.providerID}/${ref.modelID}`;
}
