// A real loopback HTTP server whose answers come from msw handlers. msw cannot intercept the
// npm undici Agent (it patches http/fetch only), so the SDK talks over a real socket to this.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { getResponse, type RequestHandler } from "msw";
import { listenOnLoopback } from "./loopback.js";

export interface RecordedRequest {
  method: string;
  url: URL;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface MswServer {
  /** `http://127.0.0.1:PORT` */
  url: string;
  requests: RecordedRequest[];
  use(...handlers: RequestHandler[]): void;
  reset(...handlers: RequestHandler[]): void;
  close(): Promise<void>;
}

/** Starts the server on a free loopback port. A handler answering `HttpResponse.error()` drops the connection. */
export async function startMswServer(...initial: RequestHandler[]): Promise<MswServer> {
  let handlers = [...initial];
  const requests: RecordedRequest[] = [];

  const server: Server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req);
    const url = new URL(req.url ?? "/", `http://${req.headers.host ?? "127.0.0.1"}`);
    requests.push({ method: req.method ?? "GET", url, headers: req.headers, body });
    const request = new Request(url, {
      method: req.method,
      headers: Object.entries(req.headers).flatMap(([k, v]) => (v === undefined ? [] : [[k, String(v)] as [string, string]])),
      body: body && req.method !== "GET" && req.method !== "HEAD" ? body : undefined,
    });
    const response = await getResponse(handlers, request);
    if (!response) {
      res.writeHead(599, { "content-type": "text/plain" }).end(`no msw handler for ${req.method} ${url.pathname}`);
      return;
    }
    if (response.type === "error") {
      req.socket.destroy();
      return;
    }
    res.writeHead(response.status, Object.fromEntries(response.headers));
    if (!response.body) return void res.end();
    const reader = response.body.getReader();
    res.on("close", () => void reader.cancel().catch(() => {}));
    for (;;) {
      const { done, value } = await reader.read().catch(() => ({ done: true as const, value: undefined }));
      if (done) break;
      res.write(value);
    }
    res.end();
  });
  const loopback = await listenOnLoopback(server);

  return {
    url: loopback.origin,
    requests,
    use: (...more) => void handlers.unshift(...more),
    reset: (...next) => {
      handlers = [...next];
      requests.length = 0;
    },
    close: loopback.close,
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}
