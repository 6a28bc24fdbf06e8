// The one-line methods against one real `opencode serve` (scripted model): session handle methods,
// providers/models, agents, config, files and search, per-call options, event-stream routes refused
// by request(), and the server's error `ref` in messages.
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AbortError,
  EventStreamRouteError,
  InternalServerError,
  NotFoundError,
  type OpencodeClient,
  type Reply,
  type RequestPath,
} from "../../src/index.js";
import { directive, MODEL_ID, PROVIDER_ID, startModelServer, type ModelServer } from "../support/model-server.js";
import { startTestServer, type TestServer } from "../support/opencode.js";

function which(command: string): string {
  try {
    return execFileSync("which", [command], { encoding: "utf8" }).trim();
  } catch {
    return "";
  }
}

let model: ModelServer;
let server: TestServer;
let client: OpencodeClient;

beforeAll(async () => {
  model = await startModelServer();
  server = await startTestServer({
    // The provider catalog would otherwise be fetched from models.dev (no network here: a long wait).
    env: { OPENCODE_DISABLE_MODELS_FETCH: "1" },
    config: model.providerConfig({
      command: { greet: { template: `Greet $ARGUMENTS.\n${directive({ text: "Hello there, Ada." })}`, description: "greets someone" } },
    }),
  });
  writeFileSync(join(server.project, "README.md"), "# demo project\nthe needle is here\n");
  mkdirSync(join(server.project, "src"));
  writeFileSync(join(server.project, "src", "app.ts"), "export const answer = 42;\n");
  client = server.client();
});
afterAll(async () => {
  await server?.close();
  await model?.close();
});

