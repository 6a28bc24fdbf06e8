// The web-chat example in a real browser (headless Debian Chromium via playwright-core): a typed
// prompt streams in visibly, the bash call shows its status, Approve in the permission box lets
// the tool complete and the turn finish. Leaves a screenshot in test/output/browser/.
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumMissing as skipReason, launchChromium } from "../support/chromium.js";
import { startExample, type ExampleProcess } from "../examples/example-process.js";

const outputDir = fileURLToPath(new URL("../output/browser/", import.meta.url));
// Locally a machine without Chromium skips; in CI a missing browser must fail, not pass silently.

let web: ExampleProcess | undefined;
let serverPids: number[] = [];
let browser: Browser | undefined;

beforeAll(async () => {
  if (skipReason) {
    // The default reporter does not show skip notes; say it where a reader of the log will see it.
    console.warn(`skipping the browser test: ${skipReason}`);
    return;
  }
  web = startExample("examples/web-chat/server.ts", { PORT: "0" });
  await web.waitFor(/web chat on http:\/\/127\.0\.0\.1:\d+ /, { timeoutMs: 45_000 });
  serverPids = web.children();
  // Playwright gives every launch a fresh temporary profile (--user-data-dir) of its own.
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await web?.stop(serverPids);
});

interface Sample {
  /** ms since observing started */
  at: number;
  /** Length of the assistant's visible text (its text spans, not tool or permission lines). */
  length: number;
  state: string | undefined;
}

/** Records every change of the latest assistant message's text length, as the page renders it. */
async function observeAssistantText(page: Page): Promise<void> {
  await page.evaluate(() => {
    const samples: Sample[] = [];
    (window as unknown as { samples: Sample[] }).samples = samples;
    const started = performance.now();
    const log = document.getElementById("log")!;
    new MutationObserver(() => {
      const turn = [...log.querySelectorAll<HTMLElement>(".msg.assistant")].at(-1);
      if (!turn) return;
      const length = [...turn.querySelectorAll(":scope > span")].reduce((sum, span) => sum + (span.textContent ?? "").length, 0);
      const last = samples.at(-1);
      if (!last || last.length !== length || last.state !== turn.dataset["state"]) {
        samples.push({ at: Math.round(performance.now() - started), length, state: turn.dataset["state"] });
      }
    }).observe(log, { childList: true, subtree: true, characterData: true, attributes: true });
  });
}

