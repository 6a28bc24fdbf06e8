// Session handles: `client.session.create()` / `.get(id)` and, on a handle, `prompt()` (a
// streaming Turn), `run()` (its final reply), `respond()` to permission requests and `abort()`.

import type { components, operations } from "../../generated/opencode.js";
import type { FinalReply } from "../turn/replies.js";
import { Turn, type PartInput, type PromptOptions, type TurnDeps } from "../turn/turn.js";

export type SessionInfo = components["schemas"]["Session"];
type CreateBody = NonNullable<operations["session.create"]["requestBody"]>["content"]["application/json"];

/** How a permission request is answered: this once, always (for its `always` patterns), or not. */
export type PermissionResponse = "once" | "always" | "reject";

export class Session {
  readonly id: string;
  /** The session as the server last described it (undefined for `client.session.get(id)` until `refresh()`). */
  info: SessionInfo | undefined;
  private readonly deps: TurnDeps;

  constructor(deps: TurnDeps, id: string, info?: SessionInfo) {
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
  async attach(options: Pick<PromptOptions, "signal" | "subagents"> = {}): Promise<Turn | undefined> {
    const statuses = await this.deps.request("get", "/session/status", { signal: options.signal });
    const status = statuses[this.id]?.type;
    if (status !== "busy" && status !== "retry") return undefined;
    const messages = await this.deps.request("get", "/session/{sessionID}/message", {
      path: { sessionID: this.id },
      query: { limit: 50 },
      signal: options.signal,
    });
    // The turn running is the latest prompt a person sent: compaction and its synthetic
    // continuation are part of it.
    const prompt = messages.findLast(
      (m) => m.info.role === "user" && !m.parts.some((p) => p.type === "compaction" || (p.type === "text" && p.synthetic === true)),
    );
    if (!prompt) return undefined;
    return new Turn(this.deps, this.id, { kind: "attach", userMessageID: prompt.info.id, options });
  }

  /** Sends a prompt and resolves with its final reply (rejects with the turn's typed error). */
  run(input: string | PartInput[], options?: PromptOptions): Promise<FinalReply> {
    return this.prompt(input, options).done;
  }

  /** Answers a `permission` reply. */
  async respond(permissionID: string, response: PermissionResponse, message?: string): Promise<void> {
    await this.deps.request("post", "/permission/{requestID}/reply", {
      path: { requestID: permissionID },
      body: message === undefined ? { reply: response } : { reply: response, message },
    });
  }

  /**
   * Answers a `question` reply: one array of chosen option labels (or typed text) per question,
   * in the order of `reply.questions`. Works for a sub-agent's question too (the id names it).
   */
  async answer(questionID: string, answers: string[][]): Promise<void> {
    await this.deps.request("post", "/question/{requestID}/reply", {
      path: { requestID: questionID },
      body: { answers },
    });
  }

  /** Declines a `question` reply; the agent is told the user would not answer. */
  async rejectQuestion(questionID: string): Promise<void> {
    await this.deps.request("post", "/question/{requestID}/reject", { path: { requestID: questionID } });
  }

  /** Aborts whatever the session is running (any client's turn). Prefer `turn.abort()` for your own. */
  async abort(): Promise<boolean> {
    return this.deps.request("post", "/session/{sessionID}/abort", { path: { sessionID: this.id } });
  }

  /** The session's stored messages with their parts. */
  messages(): Promise<{ info: components["schemas"]["Message"]; parts: components["schemas"]["Part"][] }[]> {
    return this.deps.request("get", "/session/{sessionID}/message", { path: { sessionID: this.id } });
  }

  /** Re-reads `info` from the server. */
  async refresh(): Promise<this> {
    this.info = await this.deps.request("get", "/session/{sessionID}", { path: { sessionID: this.id } });
    return this;
  }

  async delete(): Promise<boolean> {
    return this.deps.request("delete", "/session/{sessionID}", { path: { sessionID: this.id } });
  }
}

export class Sessions {
  private readonly deps: TurnDeps;

  constructor(deps: TurnDeps) {
    this.deps = deps;
  }

  async create(body: CreateBody = {}): Promise<Session> {
    const info = await this.deps.request("post", "/session", { body });
    return new Session(this.deps, info.id, info);
  }

  /** A handle for an existing session id; sends no request. */
  get(id: string): Session {
    return new Session(this.deps, id);
  }

  async list(): Promise<Session[]> {
    const infos = await this.deps.request("get", "/session");
    return infos.map((info) => new Session(this.deps, info.id, info));
  }
}
