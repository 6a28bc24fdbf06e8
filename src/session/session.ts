// Session handles: `client.session.create()` / `.get(id)` and, on a handle, `prompt()`, `shell()`
// and `command()` (streaming Turns), `run()` (a prompt's final reply), `respond()` to permission
// requests, `abort()`, and one-line session operations (fork, share, revert, summarize, diff, todo, …).

import type { components, operations } from "../../generated/opencode.js";
import type { CallOptions, ResponseData } from "../http/paths.js";
import { parseModel } from "../turn/prompt-body.js";
import type { FinalReply } from "../turn/replies.js";
import type { EventHub } from "../events/hub.js";
import { Turn, type PartInput, type PromptOptions, type TurnDeps, type TurnOptions } from "../turn/turn.js";
import { SessionMutex } from "./mutex.js";

export type SessionInfo = components["schemas"]["Session"];
type CreateBody = NonNullable<operations["session.create"]["requestBody"]>["content"]["application/json"];
type UpdateBody = NonNullable<operations["session.update"]["requestBody"]>["content"]["application/json"];
type CommandBody = NonNullable<operations["session.command"]["requestBody"]>["content"]["application/json"];
type ShellBody = NonNullable<operations["session.shell"]["requestBody"]>["content"]["application/json"];
/** `"provider/model"` or `{ providerID, modelID }`. */
type ModelChoice = string | { providerID: string; modelID: string };

/** A stored message with its parts, as `GET /session/:id/message` lists them. */
export type StoredMessage = { info: components["schemas"]["Message"]; parts: components["schemas"]["Part"][] };

/** How a permission request is answered: this once, always (for its `always` patterns), or not. */
export type PermissionResponse = "once" | "always" | "reject";

/**
 * The per-attempt timeout of `summarize` (it runs a model and answers when it is done) unless the
 * call sets `timeoutMs`: the client's default (60 s) suits ordinary requests, not a model's whole
 * reply. (`command` and `shell` are Turns: their requests have no timeout at all.)
 */
export const LONG_CALL_TIMEOUT_MS = 10 * 60_000;

/** What session handles run on: the turn's needs, with the whole event hub (views subscribe beyond one session). */
export interface SessionDeps extends TurnDeps {
  readonly events: EventHub;
}

export class Session {
  readonly id: string;
  /** The session as the server last described it (undefined for `client.session.get(id)` until `refresh()`). */
  info: SessionInfo | undefined;
  protected readonly deps: SessionDeps;

  constructor(deps: SessionDeps, id: string, info?: SessionInfo) {
    this.deps = deps;
    this.id = id;
    this.info = info;
  }

  /**
   * Sends a prompt and streams the turn: `for await (const reply of session.prompt("hi"))`.
   * Turns on one session run one after another (FIFO); sessions run in parallel.
   */
  prompt(input: string | PartInput[], options: PromptOptions = {}): Turn {
    return new Turn(this.deps, this.id, { kind: "prompt", input, options });
  }

  /**
   * A Turn for whatever the session is running now — started by this client, another client, the
   * TUI, or before a page reload — built from the server's stored messages plus the live stream:
   * text stored so far once, then live replies, and the same `final` the originating client sees.
   * Resolves to undefined when the session is idle. (opencode stores a text part when it closes,
   * so a part still streaming at attach time shows up whole when it closes.)
   */
  async attach(options: CallOptions & Pick<PromptOptions, "subagents"> = {}): Promise<Turn | undefined> {
    const { subagents, ...call } = options;
    // A session that does not exist is not idle: say so (NotFoundError) instead of "nothing running".
    await this.deps.request("get", "/session/{sessionID}", { ...call, path: { sessionID: this.id } });
    const statuses = await this.deps.request("get", "/session/status", call);
    const status = statuses[this.id]?.type;
    if (status !== "busy" && status !== "retry") return undefined;
    const prompt = await this.runningPrompt(call);
    if (!prompt) return undefined;
    // Following sends nothing, so it takes no turn in the session's queue: with the shared lock a
    // second follower (another tab), or one of this client's own running turn, would see nothing
    // until the turn ended. A lock of its own is free at once.
    return new Turn({ ...this.deps, mutex: new SessionMutex() }, this.id, {
      kind: "attach",
      userMessageID: prompt,
      options: { ...(call.signal ? { signal: call.signal } : {}), ...(subagents === undefined ? {} : { subagents }) },
    });
  }

  /**
   * The id of the prompt the running turn answers: the latest user message a person sent
   * (compaction and its synthetic continuation are part of that turn). A long turn has many
   * messages after it, so the newest pages grow until one holds it.
   */
  private async runningPrompt(call: CallOptions): Promise<string | undefined> {
    const isPrompt = (m: StoredMessage) =>
      m.info.role === "user" && !m.parts.some((p) => p.type === "compaction" || (p.type === "text" && p.synthetic === true));
    for (const limit of [50, 400, undefined]) {
      const query = limit === undefined ? {} : { query: { limit } };
      const messages = await this.deps.request("get", "/session/{sessionID}/message", { ...call, path: { sessionID: this.id }, ...query });
      const prompt = messages.findLast(isPrompt);
      if (prompt || limit === undefined || messages.length < limit) return prompt?.info.id;
    }
    return undefined;
  }

