// Client-level one-line calls, each one typed operation of the generated spec: providers and
// their models, agents, config, project files and search. Every method takes per-call options.

import type { components, operations } from "../generated/opencode.js";
import type { CallOptions, ResponseData, TypedRequest } from "./http/paths.js";

type Schemas = components["schemas"];

/** A model a prompt can name: `session.prompt(text, { model: entry.id })`. */
export interface ModelEntry {
  /** `"provider/model"`, the form `PromptOptions.model` takes. */
  id: string;
  providerID: string;
  modelID: string;
  name: string;
  /** Whether this is the server's default model for its provider. */
  isDefault: boolean;
  /** The provider is connected (has credentials or config), so prompts can use the model. */
  connected: boolean;
  info: Schemas["Model"];
}

/** `client.provider`: the providers the server knows and the models they offer. */
export class Providers {
  constructor(private readonly request: TypedRequest) {}

  /** Every provider in the server's catalog, which are connected, and each provider's default model. */
  list(options?: CallOptions): Promise<ResponseData<"get", "/provider">> {
    return this.request("get", "/provider", { ...options });
  }

  /**
   * Models as a flat list, connected providers' only unless `all` is set (the catalog also lists
   * providers nobody configured, which prompts cannot use).
   */
  async models(options: CallOptions & { all?: boolean } = {}): Promise<ModelEntry[]> {
    const { all = false, ...call } = options;
    const providers = await this.list(call);
    const connected = new Set(providers.connected);
    return providers.all
      .filter((provider) => all || connected.has(provider.id))
      .flatMap((provider) =>
        Object.entries(provider.models).map(([modelID, info]) => ({
          id: `${provider.id}/${modelID}`,
          providerID: provider.id,
          modelID,
          name: info.name,
          isDefault: providers.default[provider.id] === modelID,
          connected: connected.has(provider.id),
          info,
        })),
      );
  }
}

/** `client.agent`: the agents prompts can run as (`{ agent: "plan" }`). */
export class Agents {
  constructor(private readonly request: TypedRequest) {}

  list(options?: CallOptions): Promise<Schemas["Agent"][]> {
    return this.request("get", "/agent", { ...options });
  }
}

/** A slash command `session.command(name, args)` can run. */
export interface SlashCommand {
  name: string;
  description?: string;
  /** The agent it runs as, when it names one. */
  agent?: string;
  /** The model it runs on, when it names one (`"provider/model"`). */
  model?: string;
  /** Where it comes from: a configured command, an MCP prompt, a skill. */
  source?: string;
  /** Runs as a sub-agent task. */
  subtask?: boolean;
  /** The arguments its template takes (`$ARGUMENTS`, `$1`, …). */
  args: string[];
  /** The prompt template the arguments fill. */
  template: string;
}

/** `client.command`: the slash commands the server offers. */
export class Commands {
  constructor(private readonly request: TypedRequest) {}

  async list(options?: CallOptions): Promise<SlashCommand[]> {
    const commands = await this.request("get", "/command", { ...options });
    return commands.map((c) => ({
      name: c.name,
      ...(c.description !== undefined ? { description: c.description } : {}),
      ...(c.agent !== undefined ? { agent: c.agent } : {}),
      ...(c.model !== undefined ? { model: c.model } : {}),
      ...(c.source !== undefined ? { source: c.source } : {}),
      ...(c.subtask !== undefined ? { subtask: c.subtask } : {}),
      // Older servers may leave the hints out.
      args: c.hints ?? [],
      template: c.template,
    }));
  }
}

/** `client.config`: the server's merged opencode config. */
export class Config {
  constructor(private readonly request: TypedRequest) {}

  get(options?: CallOptions): Promise<Schemas["Config"]> {
    return this.request("get", "/config", { ...options });
  }
}

/** `client.file`: files of the server's project (paths relative to it). */
export class Files {
  constructor(private readonly request: TypedRequest) {}

  /** A file's content (`type: "text"` or base64 `"binary"`), with a diff against git when it changed. */
  read(path: string, options?: CallOptions): Promise<Schemas["FileContent"]> {
    return this.request("get", "/file/content", { ...options, query: { path } });
  }

  /** A directory's entries (`""` for the project root). */
  list(path = "", options?: CallOptions): Promise<Schemas["FileNode"][]> {
    return this.request("get", "/file", { ...options, query: { path } });
  }

  /** Files changed in the project's git working tree, with added/removed line counts. */
  status(options?: CallOptions): Promise<Schemas["File"][]> {
    return this.request("get", "/file/status", { ...options });
  }
}

/** `dirs`, `type` and `limit` of `GET /find/file`. */
type FindFilesQuery = Omit<operations["find.files"]["parameters"]["query"], "query" | "directory" | "workspace">;

/** `client.find`: search the server's project. */
export class Find {
  constructor(private readonly request: TypedRequest) {}

  /** Lines matching a regular expression (ripgrep), with path, line number and submatches. */
  text(pattern: string, options?: CallOptions): Promise<ResponseData<"get", "/find">> {
    return this.request("get", "/find", { ...options, query: { pattern } });
  }

  /** File (and with `dirs: "true"` directory) paths matching a fuzzy query. */
  files(query: string, options: CallOptions & FindFilesQuery = {}): Promise<string[]> {
    const { dirs, type, limit, ...call } = options;
    return this.request("get", "/find/file", { ...call, query: { query, dirs, type, limit } });
  }

  /** Workspace symbols from the project's language servers. */
  symbols(query: string, options?: CallOptions): Promise<Schemas["Symbol"][]> {
    return this.request("get", "/find/symbol", { ...options, query: { query } });
  }
}
