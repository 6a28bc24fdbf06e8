// What the client knows about the server's agents and models, read once per client and re-read
// when a name is missing: checks a turn before it is sent (the server takes an unknown agent or an
// attachment the model cannot read with 204, then fails or drops it) and gives `final.usage` the
// model's context window. A catalog that cannot be read checks nothing: the server still decides.

import type { components } from "../../generated/opencode.js";
import type { TypedRequest } from "../http/paths.js";
import { parseModel } from "../turn/prompt-body.js";
import { UnknownAgentError } from "../turn/errors.js";
import type { TurnCatalog, TurnStart } from "../turn/turn.js";
import { inputKind, UnsupportedAttachmentError } from "./attachments.js";

type Model = components["schemas"]["Model"];
type ModelRef = { providerID: string; modelID: string };

export class ServerCatalog implements TurnCatalog {
  private agents: Promise<string[] | undefined> | undefined;
  private models: Promise<Map<string, Model> | undefined> | undefined;
  private loadedModels: Map<string, Model> | undefined;
  private defaultModel: Promise<string | undefined> | undefined;

  constructor(private readonly request: TypedRequest) {}

  async check(start: TurnStart, signal: AbortSignal): Promise<void> {
    if (start.kind === "attach") return;
    // Read once so every final can carry its model's context window.
    const models = this.modelList(signal, false);
    const agent = start.kind === "prompt" ? start.options.agent : start.body.agent;
    if (agent !== undefined) await this.checkAgent(agent, signal);
    const files = (start.kind === "prompt" ? (typeof start.input === "string" ? [] : start.input) : start.kind === "command" ? (start.body.parts ?? []) : []).flatMap(
      (part) => (part.type === "file" && inputKind(part.mime) !== undefined ? [part] : []),
    );
    if (files.length > 0) {
      const chosen = start.kind === "prompt" ? start.options.model : start.kind === "command" ? start.body.model : undefined;
      const ref = chosen !== undefined ? parseModel(chosen) : await this.serverDefault(signal);
      const model = ref && (await this.model(ref, signal));
      if (ref && model) {
        for (const part of files) {
          const kind = inputKind(part.mime)!;
          if (accepts(model, kind) === false) throw new UnsupportedAttachmentError(part.mime, kind, `${ref.providerID}/${ref.modelID}`, part.filename);
        }
      }
    }
    await models;
  }

  contextWindow(model: ModelRef): number | undefined {
    const context = this.loadedModels?.get(key(model))?.limit.context;
    return typeof context === "number" && context > 0 ? context : undefined;
  }

  private async checkAgent(agent: string, signal: AbortSignal): Promise<void> {
    let names = await (this.agents ??= this.agentList(signal));
    // Config can add agents while the client runs: a miss is read again once.
    if (names && !names.includes(agent)) names = await (this.agents = this.agentList(signal));
    if (names && !names.includes(agent)) {
      throw new UnknownAgentError(`Agent not found: ${JSON.stringify(agent)}; the server has ${names.join(", ")}`, { name: "UnknownAgentError", data: { agent } }, agent, names);
    }
  }

  private async agentList(signal: AbortSignal): Promise<string[] | undefined> {
    const agents = await this.request("get", "/agent", { signal }).catch(() => undefined);
    return Array.isArray(agents) ? agents.map((a) => a.name) : undefined;
  }

  private async model(ref: ModelRef, signal: AbortSignal): Promise<Model | undefined> {
    const found = (await this.modelList(signal, false))?.get(key(ref));
    return found ?? (await this.modelList(signal, true))?.get(key(ref));
  }

  private modelList(signal: AbortSignal, refresh: boolean): Promise<Map<string, Model> | undefined> {
    if (this.models && !refresh) return this.models;
    return (this.models = this.request("get", "/provider", { signal }).then(
      (providers) => {
        const map = new Map<string, Model>();
        for (const provider of providers.all) for (const [id, model] of Object.entries(provider.models)) map.set(key({ providerID: provider.id, modelID: id }), model);
        return (this.loadedModels = map);
      },
      () => {
        // Read again next time: this one may have failed for this turn's signal only.
        this.models = undefined;
        return undefined;
      },
    ));
  }

  /** The model a prompt naming none runs on: the config's `model`, when set. */
  private async serverDefault(signal: AbortSignal): Promise<ModelRef | undefined> {
    const model = await (this.defaultModel ??= this.request("get", "/config", { signal }).then(
      (config) => config.model,
      () => (this.defaultModel = undefined),
    ));
    if (!model) return undefined;
    try {
      return parseModel(model);
    } catch {
      return undefined;
    }
  }
}

/** Whether the model takes this input kind: `capabilities.input` (1.x today) or `modalities.input` (older servers); undefined when it does not say. */
function accepts(model: Model, kind: string): boolean | undefined {
  const capabilities = (model as { capabilities?: { input?: Record<string, unknown> } }).capabilities?.input;
  if (capabilities) return capabilities[kind] === true;
  const modalities = (model as { modalities?: { input?: unknown } }).modalities?.input;
  return Array.isArray(modalities) ? modalities.includes(kind) : undefined;
}

function key(ref: ModelRef): string {
  return `${ref.providerID}/${ref.modelID}`;
}