describe("client-level one-liners", () => {
  it("lists providers, the models a prompt can name, agents and the config", { timeout: 60_000 }, async () => {
    const providers = await client.provider.list();
    expect(providers.connected).toContain(PROVIDER_ID);
    const models = await client.provider.models();
    expect(models.find((m) => m.id === `${PROVIDER_ID}/${MODEL_ID}`)).toMatchObject({ providerID: PROVIDER_ID, modelID: MODEL_ID, connected: true });
    expect(models.every((m) => m.connected && providers.connected.includes(m.providerID))).toBe(true);
    // The whole catalog also lists providers nobody configured.
    const catalog = await client.provider.models({ all: true });
    expect(catalog.some((m) => !m.connected)).toBe(true);
    expect(catalog.filter((m) => m.connected)).toEqual(models);

    const agents = await client.agent.list();
    expect(agents.map((a) => a.name)).toEqual(expect.arrayContaining(["build", "plan"]));
    const config = await client.config.get();
    expect(Object.keys(config.provider ?? {})).toContain(PROVIDER_ID);
    expect(Object.keys(config.command ?? {})).toContain("greet");
  });

  it("reads and lists project files and searches text, file names and symbols", async () => {
    expect(await client.file.read("README.md")).toMatchObject({ type: "text", content: "# demo project\nthe needle is here" });
    const root = await client.file.list();
    expect(root.map((node) => node.name)).toEqual(expect.arrayContaining(["README.md", "src"]));
    expect((await client.file.list("src")).map((node) => node.path)).toEqual(["src/app.ts"]);
    // The project is not a git repository: nothing is reported as changed.
    expect(await client.file.status()).toEqual([]);

    // opencode searches with the ripgrep on PATH (it would download one otherwise, and tests stay offline).
    expect(which("rg"), "install ripgrep (Debian: apt-get install ripgrep); opencode's /find needs it").toBeTruthy();
    const matches = await client.find.text("needle");
    expect(matches.map((m) => [m.path.text, m.line_number, m.lines.text.trim()])).toEqual([["README.md", 2, "the needle is here"]]);
    expect(await client.find.files("app", { type: "file" })).toContain("src/app.ts");
    // No language server runs for this project (downloads are disabled), so no symbols.
    expect(await client.find.symbols("answer")).toEqual([]);
  });

  it("per-call options: an aborted signal ends the call with AbortError", async () => {
    const signal = AbortSignal.abort();
    await expect(client.agent.list({ signal })).rejects.toBeInstanceOf(AbortError);
    await expect(client.file.read("README.md", { signal })).rejects.toBeInstanceOf(AbortError);
  });

  it("server error messages carry the server's ref", async () => {
    const error = await client.file.list("no/such/dir", { maxRetries: 0 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InternalServerError);
    const { ref, message } = error as InternalServerError;
    expect(ref).toMatch(/^err_[0-9a-f]+$/);
    expect(message).toMatch(/^GET \/file\?path=no%2Fsuch%2Fdir failed with 500: Unexpected server error\. Check server logs for details\. \(ref err_[0-9a-f]+\)$/);
    expect(message).toContain(`(ref ${ref})`);
  });

  it("request() refuses event-stream routes at once, pointing to client.events", async () => {
    for (const path of ["/event", "/global/event"] as const) {
      const started = performance.now();
      // The types already reject these paths; the cast stands for JavaScript callers.
      const error = await client.request("get", path as unknown as RequestPath<"get">).catch((e: unknown) => e);
      expect(performance.now() - started).toBeLessThan(50);
      expect(error).toBeInstanceOf(EventStreamRouteError);
      expect((error as Error).message).toBe(`GET ${path} is a server-sent event stream, which request() cannot read: use client.events.subscribe() instead`);
    }
  });
});

describe("session handle one-liners", () => {
  it("shell, messages with limit, update, diff, todo, revert and unrevert", async () => {
    const session = await client.session.create({ title: "everyday" });
    const turn = session.shell("echo hello-from-shell");
    const replies: Reply[] = [];
    for await (const reply of turn) replies.push(reply);
    const final = await turn.done;
    const tool = replies.find((reply) => reply.kind === "tool_result");
    expect(tool).toMatchObject({ tool: "bash", status: "completed" });
    expect(tool?.kind === "tool_result" ? tool.output : "").toContain("hello-from-shell");

    const all = await session.messages();
    expect(all.map((m) => m.info.role)).toEqual(["user", "assistant"]);
    const newest = await session.messages({ limit: 1 });
    expect(newest.map((m) => m.info.id)).toEqual([final.messageID]);

    const renamed = await session.update({ title: "renamed" });
    expect(renamed.title).toBe("renamed");
    expect(session.info?.title).toBe("renamed");
    expect(await session.diff()).toEqual([]);
    expect(await session.todo()).toEqual([]);

    const userMessageID = all[0]!.info.id;
    const reverted = await session.revert(userMessageID);
    expect(reverted.revert?.messageID).toBe(userMessageID);
    const restored = await session.unrevert();
    expect(restored.revert).toBeUndefined();
  });

  it("command runs a configured slash command through the model", async () => {
    const session = await client.session.create({});
    const final = await session.command("greet", "Ada", { model: `${PROVIDER_ID}/${MODEL_ID}` }).done;
    expect(final.text).toBe("Hello there, Ada.");
  });

  it("summarize compacts the session with the named model", async () => {
    const session = await client.session.create({});
    await session.shell("echo one").done;
    expect(await session.summarize({ model: `${PROVIDER_ID}/${MODEL_ID}` })).toBe(true);
    const roles = (await session.messages()).map((m) => m.info);
    expect(roles.some((info) => info.role === "assistant" && info.summary === true)).toBe(true);
  });

  it("fork copies the session; children lists sessions started from it", async () => {
    const session = await client.session.create({ title: "parent" });
    await session.shell("echo forked").done;
    const fork = await session.fork();
    expect(fork.id).not.toBe(session.id);
    expect((await fork.messages()).map((m) => m.info.role)).toEqual(["user", "assistant"]);

    const child = await client.session.create({ parentID: session.id, title: "child" });
    expect((await session.children()).map((s) => s.id)).toEqual([child.id]);
  });

  it("share and unshare reach the server (sharing is disabled there, so share is refused)", async () => {
    const session = await client.session.create({});
    // With `share: "disabled"` opencode answers 500 (UnknownError) rather than a 4xx.
    const error = await session.share({ maxRetries: 0 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InternalServerError);
    expect((error as InternalServerError).ref).toMatch(/^err_/);
    expect(await session.unshare().then((info) => info.id)).toBe(session.id);
  });

  it("a handle for a missing session rejects with NotFoundError", async () => {
    await expect(client.session.get("ses_missing").todo()).rejects.toBeInstanceOf(NotFoundError);
  });
});
