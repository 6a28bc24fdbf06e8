// A scripted world for Turn engine tests: an event source the test pushes events and gaps into, and
// a request function whose server state (status, stored messages, pending requests, sessions) the
// test sets, recording every call. No sockets, no clock tricks: short timing bounds instead.

import { AbortError } from "../../src/http/errors.js";
import type { HttpMethod } from "../../src/http/paths.js";
import type { Event, StreamGap } from "../../src/events/types.js";
import { STREAM_GAP } from "../../src/events/types.js";
import { MessageIDs } from "../../src/session/ids.js";
import { SessionMutex } from "../../src/session/mutex.js";
import { ClientCatchUp } from "../../src/turn/catch-up.js";
import type { Reply } from "../../src/turn/replies.js";
import { Turn, type TurnDeps, type TurnStart, type TurnSubscription, type TurnTiming } from "../../src/turn/turn.js";
import type { EventShape } from "../support/events.js";

export interface Call {
  method: HttpMethod;
  path: string;
  init: { path?: Record<string, string>; query?: Record<string, unknown>; body?: unknown; signal?: AbortSignal } | undefined;
}

type Stored = { info: Record<string, unknown>; parts: Record<string, unknown>[] };

/** What the scripted server answers; tests change it as the story goes on. */
export interface ServerState {
  status: Record<string, { type: string }>;
  messages: Stored[];
  permissions: Record<string, unknown>[];
  questions: Record<string, unknown>[];
  sessions: Record<string, { id: string; parentID?: string; title: string }>;
  /** How prompt_async answers: at once (default), or never until its signal aborts. */
  prompt: "ok" | "hang";
  /** Makes snapshot reads fail. */
  failReads: boolean;
  /** How shell and command requests answer: only when their signal aborts (they answer at the end), or with this error. */
  command?: Error;
}

class ScriptedSubscription implements TurnSubscription {
  readonly ready: Promise<void>;
  private readonly queue: (Event | StreamGap)[] = [];
  private waiter: ((result: IteratorResult<Event | StreamGap>) => void) | undefined;
  closed = false;

  constructor(ready: Promise<void>, signal: AbortSignal) {
    // Like the real subscription: aborting its signal rejects a pending `ready`.
    const aborted = new Promise<never>((_, reject) =>
      signal.addEventListener("abort", () => reject(new AbortError("the event subscription was aborted before the stream opened")), { once: true }),
    );
    aborted.catch(() => {});
    this.ready = Promise.race([ready, aborted]);
    signal.addEventListener("abort", () => this.close(), { once: true });
  }

  push(item: Event | StreamGap): void {
    if (this.closed) return;
    const waiter = this.waiter;
    this.waiter = undefined;
    if (waiter) waiter({ value: item, done: false });
    else this.queue.push(item);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    this.waiter?.({ value: undefined, done: true });
    this.waiter = undefined;
  }

