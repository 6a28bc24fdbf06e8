// `createClient`: the object apps hold. Owns the transport (and so the sockets) and the shared
// event stream; everyday calls are one-line methods (sessions, providers, files, search), and
// every operation of the server's spec is reachable through the typed `request`.

import type { ClientOptions } from "./http/options.js";
import { EventStreamRouteError } from "./http/errors.js";
import { isEventStreamPath, type HttpMethod, type RequestInitArgs, type RequestPath, type ResponseData, type TypedRequest } from "./http/paths.js";
import { Transport, type RawRequest } from "./http/transport.js";
import { EventHub, type EventHubOptions } from "./events/hub.js";
import { checkedRequest, ServerInfo } from "./http/server-version.js";
import { Agents, Commands, Config, Files, Find, Providers } from "./resources.js";
import { ServerCatalog } from "./session/catalog.js";
import { MessageIDs } from "./session/ids.js";
import { ClientCatchUp } from "./turn/catch-up.js";
import { SessionMutex } from "./session/mutex.js";
import type { Turn } from "./turn/turn.js";

import type { PermissionPolicy } from "./turn/permission-policy.js";
import { Sessions } from "./views/handles.js";

/** How long `close()` waits for the server to answer the aborts of the turns still running. */
const CLOSE_ABORT_MS = 5_000;

export interface CloseOptions {
  /** Stop the turns still running on the server (one abort request each). Default true. */
  abort?: boolean;
}

export interface OpencodeClientOptions extends ClientOptions {
  /** The `/event` stream: silence watchdog, subscriber queue bound, ready timeout, reconnect backoff. */
  events?: EventHubOptions;
  /**
   * Permission rules every turn applies (to its sub-agents too): matching requests are answered
   * without asking, each reported as a `permission_policy` reply. A prompt's own rules come first.
   */
  permissions?: PermissionPolicy;
}

export class OpencodeClient {
  readonly transport: Transport;
  /** The shared `/event` stream: `client.events.subscribe({ sessionID, types, signal })`. */
  readonly events: EventHub;
  /** `client.session.create({ title })`, `.get(id)`, `.list()`: handles that prompt and stream turns. */
  readonly session: Sessions;
  /** `client.provider.list()`, `.models()`: providers and the models a prompt can name. */
  readonly provider: Providers;
  /** `client.agent.list()`: the agents a prompt can run as. */
  readonly agent: Agents;
  /** `client.command.list()`: the slash commands `session.command()` runs. */
  readonly command: Commands;
  /** `client.config.get()`: the server's merged config. */
  readonly config: Config;
  /** `client.file.read(path)`, `.list(dir)`, `.status()`: the project's files. */
  readonly file: Files;
  /** `client.find.text(pattern)`, `.files(query)`, `.symbols(query)`: search the project. */
  readonly find: Find;
  /** `client.server.version()`, `.health()`, `.check()`: which opencode this is (OpenCode 2 is `UnsupportedServerError`). */
  readonly server: ServerInfo;
  /** This client's turns that have not ended yet. */
  private readonly running = new Set<Turn>();

  constructor(options: OpencodeClientOptions = {}) {
    this.transport = new Transport(options);
    this.events = new EventHub(this.transport, options.events);
    const request = this.request.bind(this) as TypedRequest;
    this.server = new ServerInfo(this.transport);
    const checked = checkedRequest(request, this.server);
    this.session = new Sessions({
      // Session requests and turns check the server's version once, before the first of them.
      request: checked,
      events: this.events,
      mutex: new SessionMutex(),
      running: this.running,
      logger: this.transport.options.logger,
      ids: new MessageIDs(),
      catchUp: new ClientCatchUp(checked),
      catalog: new ServerCatalog(checked),
      ...(options.permissions ? { permissions: options.permissions } : {}),
    });
    this.command = new Commands(request);
    this.provider = new Providers(request);
    this.agent = new Agents(request);
    this.config = new Config(request);
    this.file = new Files(request);
    this.find = new Find(request);
  }

  /**
   * Calls any operation of the opencode spec, typed over the generated `paths`:
   * `client.request("get", "/session/{sessionID}", { path: { sessionID } })`. Event-stream routes
   * (`/event`, `/global/event`, …) are rejected with `EventStreamRouteError`: use `client.events`.
   */
  request<M extends HttpMethod, P extends RequestPath<M>>(method: M, path: P, ...[init]: RequestInitArgs<M, P>): Promise<ResponseData<M, P>> {
    // A JSON request to an SSE route would sit on a body that never ends until its timeout.
    if (isEventStreamPath(path)) return Promise.reject(new EventStreamRouteError(method, path));
    return this.transport.request(method, path, init as RawRequest | undefined) as Promise<ResponseData<M, P>>;
  }

  /**
   * Closes the event stream and the client's sockets. Turns still running end with `AbortedError`
   * and, unless `{ abort: false }`, are stopped on the server first (one abort each, waited for up
   * to 5 s): without it the server would keep running the agent for nobody. With `{ abort: false }`
   * they run on there, and `session.attach()` from another client can follow them. Safe to call
   * more than once.
   */
  async close(options: CloseOptions = {}): Promise<void> {
    if (options.abort !== false && this.running.size > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_ABORT_MS)));
      await Promise.race([Promise.all([...this.running].map((turn) => turn.abortForClose())), bound]);
      clearTimeout(timer);
    }
    await this.events.close();
    await this.transport.close();
  }
}

export function createClient(options: OpencodeClientOptions = {}): OpencodeClient {
  return new OpencodeClient(options);
}
