// A small HTTP load balancer for tests: each request goes to the next of several upstream app
// servers in turn (round robin), bodies streamed both ways, loopback only. It records which
// upstream served each request, so a test can show that a reconnect landed on the other process.

import { createServer, request, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface RoundRobinProxy {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** Every request so far: method, path, and the index of the upstream that served it. */
  served: { method: string; path: string; upstream: number }[];
  close(): Promise<void>;
}

export async function startRoundRobinProxy(upstreams: string[]): Promise<RoundRobinProxy> {
  const targets = upstreams.map((upstream) => new URL(upstream));
  for (const target of targets) {
    if (target.hostname !== "127.0.0.1" && target.hostname !== "[::1]") throw new Error(`the test proxy forwards to loopback only, not ${target.host}`);
  }
  const served: RoundRobinProxy["served"] = [];
  let next = 0;
  const server: Server = createServer((incoming: IncomingMessage, outgoing) => {
    const upstream = next++ % targets.length;
    const target = targets[upstream]!;
    served.push({ method: incoming.method ?? "GET", path: incoming.url ?? "/", upstream });
    const forward = request(
      { host: target.hostname, port: target.port, method: incoming.method, path: incoming.url, headers: { ...incoming.headers, host: target.host } },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        // Event streams must reach the browser frame by frame.
        outgoing.flushHeaders();
        answer.pipe(outgoing);
      },
    );
    forward.on("error", () => {
      if (!outgoing.headersSent) outgoing.writeHead(502);
      outgoing.end();
    });
    // The browser went away (a reload): the upstream sees its connection close too.
    outgoing.on("close", () => forward.destroy());
    incoming.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    served,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