  /** Sends a prompt and resolves with its final reply (rejects with the turn's typed error). */
  run(input: string | PartInput[], options?: PromptOptions): Promise<FinalReply> {
    return this.prompt(input, options).done;
  }

  /** Answers a `permission` reply. */
  async respond(permissionID: string, response: PermissionResponse, message?: string, options?: CallOptions): Promise<void> {
    await this.deps.request("post", "/permission/{requestID}/reply", {
      ...options,
      path: { requestID: permissionID },
      body: message === undefined ? { reply: response } : { reply: response, message },
    });
  }

  /**
   * Answers a `question` reply: one array of chosen option labels (or typed text) per question,
   * in the order of `reply.questions`. Works for a sub-agent's question too (the id names it).
   */
  async answer(questionID: string, answers: string[][], options?: CallOptions): Promise<void> {
    await this.deps.request("post", "/question/{requestID}/reply", {
      ...options,
      path: { requestID: questionID },
      body: { answers },
    });
  }

  /** Declines a `question` reply; the agent is told the user would not answer. */
  async rejectQuestion(questionID: string, options?: CallOptions): Promise<void> {
    await this.deps.request("post", "/question/{requestID}/reject", { ...options, path: { requestID: questionID } });
  }

  /**
   * Aborts whatever the session is running (any client's turn). Prefer `turn.abort()` for your own.
   * Rejects with `NotFoundError` for a session that does not exist (the server itself answers `true`).
   */
  async abort(options?: CallOptions): Promise<boolean> {
    await this.deps.request("get", "/session/{sessionID}", { ...options, path: { sessionID: this.id } });
    return this.deps.request("post", "/session/{sessionID}/abort", { ...options, path: { sessionID: this.id } });
  }

  /** The session's stored messages with their parts; `limit` keeps the newest n, `before` pages back from a message id. */
  messages(options: CallOptions & { limit?: number; before?: string } = {}): Promise<StoredMessage[]> {
    const { limit, before, ...call } = options;
    return this.deps.request("get", "/session/{sessionID}/message", { ...call, path: { sessionID: this.id }, query: { limit, before } });
  }

  /** Re-reads `info` from the server. */
  async refresh(options?: CallOptions): Promise<this> {
    this.info = await this.deps.request("get", "/session/{sessionID}", { ...options, path: { sessionID: this.id } });
    return this;
  }

  async delete(options?: CallOptions): Promise<boolean> {
    return this.deps.request("delete", "/session/{sessionID}", { ...options, path: { sessionID: this.id } });
  }

  /** Copies the session (up to `messageID` when given, else whole) into a new session; resolves with its handle. */
  async fork(options: CallOptions & { messageID?: string } = {}): Promise<this> {
    const { messageID, ...call } = options;
    const info = await this.deps.request("post", "/session/{sessionID}/fork", {
      ...call,
      path: { sessionID: this.id },
      body: messageID === undefined ? {} : { messageID },
    });
    return this.sibling(info.id, info);
  }

  /** Publishes the session; the link is `info.share.url`. */
  async share(options?: CallOptions): Promise<SessionInfo> {
    return (this.info = await this.deps.request("post", "/session/{sessionID}/share", { ...options, path: { sessionID: this.id } }));
  }

  async unshare(options?: CallOptions): Promise<SessionInfo> {
    return (this.info = await this.deps.request("delete", "/session/{sessionID}/share", { ...options, path: { sessionID: this.id } }));
  }

  /** Undoes the session back to `messageID` (or one of its parts): messages after it and their file edits. */
  async revert(messageID: string, options: CallOptions & { partID?: string } = {}): Promise<SessionInfo> {
    const { partID, ...call } = options;
    return (this.info = await this.deps.request("post", "/session/{sessionID}/revert", {
      ...call,
      path: { sessionID: this.id },
      body: partID === undefined ? { messageID } : { messageID, partID },
    }));
  }

  /** Restores what the last `revert` undid. */
  async unrevert(options?: CallOptions): Promise<SessionInfo> {
    return (this.info = await this.deps.request("post", "/session/{sessionID}/unrevert", { ...options, path: { sessionID: this.id } }));
  }

