// Serves an http.Server on a free 127.0.0.1 port for tests and closes it for good: its sockets are
// tracked so close() can destroy them, since server.close() alone waits forever for kept-alive
// connections and stalled streams.

import type { Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export interface Loopback {
  port: number;
  /** `http://127.0.0.1:PORT` */
  origin: string;
  /** Sockets the server currently holds open. */
  openSockets(): number;
  close(): Promise<void>;
}

export async function listenOnLoopback(server: Server): Promise<Loopback> {
  const sockets = new Set<Socket>();
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    openSockets: () => sockets.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
