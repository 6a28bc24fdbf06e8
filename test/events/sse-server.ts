// A scripted loopback `/event` server for the event-layer tests: each incoming `/event` connection
// is handed to the test, which writes frames, stalls, ends or answers with an error status. Any
// other request (the watchdog's health check) is counted and answered as `health` says.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { listenOnLoopback } from "../support/loopback.js";

export interface SseConnection {
  /** 0 for the first connection, 1 for the next… */
  index: number;
  /** When the request arrived (Date.now()). */
  at: number;
  req: IncomingMessage;
  res: ServerResponse;
  /** Sends 200 with event-stream headers (done by `send` if not yet). */
  open(): void;
  /** Writes one `data:` frame with the event as JSON. */
  send(event: object): void;
  /** Writes raw bytes. */
  write(raw: string | Uint8Array): void;
  /** Resolves when the client's socket for this connection closes. */
  closed: Promise<void>;
  isClosed(): boolean;
}

export interface SseServer {
  url: string;
  connections: SseConnection[];
  /** Resolves with connection number `index` once it arrives. */
  connection(index: number): Promise<SseConnection>;
  /** Sockets the server currently holds open. */
  openSockets(): number;
  /** Requests to paths other than `/event`, in order. */
  otherRequests: string[];
  /** How those are answered: "ok" (200 JSON, the default) or "hang" (never). */
  health: "ok" | "hang";
  close(): Promise<void>;
}

export const connected = (n = 0) => ({ id: `evt_connected_${n}`, type: "server.connected", properties: {} });

/** `onConnection` runs for each request; the default opens the stream and sends `server.connected`. */
export async function startSseServer(
  onConnection: (connection: SseConnection) => void = (c) => c.send(connected(c.index)),
): Promise<SseServer> {
  const connections: SseConnection[] = [];
  const waiting = new Map<number, (connection: SseConnection) => void>();
  const server: Server = createServer((req, res) => {
    if (!req.url?.startsWith("/event")) {
      sse.otherRequests.push(req.url ?? "");
      if (sse.health === "ok") res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ healthy: true, version: "1.18.33" }));
      return;
    }
    let closed = false;
    const connection: SseConnection = {
      index: connections.length,
      at: Date.now(),
      req,
      res,
      open() {
        if (!res.headersSent) res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
        res.flushHeaders();
      },
      send(event) {
        connection.open();
        res.write(`data: ${JSON.stringify(event)}\n\n`);
      },
      write(raw) {
        connection.open();
        res.write(raw);
      },
      closed: new Promise<void>((resolve) =>
        res.once("close", () => {
          closed = true;
          resolve();
        }),
      ),
      isClosed: () => closed,
    };
    connections.push(connection);
    onConnection(connection);
    waiting.get(connection.index)?.(connection);
  });
  const loopback = await listenOnLoopback(server);
  const sse: SseServer = {
    url: loopback.origin,
    connections,
    connection: (index) =>
      connections[index] ? Promise.resolve(connections[index]!) : new Promise((resolve) => waiting.set(index, resolve)),
    openSockets: loopback.openSockets,
    otherRequests: [],
    health: "ok",
    close: loopback.close,
  };
  return sse;
}
