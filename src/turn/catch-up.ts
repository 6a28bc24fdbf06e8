// The client's catch-up reads: what Turns ask the server when the event stream cannot tell them
// enough (after a gap, on attaching, when an idle leaves a turn unsettled). One per client, shared by
// every turn: a reconnect with a thousand turns waiting costs one `GET /session/status` (and one
// `/permission`, one `/question`) per round, one message read per session that asked, and one
// lookup per unknown session ever — with a cap on requests in flight, so recovery traffic never
// piles onto a server that is already behind.

import { BadRequestError } from "../http/errors.js";
import { Limiter } from "../http/limiter.js";
import type { ResponseData, TypedRequest } from "../http/paths.js";
import type { TurnSnapshot } from "./map-event.js";

type Statuses = ResponseData<"get", "/session/status">;
type Messages = ResponseData<"get", "/session/{sessionID}/message">;
type Permissions = ResponseData<"get", "/permission">;
type Questions = ResponseData<"get", "/question">;
type PlacedSession = NonNullable<TurnSnapshot["sessions"]>[number];

/** What one turn asks for. */
export interface CatchUpQuery {
  sessionID: string;
  /** The turn's user message: messages are read until it is among them. */
  userMessageID: string;
  /** At least this many of the latest messages. */
  minMessages: number;
  /** Pending permissions and questions too (the stream never replays them after a gap). */
  requests: boolean;
  /**
   * Sessions the turn cannot place in its tree; called with the status map and the sessions of the
   * pending requests read, so it can add those it does not know. Returns the ids to look up, nearest first.
   */
  unknownSessions(statuses: Statuses, pending: string[]): string[];
  signal: AbortSignal;
}

export interface CatchUpRead {
  snapshot: TurnSnapshot;
  /** The turn's user message is among the stored messages. */
  stored: boolean;
}

/** The narrow seam the Turn reads through. */
export interface CatchUp {
  read(query: CatchUpQuery): Promise<CatchUpRead>;
  /** A session whose parent the client already knows (one it created): never looked up. */
  remember(session: { id: string; parentID?: string | undefined; title: string }): void;
}

export interface CatchUpOptions {
  /** Catch-up requests in flight at once, across every turn. Default 8. */
  concurrency?: number;
}

/** Sessions looked up per read to place them in a turn's tree. */
const MAX_SESSION_LOOKUPS = 10;
/** Sessions whose parent is remembered (a session's parent never changes). */
const MAX_KNOWN_SESSIONS = 20_000;

/**
 * One shared read that starts on the next macrotask, so every turn woken by the same gap joins it.
 * A caller arriving while a read is in flight waits for the next one: what it needs to know may
 * have happened after the one in flight was sent.
 */
class Round<T> {
  #pending: Promise<T> | undefined;
  #inFlight: Promise<unknown> = Promise.resolve();

  constructor(private readonly load: () => Promise<T>) {}

  get(): Promise<T> {
    if (this.#pending) return this.#pending;
    const previous = this.#inFlight;
    const next = new Promise<void>((resolve) => setTimeout(resolve, 0))
      .then(() => previous.catch(() => undefined))
      .then(() => {
        // From here on, newcomers wait for the round after this one.
        this.#pending = undefined;
        return this.load();
      });
    this.#pending = next;
    this.#inFlight = next;
    return next;
  }
}

export class ClientCatchUp implements CatchUp {
  readonly #request: TypedRequest;
  readonly #limiter: Limiter;
  /** Shared reads use no caller's signal: one turn leaving must not fail the others' read. */
  readonly #statuses: Round<Statuses>;
  readonly #permissions: Round<Permissions>;
  readonly #questions: Round<Questions>;
  /** Message reads of one session in flight, by session and limit: concurrent askers share them. */
  readonly #messages = new Map<string, Promise<Messages>>();
  /** Each session's parent (null: a root), learnt once. */
  readonly #parents = new Map<string, { parentID: string | null; title: string }>();
  readonly #lookups = new Map<string, Promise<void>>();

  constructor(request: TypedRequest, options: CatchUpOptions = {}) {
    this.#request = request;
    this.#limiter = new Limiter(Math.max(1, options.concurrency ?? 8));
    this.#statuses = new Round(() => this.#limiter.run(() => request("get", "/session/status")));
    this.#permissions = new Round(() => this.#limiter.run(() => request("get", "/permission")));
    this.#questions = new Round(() => this.#limiter.run(() => request("get", "/question")));
  }

