// The AI SDK's `useChat` (React) on top of opencode: `npx tsx examples/ai-sdk-chat/server.ts`, then
// open the printed URL. The server is the two routes useChat's default transport calls; the page
// (page.tsx) is bundled at startup. With the local scripted model, bash asks for approval first.

import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { build } from "esbuild";
import { UIChats, type ChatRequestBody, type FilePartInput, type Session } from "../../src/node.js";
import { directive } from "../../test/support/model-server.js";
import { connect } from "../shared/connect.js";

const connection = await connect({ config: { permission: { bash: "ask" } } });
const { client } = connection;
const chats = new UIChats();
const sessions = new Map<string, Promise<Session>>(); // useChat's chat id → opencode session

const page = await build({ entryPoints: [new URL("./page.tsx", import.meta.url).pathname], bundle: true, format: "esm", write: false, jsx: "automatic", define: { "process.env.NODE_ENV": '"production"' }, minify: true });
const html = `<!doctype html><meta charset="utf-8"><title>opencode × useChat</title><link rel="icon" href="data:,">
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem}.msg{margin:.8rem 0;padding:.6rem .8rem;border-radius:8px;white-space:pre-wrap}
.user{background:#e8f0fe}.assistant{background:#f4f4f4}.tool,.subagent,.question,.compaction,.retry{font:13px ui-monospace,monospace;color:#555;margin:.3rem 0}
.text{display:block}.subagent,.text.subagent{color:#6a4}.cost{font-size:12px;color:#888}.error{color:#b00020}form{display:flex;gap:.5rem}input{flex:1;padding:.5rem;font:inherit}</style>
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

function sessionFor(chatId: string): Promise<Session> {
  let session = sessions.get(chatId);
  if (!session) sessions.set(chatId, (session = client.session.create({ title: "useChat" })));
  return session;
}

/** A web Response onto a Node response; the browser leaving cancels the body (and so, after a grace time, the turn). */
async function send(response: Response, res: ServerResponse): Promise<void> {
  res.writeHead(response.status, Object.fromEntries(response.headers));
  if (!response.body) return void res.end();
  const reader = response.body.getReader();
  res.on("close", () => void reader.cancel().catch(() => {}));
  for (let r = await reader.read(); !r.done; r = await reader.read()) res.write(r.value);
  res.end();
}

const server = createServer(async (req, res) => {
  try {
    const url = new URL(req.url ?? "/", "http://localhost");
    const resume = /^\/api\/chat\/([^/]+)\/stream$/.exec(url.pathname);
    if (req.method === "GET" && url.pathname === "/") res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(html);
    else if (req.method === "GET" && url.pathname === "/page.js") res.writeHead(200, { "content-type": "text/javascript; charset=utf-8" }).end(page.outputFiles[0]!.text);
    else if (req.method === "POST" && url.pathname === "/api/chat") {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as ChatRequestBody & { id: string };
      const session = await sessionFor(body.id);
      // A new user message starts a turn; approvals (addToolApprovalResponse) continue the running one.
      // Files the user attached in useChat come along as prompt file parts.
      const prompt = (text: string, files: FilePartInput[]) =>
        session.prompt([{ type: "text", text: connection.scripted ? scripted(text) : text }, ...files], connection.model ? { model: connection.model } : {});
      await send(await chats.handle(session, body, prompt), res);
    } else if (req.method === "GET" && resume) {
      const session = sessions.get(decodeURIComponent(resume[1]!));
      await send(session ? chats.resume((await session).id, req.headers["last-event-id"] as string | undefined) : new Response(null, { status: 204 }), res);
    } else res.writeHead(404).end("not found");
  } catch (error) {
    if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
    res.end(String(error));
  }
});

server.listen(Number(process.env["PORT"] ?? 0), "127.0.0.1", () => {
  console.log(`ai-sdk chat on http://127.0.0.1:${(server.address() as AddressInfo).port} (talking to ${connection.describe})`);
});
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    server.close();
    server.closeAllConnections();
    void connection.close().then(() => process.exit(0));
  });
}
