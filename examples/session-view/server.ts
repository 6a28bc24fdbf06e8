// A session view in React: `npx tsx examples/session-view/server.ts`, then open the printed URL.
// The page (page.tsx) runs the SDK in the browser and watches its session with
// `session.watch()`; this server only bundles the page, proxies `/opencode/*` to the opencode
// server (adding its credentials), and runs prompts as another client would. Reload the page:
// the history is there. Prompt the session from anywhere else: the page shows that turn live.

import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import { request as httpsRequest } from "node:https";
import type { AddressInfo } from "node:net";
import { build } from "esbuild";
import { directive } from "../../test/support/model-server.js";
import { connect, explainFailure } from "../shared/connect.js";

const connection = await connect({ config: { permission: { bash: "ask" } } }).catch((error: unknown) => {
  console.error(`error: ${explainFailure(error)}`);
  process.exit(1);
});
const { client } = connection;
const upstream = new URL(client.transport.options.baseUrl);

const page = await build({
  entryPoints: [new URL("./page.tsx", import.meta.url).pathname],
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  write: false,
  jsx: "automatic",
  define: { "process.env.NODE_ENV": '"production"' },
});
const html = `<!doctype html><meta charset="utf-8"><title>opencode session view</title><link rel="icon" href="data:,">
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem}.msg{margin:.8rem 0;padding:.6rem .8rem;border-radius:8px;white-space:pre-wrap}
.user{background:#e8f0fe}.assistant{background:#f4f4f4}.tool,.status{font:13px ui-monospace,monospace;color:#555}.pending{border:1px solid #e0c36a;background:#fffbea;padding:.5rem;border-radius:6px}
form{display:flex;gap:.5rem;margin-top:1rem}input{flex:1;padding:.5rem;font:inherit}</style>
<div id="root"></div><script type="module" src="/page.js"></script>`;

let turns = 0;
const scripted = (text: string, n = ++turns) =>
  `${text}\n${directive({
    text: `Reply ${n}: let me check that with a quick command.`,
    chunks: 8,
    chunkDelayMs: 120,
    toolCalls: [{ name: "bash", input: { command: `echo checked-${n}`, description: "Check" } }],
    then: { text: `The command printed checked-${n}, so everything is in order.`, chunks: 8 },
  })}`;

/** Forwards one request to opencode with the server's credentials; streams the answer back (SSE included). */
function proxy(req: IncomingMessage, res: ServerResponse): void {
  const target = new URL(req.url!.slice("/opencode".length) || "/", upstream);
  const headers = { ...req.headers, ...client.transport.headers(), host: target.host };
  const forward = (target.protocol === "https:" ? httpsRequest : httpRequest)(target, { method: req.method, headers }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  forward.on("error", (error) => {
    if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
    res.end(String(error.message));
  });
  // The browser went away (a reload, a closed tab): so does the upstream request. (The request's
  // own "close" fires as soon as its body is read, which for a GET is at once.)
  res.on("close", () => forward.destroy());
  req.pipe(forward);
}

async function json(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as Record<string, unknown>;
}

const server = createServer(async (req, res) => {
  try {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (url.pathname.startsWith("/opencode/")) return proxy(req, res);
    if (req.method === "GET" && url.pathname === "/") return void res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(html);
    if (req.method === "GET" && url.pathname === "/page.js") return void res.writeHead(200, { "content-type": "text/javascript" }).end(page.outputFiles[0]!.text);
    if (req.method === "POST" && url.pathname === "/api/session") {
      const session = await client.session.create({ title: "session view" });
      return void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ id: session.id }));
    }
    if (req.method === "POST" && url.pathname === "/api/prompt") {
      const body = await json(req);
      const text = String(body["text"] ?? "");
      // Runs on its own: the page learns of it from its view, as of any other client's turn.
      void client.session
        .get(String(body["sessionID"]))
        .run(connection.scripted ? scripted(text) : text, connection.model ? { model: connection.model } : {})
        .catch((error: unknown) => console.error(`turn failed: ${String(error)}`));
      return void res.writeHead(202).end();
    }
    res.writeHead(404).end("not found");
  } catch (error) {
    if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
    res.end(String(error));
  }
});

server.listen(Number(process.env["PORT"] ?? 0), "127.0.0.1", () => {
  const { port } = server.address() as AddressInfo;
  console.log(`session view on http://127.0.0.1:${port} (talking to ${connection.describe})`);
});

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    server.close();
    server.closeAllConnections();
    void connection.close().then(() => process.exit(0));
  });
}
