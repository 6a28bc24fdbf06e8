// examples/web-chat/server.ts over HTTP, read the way its page reads it (readReplies): the page and
// its bundled reader are served, a turn streams text, a bash call that asks permission, the
// approval through /api/permission, the result and the rest of the text; a browser leaving
// mid-turn aborts the turn on the server; SIGTERM stops everything.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createParser } from "eventsource-parser";
import { readReplies, type WireReply } from "../../src/browser/index.js";
import { leftBehind, refusesConnections, startExample, type ExampleProcess } from "./example-process.js";

let web: ExampleProcess;
let base: string;
let opencodeUrl: string;
let serverPids: number[] = [];

beforeAll(async () => {
  web = startExample("examples/web-chat/server.ts", { PORT: "0" });
  const { match } = await web.waitFor(/web chat on (http:\/\/127\.0\.0\.1:\d+) \(talking to a local opencode \S+ \(scripted model, (http:\/\/127\.0\.0\.1:\d+)\)\)/, {
    timeoutMs: 45_000,
  });
  base = match[1]!;
  opencodeUrl = match[2]!;
  serverPids = web.children();
}, 60_000);

afterAll(async () => {
  await web?.stop(serverPids);
});

async function newSession(): Promise<string> {
  const response = await fetch(`${base}/api/session`, { method: "POST" });
  expect(response.status).toBe(200);
  const { id } = (await response.json()) as { id: string };
  expect(id).toMatch(/^ses_/);
  return id;
}

function prompt(sessionID: string, text: string, signal?: AbortSignal, file?: { name: string; type: string; dataUrl: string }): Promise<Response> {
  return fetch(`${base}/api/prompt`, { method: "POST", body: JSON.stringify({ sessionID, text, file }), signal: signal ?? null });
}

async function approve(sessionID: string, id: string): Promise<void> {
  const response = await fetch(`${base}/api/permission`, { method: "POST", body: JSON.stringify({ sessionID, id, response: "once" }) });
  expect(response.status).toBe(204);
}

/** Reads a whole turn, approving its permission requests as the page's Approve button does. */
async function runTurn(sessionID: string, text: string, file?: Parameters<typeof prompt>[3]): Promise<{ replies: WireReply[]; states: string[] }> {
  const replies: WireReply[] = [];
  const states: string[] = [];
  const response = await prompt(sessionID, text, AbortSignal.timeout(45_000), file);
  for await (const reply of readReplies(response, { onState: (state) => states.push(state) })) {
    replies.push(reply);
    if (reply.kind === "permission") await approve(sessionID, reply.id);
  }
  return { replies, states };
}

const deltaText = (replies: WireReply[]) => replies.flatMap((r) => (r.kind === "delta" ? [r.text] : [])).join("");