  remember(session: { id: string; parentID?: string | undefined; title: string }): void {
    if (this.#parents.size >= MAX_KNOWN_SESSIONS) this.#parents.delete(this.#parents.keys().next().value!);
    this.#parents.set(session.id, { parentID: session.parentID ?? null, title: session.title });
  }

  /**
   * Status first (so messages read after an idle are final), then the session's messages, the
   * pending requests if asked, and the unknown sessions' parents.
   */
  async read(query: CatchUpQuery): Promise<CatchUpRead> {
    const statuses = await abortable(this.#statuses.get(), query.signal);
    const type = statuses[query.sessionID]?.type;
    const status: TurnSnapshot["status"] = type === "busy" || type === "retry" ? type : "idle";
    const [messages, permissions, questions] = await Promise.all([
      this.#turnMessages(query),
      query.requests ? abortable(this.#permissions.get(), query.signal) : undefined,
      query.requests ? abortable(this.#questions.get(), query.signal) : undefined,
    ]);
    const pending = [...(permissions ?? []), ...(questions ?? [])].map((request) => request.sessionID);
    const sessions = await this.#place(query.unknownSessions(statuses, pending), query.signal);
    // A stored turn shows its prompt, or (when the server could not list the prompt) an answer to it.
    const id = query.userMessageID;
    const stored = messages.some((m) => m.info.id === id || ("parentID" in m.info && m.info.parentID === id));
    const snapshot: TurnSnapshot = { status, messages, sessions };
    if (permissions) snapshot.permissions = permissions;
    if (questions) snapshot.questions = questions;
    return { snapshot, stored };
  }

  /**
   * The session's latest messages, enough of them to include the turn's user message. A server
   * that cannot list some stored message answers the whole page with 400 (1.18.33 fails on a
   * structured-output prompt's stored `format`): then the newest messages it can list are read,
   * which are the turn's when the unlistable one is its prompt.
   */
  async #turnMessages(query: CatchUpQuery): Promise<Messages> {
    const page = (limit: number | undefined) => this.#messagesOf(query.sessionID, limit, query.signal);
    let limit = Math.max(20, query.minMessages);
    for (let attempt = 0; attempt < 3; attempt++) {
      let messages: Messages;
      try {
        messages = await page(limit);
      } catch (error) {
        if (!(error instanceof BadRequestError)) throw error;
        return newestListable(page, limit, error);
      }
      if (messages.length < limit || messages.some((m) => m.info.id === query.userMessageID)) return messages;
      limit *= 4;
    }
    return page(undefined);
  }

  #messagesOf(sessionID: string, limit: number | undefined, signal: AbortSignal): Promise<Messages> {
    const key = `${sessionID} ${limit ?? "all"}`;
    let read = this.#messages.get(key);
    if (!read) {
      read = this.#limiter
        .run(() => this.#request("get", "/session/{sessionID}/message", { path: { sessionID }, ...(limit === undefined ? {} : { query: { limit } }) }))
        .finally(() => this.#messages.delete(key));
      this.#messages.set(key, read);
    }
    return abortable(read, signal);
  }

  /** Follows unknown sessions' parent chains, so the codec can tell sub-agents from strangers. */
  async #place(ids: string[], signal: AbortSignal): Promise<PlacedSession[]> {
    const found: PlacedSession[] = [];
    const seen = new Set<string>();
    // Roots already known are strangers: they take no lookup and no slot.
    let queue = ids.filter((id) => {
      if (seen.has(id) || this.#parents.get(id)?.parentID === null) return false;
      seen.add(id);
      return true;
    });
    let lookups = 0;
    while (queue.length > 0 && lookups < MAX_SESSION_LOOKUPS) {
      const batch = queue.slice(0, MAX_SESSION_LOOKUPS - lookups);
      lookups += batch.length;
      await abortable(Promise.all(batch.map((id) => this.#lookUp(id))), signal);
      const next: string[] = [];
      for (const id of batch) {
        const known = this.#parents.get(id);
        if (!known?.parentID) continue;
        found.push({ id, parentID: known.parentID, title: known.title });
        if (!seen.has(known.parentID)) {
          seen.add(known.parentID);
          next.push(known.parentID);
        }
      }
      queue = [...queue.slice(batch.length), ...next];
    }
    return found;
  }

  #lookUp(id: string): Promise<void> {
    if (this.#parents.has(id)) return Promise.resolve();
    let lookup = this.#lookups.get(id);
    if (!lookup) {
      lookup = this.#limiter
        .run(() => this.#request("get", "/session/{sessionID}", { path: { sessionID: id } }))
        .then(
          (info) => this.remember(info),
          // A session that cannot be read (deleted, another project's) is not placed; asked again next time.
          () => undefined,
        )
        .finally(() => this.#lookups.delete(id));
      this.#lookups.set(id, lookup);
    }
    return lookup;
  }
}

/** The largest newest page the server can list, below a `limit` it cannot: a binary search. */
async function newestListable(page: (limit: number) => Promise<Messages>, failing: number, error: BadRequestError): Promise<Messages> {
  let best: Messages | undefined;
  let low = 0;
  let high = failing;
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    try {
      best = await page(middle);
      low = middle;
    } catch (retry) {
      if (!(retry instanceof BadRequestError)) throw retry;
      high = middle;
    }
  }
  if (best === undefined) throw error;
  return best;
}

/** A shared read one caller stops waiting for when its own signal aborts; the read goes on for the others. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