  /**
   * Compacts the session's history into a summary written by `model`. Waits for the session's
   * running turn first. Default `timeoutMs`: `LONG_CALL_TIMEOUT_MS` (a model writes the summary).
   */
  async summarize(options: CallOptions & { model: ModelChoice; auto?: boolean }): Promise<boolean> {
    const { model, auto, ...call } = options;
    const body = { ...parseModel(model), ...(auto === undefined ? {} : { auto }) };
    return this.exclusive(call.signal, () =>
      this.deps.request("post", "/session/{sessionID}/summarize", { timeoutMs: LONG_CALL_TIMEOUT_MS, ...call, path: { sessionID: this.id }, body }),
    );
  }

  /**
   * Runs a shell command in the session (as `agent`, default "build") and streams it as a Turn: the
   * bash tool's output arrives as `tool_call` updates while it runs (each the whole output so far),
   * then its `tool_result` and the `final`.
   */
  shell(command: string, options: TurnOptions & { agent?: string; model?: ModelChoice } = {}): Turn {
    const { agent = "build", model, ...turn } = options;
    const body: Omit<ShellBody, "messageID"> = { command, agent, ...(model === undefined ? {} : { model: parseModel(model) }) };
    return new Turn(this.deps, this.id, { kind: "shell", body, options: turn });
  }

  /**
   * Runs a slash command (`/init`, a configured command; `client.command.list()` names them) with its
   * arguments, and streams it as a Turn like a prompt.
   */
  command(
    name: string,
    args = "",
    options: TurnOptions & { agent?: string; model?: ModelChoice; variant?: string; parts?: CommandBody["parts"] } = {},
  ): Turn {
    const { agent, model, variant, parts, ...turn } = options;
    const body: Omit<CommandBody, "messageID"> = { command: name, arguments: args };
    if (agent !== undefined) body.agent = agent;
    // This route takes the model as one "provider/model" string.
    if (model !== undefined) {
      const { providerID, modelID } = parseModel(model);
      body.model = `${providerID}/${modelID}`;
    }
    if (variant !== undefined) body.variant = variant;
    if (parts !== undefined) body.parts = parts;
    return new Turn(this.deps, this.id, { kind: "command", body, options: turn });
  }

  /** Files the session changed (whole session, or one message's changes), with before/after text. */
  diff(options: CallOptions & { messageID?: string } = {}): Promise<components["schemas"]["SnapshotFileDiff"][]> {
    const { messageID, ...call } = options;
    return this.deps.request("get", "/session/{sessionID}/diff", { ...call, path: { sessionID: this.id }, query: { messageID } });
  }

  /** The agent's todo list for this session. */
  todo(options?: CallOptions): Promise<components["schemas"]["Todo"][]> {
    return this.deps.request("get", "/session/{sessionID}/todo", { ...options, path: { sessionID: this.id } });
  }

  /** Sessions started from this one (sub-agents, forks with a parent), as handles. */
  async children(options?: CallOptions): Promise<this[]> {
    const infos = await this.deps.request("get", "/session/{sessionID}/children", { ...options, path: { sessionID: this.id } });
    return infos.map((info) => this.sibling(info.id, info));
  }

  /** A handle of this one's class for another session: the client's handles (with `watch`) make their own kind. */
  private sibling(id: string, info: SessionInfo): this {
    const Handle = this.constructor as SessionClass<this>;
    return new Handle(this.deps, id, info);
  }

  /** Changes the title (or metadata, permissions, archived time); `info` becomes the server's answer. */
  async update(fields: UpdateBody, options?: CallOptions): Promise<SessionInfo> {
    return (this.info = await this.deps.request("patch", "/session/{sessionID}", { ...options, path: { sessionID: this.id }, body: fields }));
  }

  /** Runs `call` holding the session's turn lock: the server would fold it into a running turn otherwise. */
  private async exclusive<T>(signal: AbortSignal | undefined, call: () => Promise<T>): Promise<T> {
    const release = await this.deps.mutex.acquire(this.id, signal);
    try {
      return await call();
    } finally {
      release();
    }
  }
}

/** `Session` or a class built on it (the client's, with `watch`). */
export type SessionClass<S extends Session> = new (deps: SessionDeps, id: string, info?: SessionInfo) => S;

/** `client.session`: creates, lists and names sessions, handing out handles of class `Handle`. */
export class Sessions<S extends Session> {
  protected readonly deps: SessionDeps;
  readonly #Handle: SessionClass<S>;

  constructor(deps: SessionDeps, Handle: SessionClass<S>) {
    this.deps = deps;
    this.#Handle = Handle;
  }

  async create(body: CreateBody = {}, options?: CallOptions): Promise<S> {
    const info = await this.deps.request("post", "/session", { ...options, body });
    this.deps.catchUp.remember(info);
    return new this.#Handle(this.deps, info.id, info);
  }

  /** A handle for an existing session id; sends no request. */
  get(id: string): S {
    return new this.#Handle(this.deps, id);
  }

  async list(options?: CallOptions): Promise<S[]> {
    const infos = await this.deps.request("get", "/session", { ...options });
    return infos.map((info) => new this.#Handle(this.deps, info.id, info));
  }
}
