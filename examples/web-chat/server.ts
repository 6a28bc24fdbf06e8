// A small web chat: a Node server that runs turns and re-broadcasts them to one static page as
// SSE. `npx tsx examples/web-chat/server.ts` then open the printed URL. PORT picks the port.
// With the local scripted server, bash asks for permission (approve/deny), a prompt with "ask"
// makes the agent ask a question with options, one with "delegate" starts a sub-agent; a file can
// be attached (sent inline; one the model cannot read is refused with a typed error). A dropped
// stream reconnects to /api/replies and resumes where it stopped; a reloaded page shows the
// running turn again, and the session's history comes back from a session view (`session.watch()`),
// which also shows live any turn prompted from elsewhere (another tab, a terminal, the TUI). Several of these processes can share one opencode server behind a load
// balancer (set BEHIND_LOAD_BALANCER=1): a reconnect that lands on a process that never saw the
// turn rebuilds it from the opencode server.

import { createServer, type IncomingMessage } from "node:http";
import { readFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { build } from "esbuild";
import {
  attachFromServer,
  NotFoundError,
  pipeResumeToNodeResponse,
  pipeTurnToNodeResponse,
  TurnReplays,
  url as attachment,
  type PartInput,
  type Session,
  toUIMessages,
  type SSEOptions,
  type WireReply,
} from "../../src/node.js";
import { directive } from "../../test/support/model-server.js";
import { connect, explainFailure } from "../shared/connect.js";

const connection = await connect({ config: { permission: { bash: "ask" } }, env: { OPENCODE_ENABLE_QUESTION_TOOL: "1" } }).catch((error: unknown) => {
  console.error(`error: ${explainFailure(error)}`);
  process.exit(1);
});
const { client } = connection;
// Turns this process streams, kept for reconnects; a turn it never saw comes from the server.
const replays = new TurnReplays<WireReply>({ attach: attachFromServer(client.session) });
const sse: SSEOptions = {
  replays,
  connection: client.events,
  resumeUrl: "/api/replies",
  // Behind a load balancer the browser may come back to another process: leaving must not stop the turn.
  abortOnDisconnect: process.env["BEHIND_LOAD_BALANCER"] !== "1",
};

// The page imports the SDK's browser reader; bundle it once at startup (no build step to run).
const bundle = await build({
  entryPoints: [new URL("../../src/browser/index.ts", import.meta.url).pathname],
  bundle: true,
  format: "esm",
  platform: "browser",
  write: false,
});
const clientJs = bundle.outputFiles[0]!.text;
const page = await readFile(new URL("./index.html", import.meta.url), "utf8");

function scripted(text: string, turn: number): string {
  if (/\bask\b/i.test(text)) {
    return `${text}\n${directive({
      steps: [
        { toolCalls: [{ name: "question", input: { questions: [{ header: "Color", question: "Which color?", options: [{ label: "Red", description: "warm" }, { label: "Blue", description: "cool" }] }] } }] },
        { text: `Reply ${turn}: noted your color.`, chunks: 4 },
      ],
    })}`;
  }
  if (/\bdelegate\b/i.test(text)) {
    const child = directive({ text: "Counted: three files.", chunks: 4, chunkDelayMs: 60 });
    return `${text}\n${directive({
      steps: [
        { toolCalls: [{ name: "task", input: { description: "Count the files", prompt: `count them\n${child}`, subagent_type: "general" } }] },
        { text: `Reply ${turn}: the sub-agent counted three files.`, chunks: 4 },
      ],
    })}`;
  }
  return `${text}\n${directive({
    text: `Reply ${turn}: let me check that with a quick command.`,
    chunks: 8,
    chunkDelayMs: 120,
    toolCalls: [{ name: "bash", input: { command: `echo checked-${turn}`, description: "Check" } }],
    then: { text: `The command printed checked-${turn}, so everything is in order.`, chunks: 8 },
  })}`;
}

/** The session, if the opencode server has it (another app process may have created it). */
async function knownSession(id: string): Promise<Session | undefined> {
  try {
    await client.request("get", "/session/{sessionID}", { path: { sessionID: id } });
    return client.session.get(id);
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
}

async function json(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as Record<string, unknown>;
}

let turns = 0;
const server = createServer(async (req, res) => {
  try {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (req.method === "GET" && url.pathname === "/") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(page);
    } else if (req.method === "GET" && url.pathname === "/client.js") {
      res.writeHead(200, { "content-type": "text/javascript; charset=utf-8" }).end(clientJs);
    } else if (req.method === "POST" && url.pathname === "/api/session") {
      const session = await client.session.create({ title: "web chat" });
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ id: session.id }));
    } else if (req.method === "POST" && url.pathname === "/api/prompt") {
      const body = await json(req);
      // Any process of the app may serve any session: the opencode server holds them.
      const session = await knownSession(String(body["sessionID"]));
      if (!session) return void res.writeHead(404).end("unknown session");
      const text = String(body["text"] ?? "");
      const parts: PartInput[] = [{ type: "text", text: connection.scripted ? scripted(text, ++turns) : text }];
      // The page sends an attached file as a data: URL with its name and type.
      const file = body["file"] as { name?: unknown; type?: unknown; dataUrl?: unknown } | undefined;
      if (file && typeof file.dataUrl === "string" && file.dataUrl.startsWith("data:")) {
        parts.push(attachment(file.dataUrl, { mime: String(file.type || "application/octet-stream"), filename: String(file.name ?? "attachment") }));
      }
      const turn = session.prompt(parts, {
        subagents: "all",
        ...(connection.model ? { model: connection.model } : {}),
      });
      // The browser leaving for good aborts the turn; state frames say "reconnecting…"; a dropped
      // stream or a reloaded page comes back to /api/replies with Last-Event-ID.
      await pipeTurnToNodeResponse(turn, res, sse);
    } else if (req.method === "GET" && url.pathname === "/api/view") {
      // The session as a live view: its history, then every change (any client's turn), as UI
      // messages, one SSE frame per batch of changes.
      const session = await knownSession(String(url.searchParams.get("sessionID")));
      if (!session) return void res.writeHead(404).end("unknown session");
      const view = await session.watch({ history: 50 });
      // The page is gone (a reload): the view goes with it.
      if (res.destroyed) return view.close();
      res.on("close", () => view.close());
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      const send = () => {
        const snap = view.get();
        res.write(`data: ${JSON.stringify({ status: snap.status.type, messages: toUIMessages(snap.messages, { interrupted: snap.interrupted, pending: snap.pending }) })}\n\n`);
      };
      send();
      view.subscribe(send);
    } else if (req.method === "GET" && url.pathname === "/api/replies") {
      await pipeResumeToNodeResponse(req, res, sse);
    } else if (req.method === "POST" && url.pathname === "/api/permission") {
      const body = await json(req);
      // Any process of the app may serve any session: the opencode server holds them.
      const session = client.session.get(String(body["sessionID"]));
      await session.respond(String(body["id"]), body["response"] === "reject" ? "reject" : "once");
      res.writeHead(204).end();
    } else if (req.method === "POST" && url.pathname === "/api/question") {
      const body = await json(req);
      // Any process of the app may serve any session: the opencode server holds them.
      const session = client.session.get(String(body["sessionID"]));
      if (Array.isArray(body["answers"])) await session.answer(String(body["id"]), body["answers"] as string[][]);
      else await session.rejectQuestion(String(body["id"]));
      res.writeHead(204).end();
    } else {
      res.writeHead(404).end("not found");
    }
  } catch (error) {
    if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
    res.end(String(error));
  }
});

server.listen(Number(process.env["PORT"] ?? 0), "127.0.0.1", () => {
  const { port } = server.address() as AddressInfo;
  console.log(`web chat on http://127.0.0.1:${port} (talking to ${connection.describe})`);
});

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    server.close();
    server.closeAllConnections();
    void connection.close().then(() => process.exit(0));
  });
}
