// `client.session.watchAll()` on a real server: sessions appear, update and leave live, newest
// first, with status and pending counts; two projects watched from one client stay apart.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createClient, type OpencodeClient, type SessionsSnapshot, type SessionsView } from "../../src/index.js";
import { directive, startModelServer, type ModelServer } from "../support/model-server.js";
import { startTestServer, type TestServer } from "../support/opencode.js";

let model: ModelServer;
let server: TestServer;
let client: OpencodeClient;
let second: string;

beforeAll(async () => {
  model = await startModelServer();
  server = await startTestServer({ config: model.providerConfig({ permission: { bash: "ask" } }) });
  client = server.client();
  second = mkdtempSync(join(tmpdir(), "opencode-second-project-"));
});
afterAll(async () => {
  await server?.close();
  await model?.close();
  if (second) rmSync(second, { recursive: true, force: true });
});

function until(view: SessionsView, pass: (snap: SessionsSnapshot) => boolean, ms = 15_000): Promise<SessionsSnapshot> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (!pass(view.get())) return;
      clearTimeout(timer);
      off();
      resolve(view.get());
    };
    const timer = setTimeout(() => (off(), reject(new Error(`never: ${JSON.stringify(view.get().sessions.map((e) => e.info.title))}`))), ms);
    const off = view.subscribe(check);
    check();
  });
}

it("sessions appear, update and leave live, newest first, with status and pending counts", async () => {
  const existing = await client.session.create({ title: "existing" });
  await using list = await client.session.watchAll();
  expect(list.get().sessions.map((e) => e.info.id)).toContain(existing.id);
  const other = server.client();
  const created = await other.session.create({ title: "created elsewhere" });
  let snap = await until(list, (s) => s.sessions[0]?.info.id === created.id);
  expect(snap.sessions[0]).toMatchObject({ status: { type: "idle" }, pending: 0 });
  await other.session.get(existing.id).update({ title: "renamed" });
  snap = await until(list, (s) => s.sessions.find((e) => e.info.id === existing.id)?.info.title === "renamed");
  const updated = snap.sessions.map((e) => e.info.time.updated);
  expect(updated).toEqual([...updated].sort((a, b) => b - a));
  // A permission asked in a session shows in the inbox and on the session's count.
  void other.session.get(created.id).run(`ask\n${directive({ toolCalls: [{ name: "bash", input: { command: "echo hi", description: "hi" } }] })}`).catch(() => undefined);
  snap = await until(list, (s) => s.pending.length === 1);
  expect(snap.sessions.find((e) => e.info.id === created.id)).toMatchObject({ status: { type: "busy" }, pending: 1 });
  await other.session.get(created.id).respond(snap.pending[0]!.id, "reject");
  await until(list, (s) => s.pending.length === 0);
  await other.session.get(created.id).delete();
  await until(list, (s) => !s.sessions.some((e) => e.info.id === created.id));
});

it("two projects watched from one client stay apart, each live", async () => {
  await using first = await client.session.watchAll({ directory: server.project });
  await using other = await client.session.watchAll({ directory: second });
  const inSecond = await createClient({ baseUrl: server.url, username: server.username, password: server.password, directory: second, logger: {} }).session.create({ title: "second project" });
  const inFirst = await server.client({ directory: server.project }).session.create({ title: "first project" });
  await until(other, (s) => s.sessions.some((e) => e.info.id === inSecond.id));
  await until(first, (s) => s.sessions.some((e) => e.info.id === inFirst.id));
  // Events were routed by project: neither list shows the other's session, even after a while.
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(first.get().sessions.some((e) => e.info.id === inSecond.id)).toBe(false);
  expect(other.get().sessions.some((e) => e.info.id === inFirst.id)).toBe(false);
  // And a session view with a per-call directory follows that project's stream.
  await using view = await client.session.get(inSecond.id).watch({ directory: second });
  expect(view.get().info?.title).toBe("second project");
});