  [Symbol.asyncIterator](): AsyncIterator<Event | StreamGap> {
    return {
      next: () => {
        const item = this.queue.shift();
        if (item !== undefined) return Promise.resolve({ value: item, done: false });
        if (this.closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => (this.waiter = resolve));
      },
      return: () => {
        this.close();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}

export class World {
  readonly calls: Call[] = [];
  readonly server: ServerState = {
    status: {},
    messages: [],
    permissions: [],
    questions: [],
    sessions: {},
    prompt: "ok",
    failReads: false,
  };
  readonly mutex = new SessionMutex();
  readonly ids: MessageIDs;
  readonly logs: string[] = [];
  /** One per world, like one per client: every turn of the world shares its reads. */
  readonly catchUp = new ClientCatchUp(((method: HttpMethod, path: string, init?: Call["init"]) => this.request(method, path, init)) as TurnDeps["request"]);
  subscription: ScriptedSubscription | undefined;
  /** Every turn's subscription, in the order they opened. */
  readonly subscriptions: ScriptedSubscription[] = [];
  private openReady: () => void = () => {};
  private readyGate: Promise<void> = Promise.resolve();

  constructor(readonly timing: Partial<TurnTiming> = {}, idSource?: () => string) {
    this.ids = new MessageIDs(idSource);
  }

  /** The stream does not open until `openStream()`. */
  holdStream(): void {
    this.readyGate = new Promise((resolve) => (this.openReady = resolve));
  }

  openStream(): void {
    this.openReady();
  }

  get deps(): TurnDeps {
    return {
      request: ((method: HttpMethod, path: string, init?: Call["init"]) => this.request(method, path, init)) as TurnDeps["request"],
      events: {
        subscribe: ({ signal }) => {
          this.subscription = new ScriptedSubscription(this.readyGate, signal);
          this.subscriptions.push(this.subscription);
          return this.subscription;
        },
      },
      mutex: this.mutex,
      logger: { warn: (message) => this.logs.push(message), error: (message) => this.logs.push(message) },
      ids: this.ids,
      catchUp: this.catchUp,
      timing: { settleMs: 300, stopSettleMs: 1_500, lostTurnMs: 200, recheckMs: 100, maxRecheckMs: 400, backoff: () => 50, maxReadFailures: 3, ...this.timing },
    };
  }

  turn(sessionID: string, start: TurnStart): Turn {
    return new Turn(this.deps, sessionID, start);
  }

  prompt(sessionID: string, text = "hi", options: Extract<TurnStart, { kind: "prompt" }>["options"] = {}): Turn {
    return this.turn(sessionID, { kind: "prompt", input: text, options });
  }

  /** Delivers events (or `"gap"`) on the turn's subscription, letting the turn run after each. */
  async send(...items: (EventShape | "gap")[]): Promise<void> {
    await until(() => this.subscription !== undefined);
    for (const item of items) {
      this.subscription!.push(item === "gap" ? STREAM_GAP : (item as unknown as Event));
      await tick();
    }
  }

  callsTo(method: HttpMethod, path: string): Call[] {
    return this.calls.filter((c) => c.method === method && c.path === path);
  }

  private async request(method: HttpMethod, path: string, init: Call["init"]): Promise<unknown> {
    this.calls.push({ method, path, init });
    const server = this.server;
    if (method === "post" && path === "/session/{sessionID}/prompt_async") {
      if (server.prompt === "hang") {
        await new Promise<never>((_, reject) => init?.signal?.addEventListener("abort", () => reject(new (class extends Error {})("aborted"))));
      }
      return undefined;
    }
    if (method === "post" && path === "/session/{sessionID}/abort") return true;
    if (method === "post" && path === "/permission/{requestID}/reply") return true;
    if (method === "post" && (path === "/session/{sessionID}/shell" || path === "/session/{sessionID}/command")) {
      if (server.command) throw server.command;
      return new Promise<never>((_, reject) => init?.signal?.addEventListener("abort", () => reject(new Error("aborted"))));
    }
    if (method === "get" && server.failReads) throw new Error("503 from the scripted server");
    if (method === "get" && path === "/session/status") return server.status;
    if (method === "get" && path === "/session/{sessionID}/message") {
      const limit = init?.query?.["limit"];
      return typeof limit === "number" ? server.messages.slice(-limit) : server.messages;
    }
    if (method === "get" && path === "/permission") return server.permissions;
    if (method === "get" && path === "/question") return server.questions;
    if (method === "get" && path === "/session/{sessionID}") {
      const session = server.sessions[init!.path!["sessionID"]!];
      if (!session) throw new Error("404");
      return session;
    }
    throw new Error(`the scripted server has no ${method} ${path}`);
  }
}

/** Lets pending promise callbacks and zero-delay timers run. */
export function tick(ms = 0): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function until(check: () => boolean, timeoutMs = 3_000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error("condition not met in time");
    await tick(2);
  }
}

/** Reads a turn to its end. */
export async function collect(turn: Turn): Promise<Reply[]> {
  const replies: Reply[] = [];
  for await (const reply of turn) replies.push(reply);
  return replies;
}

export const kinds = (replies: Reply[]) => replies.map((r) => r.kind);
export const textOf = (replies: Reply[], kind: "delta" | "reasoning" = "delta") =>
  replies.flatMap((r) => (r.kind === kind && r.parentSessionID === undefined ? [r.text] : [])).join("");
