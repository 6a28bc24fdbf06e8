// A session view across a server killed and restarted mid-turn, and across an instance disposal
// (`PATCH /config`): the view re-reads, ends as the server stores the session, and a tool the dead
// run left "running" is shown as interrupted instead of running forever.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { createClient, type SessionSnapshot, type SessionView } from "../../src/index.js";
import { startServer, type LocalServer } from "../../src/server/index.js";
import { directive, startModelServer, type ModelServer } from "../support/model-server.js";
import { opencodeBin, startTestServer } from "../support/opencode.js";

const cleanup: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const step of cleanup.reverse()) await step();
});

function until(view: SessionView, pass: (snap: SessionSnapshot) => boolean, ms = 30_000): Promise<SessionSnapshot> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (!pass(view.get())) return;
      clearTimeout(timer);
      off();
      resolve(view.get());
    };
    const timer = setTimeout(() => (off(), reject(new Error(`never: ${view.get().status.type}`))), ms);
    const off = view.subscribe(check);
    check();
  });
}

async function restartOn(port: number, options: Parameters<typeof startServer>[0]): Promise<LocalServer> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await startServer({ ...options, port });
    } catch (error) {
      if (attempt >= 5) throw error;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  }
}

it("killed and restarted mid-tool: the view re-reads, the tool shows interrupted, and it ends as stored", { timeout: 90_000 }, async () => {
  const model: ModelServer = await startModelServer();
  cleanup.push(() => model.close());
  const dataDir = mkdtempSync(join(tmpdir(), "opencode-view-restart-data-"));
  const project = mkdtempSync(join(tmpdir(), "opencode-view-restart-project-"));
  cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }), () => rmSync(project, { recursive: true, force: true }));
  const options = { bin: opencodeBin, isolated: dataDir, cwd: project, pure: true, password: "view-restart", config: model.providerConfig() };
  const first = await startServer(options);
  let second: LocalServer | undefined;
  cleanup.push(() => first.close(), () => second?.close());
  const client = createClient({ baseUrl: first.url, password: "view-restart", logger: {}, events: { reconnectInitialMs: 100, reconnectMaxMs: 500 } });
  cleanup.push(() => client.close());

  const session = await client.session.create({});
  await using view = await session.watch();
  void session.run(`sleep\n${directive({ toolCalls: [{ name: "bash", input: { command: "sleep 30", description: "wait" } }] })}`).catch(() => undefined);
  const running = await until(view, (s) => s.messages.some((m) => m.parts.some((p) => p.type === "tool" && p.state.status === "running")));
  const tool = running.messages.flatMap((m) => m.parts).find((p) => p.type === "tool")!;
  expect(running.interrupted.has(tool.id)).toBe(false);

  await first.close();
  second = await restartOn(Number(new URL(first.url).port), options);
  const after = await until(view, (s) => s.status.type === "idle" && s.interrupted.has(tool.id));
  expect(after.messages).toEqual(await session.messages());
});

it("an instance disposal (PATCH /config) mid-turn: the view re-reads and stays equal to the server", { timeout: 60_000 }, async () => {
  const model = await startModelServer();
  cleanup.push(() => model.close());
  const server = await startTestServer({ config: model.providerConfig() });
  cleanup.push(() => server.close());
  const client = server.client({ events: { reconnectInitialMs: 100, reconnectMaxMs: 500 } });
  const session = await client.session.create({});
  await using view = await session.watch();
  const words = Array.from({ length: 40 }, (_, i) => `d${i}`).join(" ");
  const done = session.run(`dispose\n${directive({ text: words, chunks: 40, chunkDelayMs: 50 })}`).catch((error: unknown) => error);
  await until(view, (s) => s.status.type === "busy" && s.messages.some((m) => m.parts.some((p) => p.type === "text" && p.text.length > 0 && m.info.role === "assistant")));
  await client.request("patch", "/config", { body: {} });
  await done;
  const deadline = Date.now() + 20_000;
  for (;;) {
    const snap = await until(view, (s) => s.status.type === "idle");
    const stored = await session.messages();
    try {
      expect(snap.messages).toEqual(stored);
      break;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  }
});