describe("web-chat in Chromium", () => {
  it("streams the reply visibly, shows the bash call, and Approve lets the turn finish", async (context) => {
    context.skip(skipReason !== undefined, skipReason);
    const page = await browser!.newPage({ viewport: { width: 900, height: 720 } });
    const problems: string[] = [];
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    page.on("response", (response) => {
      if (response.status() >= 400) problems.push(`${response.status()} for ${response.url()}`);
    });
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(`console error: ${message.text()}`);
    });

    const base = /web chat on (http:\/\/127\.0\.0\.1:\d+)/.exec(web!.output())![1]!;
    await page.goto(base);
    await expect.poll(() => page.title()).toBe("opencode web chat");
    await observeAssistantText(page);

    // The input is enabled once the page has its session; fill() waits for that.
    await page.locator("#text").fill("is everything in order?");
    await page.getByRole("button", { name: "Send" }).click();
    await expect.poll(() => page.locator(".msg.user").textContent()).toBe("is everything in order?");

    // The bash call asks first: its line shows while the permission box waits for an answer.
    const assistant = page.locator(".msg.assistant");
    const permission = assistant.locator(".permission");
    await permission.waitFor({ state: "visible", timeout: 30_000 });
    const tool = assistant.locator(".tool");
    const command = /Allow bash: (echo checked-\d+)\? /.exec((await permission.textContent()) ?? "")?.[1];
    expect(command, (await permission.textContent()) ?? "").toBeDefined();
    expect(await tool.getAttribute("data-status")).toMatch(/^(pending|running)$/);
    expect(await assistant.getAttribute("data-state")).toBe("streaming");
    mkdirSync(outputDir, { recursive: true });
    await page.screenshot({ path: `${outputDir}web-chat-permission.png`, fullPage: true });

    await permission.getByRole("button", { name: "Approve" }).click();
    await expect.poll(() => assistant.getAttribute("data-state"), { timeout: 30_000 }).toBe("done");

    expect(await tool.getAttribute("data-status")).toBe("completed");
    expect(await tool.textContent()).toBe(`bash completed: ${command}`);
    expect(await permission.getAttribute("data-answered")).toBe("once");
    expect(await permission.textContent()).toContain("— approved");
    expect(await permission.getByRole("button", { name: "Approve" }).isDisabled()).toBe(true);
    const turnNumber = /checked-(\d+)/.exec(command!)![1];
    const spans = await assistant.locator(":scope > span").allTextContents();
    expect(spans).toEqual([
      `Reply ${turnNumber}: let me check that with a quick command.`,
      `The command printed checked-${turnNumber}, so everything is in order.`,
    ]);
    expect(await page.locator("#banner").isVisible()).toBe(false);
    await page.screenshot({ path: `${outputDir}web-chat.png`, fullPage: true });

    // Token by token: the text grew in several visible steps, spread over time, before the end.
    const samples = await page.evaluate(() => (window as unknown as { samples: Sample[] }).samples);
    const growing = samples.filter((s) => s.state === "streaming" && s.length > 0);
    const lengths = growing.map((s) => s.length);
    expect(lengths, JSON.stringify(samples)).toEqual([...new Set(lengths)].sort((a, b) => a - b));
    expect(lengths.length, JSON.stringify(samples)).toBeGreaterThanOrEqual(3);
    const beforeFinal = lengths.filter((length) => length < spans.join("").length);
    expect(beforeFinal.length, JSON.stringify(samples)).toBeGreaterThanOrEqual(3);
    expect(growing.at(-1)!.at - growing[0]!.at, JSON.stringify(samples)).toBeGreaterThan(200);
    expect(samples.at(-1)?.state).toBe("done");
    expect(problems).toEqual([]);
    await page.close();
  });

  it("a reload shows the session's history, and a turn prompted from elsewhere shows live (session view)", async (context) => {
    context.skip(skipReason !== undefined, skipReason);
    const page = await openChat();
    await send(page, "delegate the counting");
    await expect.poll(() => page.locator(".msg.assistant").last().getAttribute("data-state"), { timeout: 45_000 }).toBe("done");
    const answered = await page.locator(".msg.assistant").last().locator(":scope > span").allTextContents();

    // Reload: the tab keeps its session and the view brings the finished turn back.
    await page.reload();
    const history = page.locator(".viewed");
    await expect.poll(() => history.count(), { timeout: 15_000 }).toBe(1);
    expect(await history.locator(".said").textContent()).toBe("delegate the counting");
    expect(await history.locator(".answer > span").allTextContents()).toEqual(answered);
    expect(await history.locator(".answer > .tool").textContent()).toBe("task completed");

    // Another client prompts the same session (here: a request the page did not make).
    const sessionID = await page.evaluate(() => sessionStorage.getItem("web-chat-session"));
    const base = /web chat on (http:\/\/127\.0\.0\.1:\d+)/.exec(web!.output())![1]!;
    const elsewhere = await fetch(`${base}/api/prompt`, { method: "POST", body: JSON.stringify({ sessionID, text: "check from a terminal" }) });
    const reader = elsewhere.body!.pipeThrough(new TextDecoderStream()).getReader();
    let wire = "";
    let permission: string | undefined;
    while (permission === undefined) {
      const { done, value } = await reader.read();
      if (done) throw new Error(`the turn ended without asking: ${wire}`);
      wire += value;
      for (const line of wire.split("\n")) {
        if (!line.startsWith("data: ")) continue;
        const reply = JSON.parse(line.slice(6)) as { kind?: string; id?: string };
        if (reply.kind === "permission") permission = reply.id;
      }
    }
    // While it waits for the permission, the page already shows the turn's first text, live.
    const live = page.locator(".viewed").last();
    await expect.poll(() => live.locator(".said").textContent(), { timeout: 15_000 }).toBe("check from a terminal");
    await expect.poll(() => live.locator(".answer > span").first().textContent(), { timeout: 15_000 }).toMatch(/^Reply \d+: let me check that with a quick command\.$/);
    // The view's open request (toUIMessages with pending): the tool waits for its approval.
    await expect.poll(() => live.locator(".answer > .tool").getAttribute("data-status"), { timeout: 15_000 }).toBe("awaiting approval");
    await fetch(`${base}/api/permission`, { method: "POST", body: JSON.stringify({ sessionID, id: permission, response: "once" }) });
    await expect.poll(() => live.locator(".answer > span").allTextContents(), { timeout: 30_000 }).toEqual([
      expect.stringMatching(/^Reply \d+: let me check that with a quick command\.$/),
      expect.stringMatching(/^The command printed checked-\d+, so everything is in order\.$/),
    ]);
    expect(await live.locator(".answer > .tool").getAttribute("data-status")).toBe("completed");
    await reader.cancel();
    await page.screenshot({ path: `${outputDir}web-chat-view.png`, fullPage: true });
    await page.close();
  });

  it("a question shows its options; choosing one answers it and the turn goes on", async (context) => {
    context.skip(skipReason !== undefined, skipReason);
    const page = await openChat();
    await send(page, "ask me something");
    const assistant = page.locator(".msg.assistant").last();
    const question = assistant.locator(".question");
    await question.waitFor({ state: "visible", timeout: 30_000 });
    expect(await question.locator(".ask").textContent()).toBe("Color: Which color?");
    expect(await question.locator("button.option").allTextContents()).toEqual(["Red", "Blue"]);
    await page.screenshot({ path: `${outputDir}web-chat-question.png`, fullPage: true });
    await question.getByRole("button", { name: "Blue" }).click();
    await expect.poll(() => assistant.getAttribute("data-state"), { timeout: 30_000 }).toBe("done");
    expect(await question.getAttribute("data-answered")).toBe("Blue");
    expect(await question.getByRole("button", { name: "Red" }).isDisabled()).toBe(true);
    expect(await assistant.locator(":scope > span").allTextContents()).toEqual([expect.stringMatching(/^Reply \d+: noted your color\.$/)]);
    expect(await assistant.locator(".tool").getAttribute("data-status")).toBe("completed");
    await page.close();
  });

  it("a file attached with the picker goes with the prompt; the reply names the model that answered", async (context) => {
    context.skip(skipReason !== undefined, skipReason);
    const page = await openChat();
    await page.locator("#file").setInputFiles({ name: "note.txt", mimeType: "text/plain", buffer: Buffer.from("remember the milk") });
    await send(page, "read my note");
    await expect.poll(() => page.locator(".msg.user").last().textContent()).toBe("read my note [note.txt]");
    const assistant = page.locator(".msg.assistant").last();
    // The scripted reply runs a bash command, which asks first.
    const permission = assistant.locator(".permission");
    await permission.waitFor({ state: "visible", timeout: 30_000 });
    await permission.getByRole("button", { name: "Approve" }).click();
    await expect.poll(() => assistant.getAttribute("data-state"), { timeout: 30_000 }).toBe("done");
    expect(await assistant.locator(".answered-by").textContent()).toMatch(/^answered by scripted\/\S+ \(build\)$/);
    expect(await assistant.textContent()).not.toContain("remember the milk");
    await page.close();
  });

  it("a sub-agent shows up with its status and its own text, apart from the reply", async (context) => {
    context.skip(skipReason !== undefined, skipReason);
    const page = await openChat();
    await send(page, "delegate the counting");
    const assistant = page.locator(".msg.assistant").last();
    await expect.poll(() => assistant.getAttribute("data-state"), { timeout: 45_000 }).toBe("done");
    const box = assistant.locator(".subagent");
    expect(await box.count()).toBe(1);
    expect(await box.getAttribute("data-status")).toBe("idle");
    expect(await box.locator(".subagent-status").textContent()).toBe("sub-agent general: Count the files — idle");
    expect(await box.locator("span").allTextContents()).toEqual(["Counted: three files."]);
    expect(await assistant.locator(":scope > span").allTextContents()).toEqual([expect.stringMatching(/^Reply \d+: the sub-agent counted three files\.$/)]);
    expect(await assistant.locator(":scope > .tool").textContent()).toBe("task completed");
    await page.screenshot({ path: `${outputDir}web-chat-subagent.png`, fullPage: true });
    await page.close();
  });

  it("shows compaction, and 'reconnecting…' while a dropped stream resumes, with no text lost or doubled", async (context) => {
    context.skip(skipReason !== undefined, skipReason);
    const page = await openChat();
    // The wire, constructed: the first response drops after a compaction and half the text; the
    // resume answers (after a pause) from the Last-Event-ID the page sends.
    const frame = (seq: number, reply: object) => `id: ses_x:msg_x:${seq}\nevent: reply\ndata: ${JSON.stringify({ sessionID: "ses_x", ...reply })}\n\n`;
    const delta = (text: string) => ({ kind: "delta", messageID: "msg_a", partID: "prt_a", text });
    const first = [frame(1, delta("Before ")), frame(2, { kind: "compaction", auto: true, messageID: "msg_c" }), frame(3, delta("and "))].join("");
    const rest = [frame(4, delta("after.")), frame(5, { kind: "final", messageID: "msg_a", text: "Before and after.", finish: "stop", usage: {}, subagentUsage: {} })].join("");
    const resumedFrom: string[] = [];
    await page.route("**/api/prompt", (route) =>
      route.fulfill({ status: 200, headers: { "content-type": "text/event-stream", "opencode-resume": "/api/replies" }, body: first }),
    );
    await page.route("**/api/replies", async (route) => {
      resumedFrom.push((await route.request().headerValue("last-event-id")) ?? "");
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      await route.fulfill({ status: 200, headers: { "content-type": "text/event-stream" }, body: rest });
    });
    await send(page, "anything");
    const banner = page.locator("#banner");
    await expect.poll(() => banner.isVisible(), { timeout: 10_000 }).toBe(true);
    expect(await banner.textContent()).toBe("reconnecting…");
    const assistant = page.locator(".msg.assistant").last();
    await expect.poll(() => assistant.getAttribute("data-state"), { timeout: 10_000 }).toBe("done");
    expect(await banner.isVisible()).toBe(false);
    expect(resumedFrom).toEqual(["ses_x:msg_x:3"]);
    expect(await assistant.locator(".compaction").textContent()).toBe("context compacted (automatic)");
    expect((await assistant.locator(":scope > span").allTextContents()).join("")).toBe("Before and after.");
    await page.close();
  });
});

async function openChat(): Promise<Page> {
  const page = await browser!.newPage({ viewport: { width: 900, height: 720 } });
  const base = /web chat on (http:\/\/127\.0\.0\.1:\d+)/.exec(web!.output())![1]!;
  await page.goto(base);
  await expect.poll(() => page.title()).toBe("opencode web chat");
  return page;
}

async function send(page: Page, text: string): Promise<void> {
  await page.locator("#text").fill(text);
  await page.getByRole("button", { name: "Send" }).click();
}