describe("examples/web-chat server", { timeout: 60_000 }, () => {
  it("serves the page and the bundled browser reader", async () => {
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const html = await page.text();
    expect(html).toContain('import { frameId, readReplies } from "/client.js"');
    expect(html).toContain('id="banner"');

    const script = await fetch(`${base}/client.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    const source = await script.text();
    // The bundle is self-contained ESM (no bare imports a browser could not resolve) exporting readReplies.
    expect(source).not.toMatch(/^import /m);
    const bundled = (await import(`data:text/javascript;base64,${Buffer.from(source).toString("base64")}`)) as Record<string, unknown>;
    expect(typeof bundled["readReplies"]).toBe("function");
    expect(typeof bundled["frameId"]).toBe("function");

    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await prompt("ses_unknown", "hi")).status).toBe(404);
  });

  it("an attached text file goes with the prompt and the final names the model that answered; an image this model cannot read is refused", async () => {
    const sessionID = await newSession();
    const note = { name: "note.txt", type: "text/plain", dataUrl: `data:text/plain;base64,${Buffer.from("remember the milk").toString("base64")}` };
    const { replies } = await runTurn(sessionID, "read my note", note);
    const final = replies.at(-1);
    expect(final).toMatchObject({ kind: "final", model: { providerID: "scripted" }, agent: "build" });
    expect(JSON.stringify(replies)).not.toContain("remember the milk");

    const dot = { name: "dot.png", type: "image/png", dataUrl: "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==" };
    const refused = await runTurn(sessionID, "look at this", dot);
    expect(refused.replies.at(-1)).toMatchObject({ kind: "error", error: { name: "UnsupportedAttachmentError" } });
  });

  it("streams text, a bash call that waits for approval, its result and more text, then the final", async () => {
    const sessionID = await newSession();
    const { replies, states } = await runTurn(sessionID, "is everything in order?");
    // The server's shared event stream opens for the turn (and may close after it); it never dropped.
    expect(states).toContain("open");
    expect(states).not.toContain("reconnecting");

    const kinds = replies.map((r) => r.kind);
    const firstTool = kinds.indexOf("tool_call");
    const permission = kinds.indexOf("permission");
    const result = kinds.indexOf("tool_result");
    const final = kinds.indexOf("final");
    expect(final, JSON.stringify(kinds)).toBe(replies.length - 1);
    expect(kinds.slice(0, firstTool).filter((k) => k === "delta").length, "text before the tool came in several deltas").toBeGreaterThanOrEqual(3);
    expect(firstTool).toBeGreaterThan(0);
    expect(permission).toBeGreaterThan(firstTool);
    expect(result).toBeGreaterThan(permission);
    expect(kinds.slice(result, final).filter((k) => k === "delta").length, "text after the tool came in several deltas").toBeGreaterThanOrEqual(3);

    const turnNumber = /^Reply (\d+): /.exec(deltaText(replies))?.[1];
    expect(turnNumber).toBeDefined();
    const command = `echo checked-${turnNumber}`;
    const calls = replies.filter((r) => r.kind === "tool_call");
    expect(calls.every((r) => r.tool === "bash")).toBe(true);
    expect(calls.map((r) => r.status)).toContain("running");
    expect(calls.find((r) => r.status === "running")?.input["command"]).toBe(command);

    const asked = replies[permission]!;
    expect(asked.kind === "permission" && asked.permission).toBe("bash");
    expect(asked.kind === "permission" && asked.patterns).toContain(command);

    const done = replies[result]!;
    expect(done.kind === "tool_result" && done.status).toBe("completed");
    expect(done.kind === "tool_result" && done.output?.trim()).toBe(`checked-${turnNumber}`);

    expect(deltaText(replies)).toBe(
      `Reply ${turnNumber}: let me check that with a quick command.The command printed checked-${turnNumber}, so everything is in order.`,
    );
    const last = replies[final]!;
    expect(last.kind === "final" && last.text).toBe(`The command printed checked-${turnNumber}, so everything is in order.`);
  });

  it("the browser closing the stream mid-turn aborts the turn, and the session takes the next prompt", async () => {
    const sessionID = await newSession();
    const leaving = new AbortController();
    const seen: WireReply[] = [];
    const response = await prompt(sessionID, "start something", leaving.signal);
    for await (const reply of readReplies(response, { signal: leaving.signal })) {
      seen.push(reply);
      // Leave while the turn waits for an approval that will never come: only an abort can end it.
      if (reply.kind === "permission") leaving.abort();
    }
    expect(seen.map((r) => r.kind)).toContain("permission");
    expect(seen.map((r) => r.kind)).not.toContain("final");

    // Turns on one session run one at a time, so this one only starts once the first has ended.
    const started = Date.now();
    const next = await runTurn(sessionID, "and now?");
    const kinds = next.replies.map((r) => r.kind);
    expect(kinds.at(-1), JSON.stringify(next.replies.filter((r) => r.kind === "error"))).toBe("final");
    expect(kinds).toContain("permission");
    const abandonedMessages = new Set(seen.flatMap((r) => ("messageID" in r ? [r.messageID] : [])));
    expect(next.replies.filter((r) => "messageID" in r && abandonedMessages.has(r.messageID))).toEqual([]);
    expect(deltaText(next.replies)).toMatch(/^Reply \d+: let me check that with a quick command\.The command printed checked-\d+, so everything is in order\.$/);
    expect(Date.now() - started).toBeLessThan(25_000);
  });

  it("a question's answer through /api/question lets the turn go on", async () => {
    const sessionID = await newSession();
    const replies: WireReply[] = [];
    for await (const reply of readReplies(await prompt(sessionID, "ask me", AbortSignal.timeout(20_000)))) {
      replies.push(reply);
      if (reply.kind === "question") {
        expect(reply.questions[0]).toMatchObject({ header: "Color", question: "Which color?", options: [{ label: "Red" }, { label: "Blue" }] });
        const answered = await fetch(`${base}/api/question`, { method: "POST", body: JSON.stringify({ sessionID, id: reply.id, answers: [["Red"]] }) });
        expect(answered.status).toBe(204);
      }
    }
    const kinds = replies.map((r) => r.kind);
    expect(kinds).toContain("question");
    expect(replies.find((r) => r.kind === "question_replied")).toMatchObject({ answers: [["Red"]], rejected: false });
    expect(replies.at(-1)).toMatchObject({ kind: "final", text: expect.stringMatching(/^Reply \d+: noted your color\.$/) });
  });

  it("a stream cut mid-turn resumes at /api/replies from its Last-Event-ID: every reply once", async () => {
    const sessionID = await newSession();
    const leaving = new AbortController();
    const first: { id: string; reply: WireReply }[] = [];
    const response = await prompt(sessionID, "start", leaving.signal);
    expect(response.headers.get("opencode-resume")).toBe("/api/replies");
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    const parser = createParser({ onEvent: (m) => m.event === "reply" && first.push({ id: m.id!, reply: JSON.parse(m.data) as WireReply }) });
    while (first.filter((f) => f.reply.kind === "delta").length < 3) {
      const { value, done } = await reader.read();
      if (done) throw new Error("ended early");
      parser.feed(decoder.decode(value, { stream: true }));
    }
    leaving.abort();
    const resumed: WireReply[] = [];
    const again = await fetch(`${base}/api/replies`, { headers: { "last-event-id": first.at(-1)!.id }, signal: AbortSignal.timeout(20_000) });
    for await (const reply of readReplies(again)) {
      resumed.push(reply);
      if (reply.kind === "permission") await approve(sessionID, reply.id);
    }
    const all = [...first.map((f) => f.reply), ...resumed];
    expect(deltaText(all)).toMatch(/^Reply \d+: let me check that with a quick command\.The command printed checked-\d+, so everything is in order\.$/);
    expect(all.at(-1)?.kind).toBe("final");
    expect((await fetch(`${base}/api/replies`, { headers: { "last-event-id": "ses_nope:msg_nope:1" } })).status).toBe(404);
  });

  it("/api/view streams the session as UI messages: its history at once, then a turn run by another request, live", async () => {
    const sessionID = await newSession();
    const first = await runTurn(sessionID, "first turn");
    const view = await fetch(`${base}/api/view?sessionID=${sessionID}`, { signal: AbortSignal.timeout(45_000) });
    expect(view.headers.get("content-type")).toBe("text/event-stream");
    const frames: { status: string; messages: { id: string; role: string; parts: { type: string; text?: string }[] }[] }[] = [];
    const parser = createParser({ onEvent: (event) => frames.push(JSON.parse(event.data)) });
    const reader = view.body!.pipeThrough(new TextDecoderStream()).getReader();
    const readUntil = async (pass: () => boolean) => {
      while (!pass()) {
        const { done, value } = await reader.read();
        if (done) throw new Error("the view stream ended");
        parser.feed(value);
      }
    };
    const texts = (frame: (typeof frames)[number], role: string) =>
      frame.messages.filter((m) => m.role === role).map((m) => m.parts.flatMap((p) => (p.type === "text" ? [p.text] : [])).join(""));
    await readUntil(() => frames.length > 0);
    expect(texts(frames[0]!, "assistant")).toEqual([deltaText(first.replies)]);
    // A turn this view did not start (another request, as another tab would make it) streams in.
    const second = runTurn(sessionID, "second turn");
    await readUntil(() => frames.some((f) => f.status === "busy" && texts(f, "assistant").length === 2 && texts(f, "assistant")[1]!.length > 0));
    const { replies } = await second;
    await readUntil(() => frames.at(-1)!.status === "idle" && texts(frames.at(-1)!, "assistant")[1] === deltaText(replies));
    await reader.cancel();
  });

  it("SIGTERM closes the web server and the local opencode and exits 0", async () => {
    expect(serverPids.length).toBeGreaterThan(0);
    web.child.kill("SIGTERM");
    const exit = await Promise.race([
      web.exited,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`still running 15 s after SIGTERM:\n${web.output()}`)), 15_000)),
    ]);
    expect(exit, web.output()).toEqual({ code: 0, signal: null });
    expect(await refusesConnections(base)).toBe(true);
    expect(await refusesConnections(opencodeUrl)).toBe(true);
    expect(leftBehind(serverPids)).toEqual([]);
  });
});
