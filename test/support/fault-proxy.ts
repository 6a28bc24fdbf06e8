// A TCP proxy between the client and a real server that injects network faults on demand:
// cut connections (FIN or RST), stall them (open but silent), drip bytes one at a time, cut
// a frame in half, reset a request mid-body, refuse new connections for a while.

import { createServer, connect, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";

export interface ProxiedConnection {
  readonly id: number;
  /** Path of the latest request on this connection, e.g. "/event?directory=…". */
  path: string | undefined;
  readonly client: Socket;
  readonly upstream: Socket;
  /** Bytes forwarded server → client. */
  bytesDown: number;
  mode: "pass" | "stall" | "drip";
  closed: boolean;
}

/** Which connections a fault applies to: a path prefix ("/event") or a predicate. */
export type Match = string | ((connection: ProxiedConnection) => boolean);

export interface FaultProxy {
  /** `http://127.0.0.1:PORT` */
  url: string;
  port: number;
  connections: ProxiedConnection[];
  /** Open connections matching. */
  open(match?: Match): ProxiedConnection[];
  /** Ends matching connections: `reset` sends RST instead of FIN. Returns how many. */
  cut(match?: Match, options?: { reset?: boolean }): number;
  /** Keeps matching connections open but forwards nothing more to the client. */
  stall(match?: Match): number;
  /** Forwards server bytes to matching connections one byte per write, `bytesPerTick` writes every `intervalMs`. */
  drip(match?: Match, options?: { intervalMs?: number; bytesPerTick?: number }): number;
  /** Forwards the next server chunk of a matching connection only halfway, then resets it. */
  cutMidFrame(match?: Match): void;
  /** Resets the next matching connection after `bytes` of its request (client → server) went through. */
  resetRequestAfter(bytes: number, match?: Match): void;
  /** Resets every new connection for `ms`. */
  refuse(ms: number): void;
  /** Waits until a connection matching is open (e.g. the client reconnected). */
  waitFor(match: Match, timeoutMs?: number): Promise<ProxiedConnection>;
  close(): Promise<void>;
}

const REQUEST_LINE = /^(?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) (\S+) HTTP\/1\.[01]\r\n/;

export async function startFaultProxy(target: { host?: string; port: number } | string): Promise<FaultProxy> {
  const { host, port: targetPort } =
    typeof target === "string" ? { host: new URL(target).hostname, port: Number(new URL(target).port) } : { host: target.host ?? "127.0.0.1", ...target };
  const connections: ProxiedConnection[] = [];
  let refuseUntil = 0;
  let nextId = 0;
  const midFrameCuts: Match[] = [];
  const requestResets: { bytes: number; match: Match }[] = [];
  const waiters = new Set<() => void>();
  const dripStarters = new Map<ProxiedConnection, (intervalMs: number, bytesPerTick: number) => void>();

  const matches = (connection: ProxiedConnection, match: Match | undefined) =>
    match === undefined ? true : typeof match === "string" ? (connection.path ?? "").startsWith(match) : match(connection);

  const server: Server = createServer((client) => {
    if (Date.now() < refuseUntil) {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(targetPort, host);
    // Tiny writes must leave as tiny segments (drip), not be merged by Nagle's algorithm.
    client.setNoDelay(true);
    const connection: ProxiedConnection = { id: ++nextId, path: undefined, client, upstream, bytesDown: 0, mode: "pass", closed: false };
    connections.push(connection);
    let dripQueue: Buffer[] = [];
    let dripTimer: NodeJS.Timeout | undefined;
    let requestBytes = 0;
    let resetAt: number | undefined;

    const close = () => {
      if (connection.closed) return;
      connection.closed = true;
      clearInterval(dripTimer);
      dripStarters.delete(connection);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", close);
    upstream.on("error", close);
    client.on("close", close);
    upstream.on("close", close);

    client.on("data", (chunk: Buffer) => {
      // Keep-alive sockets carry many requests: track the latest request line.
      const requestLine = REQUEST_LINE.exec(chunk.toString("latin1", 0, Math.min(chunk.length, 2048)));
      if (requestLine) {
        connection.path = requestLine[1];
        requestBytes = 0;
        const reset = requestResets.findIndex((r) => matches(connection, r.match));
        if (reset >= 0) resetAt = requestResets.splice(reset, 1)[0]!.bytes;
        for (const wake of waiters) wake();
      }
      if (resetAt !== undefined && requestBytes + chunk.length > resetAt) {
        upstream.write(chunk.subarray(0, Math.max(0, resetAt - requestBytes)));
        client.resetAndDestroy();
        upstream.resetAndDestroy();
        return;
      }
      requestBytes += chunk.length;
      upstream.write(chunk);
    });

    upstream.on("data", (chunk: Buffer) => {
      const cut = midFrameCuts.findIndex((m) => matches(connection, m));
      if (cut >= 0) {
        midFrameCuts.splice(cut, 1);
        client.write(chunk.subarray(0, Math.max(1, chunk.length >> 1)), () => client.resetAndDestroy());
        upstream.destroy();
        return;
      }
      if (connection.mode === "stall") return;
      if (connection.mode === "drip") {
        dripQueue.push(chunk);
        return;
      }
      connection.bytesDown += chunk.length;
      client.write(chunk);
    });
    upstream.on("end", () => {
      if (connection.mode !== "stall") client.end();
    });

    dripStarters.set(connection, (intervalMs, bytesPerTick) => {
      clearInterval(dripTimer);
      dripTimer = setInterval(() => {
        for (let i = 0; i < bytesPerTick; i++) {
          const head = dripQueue[0];
          if (!head) return;
          client.write(head.subarray(0, 1));
          connection.bytesDown++;
          if (head.length > 1) dripQueue[0] = head.subarray(1);
          else dripQueue = dripQueue.slice(1);
        }
      }, intervalMs);
    });
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const open = (match?: Match) => connections.filter((c) => !c.closed && matches(c, match));

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    connections,
    open,
    cut(match, options) {
      const hit = open(match);
      for (const c of hit) {
        if (options?.reset) {
          c.client.resetAndDestroy();
          c.upstream.destroy();
        } else {
          c.client.end();
          c.client.destroy();
          c.upstream.destroy();
        }
      }
      return hit.length;
    },
    stall(match) {
      const hit = open(match);
      for (const c of hit) c.mode = "stall";
      return hit.length;
    },
    drip(match, options = {}) {
      const hit = open(match);
      for (const c of hit) {
        c.mode = "drip";
        dripStarters.get(c)?.(options.intervalMs ?? 1, options.bytesPerTick ?? 1);
      }
      return hit.length;
    },
    cutMidFrame(match) {
      midFrameCuts.push(match ?? (() => true));
    },
    resetRequestAfter(bytes, match) {
      requestResets.push({ bytes, match: match ?? (() => true) });
    },
    refuse(ms) {
      refuseUntil = Date.now() + ms;
    },
    waitFor(match, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = open(match)[0];
          if (!found) return false;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no connection matching ${String(match)} within ${timeoutMs} ms`));
        }, timeoutMs);
        if (!check()) waiters.add(check);
      });
    },
    close() {
      for (const c of connections) {
        c.client.destroy();
        c.upstream.destroy();
      }
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
