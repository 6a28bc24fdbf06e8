// examples/ai-sdk-chat in a real browser (headless Debian Chromium via playwright-core): the page's
// `useChat` (@ai-sdk/react) reads our UI message stream from a real opencode with the scripted
// model. The text grows in visible steps, the bash call renders as a tool awaiting approval,
// Approve (addToolApprovalResponse) lets the same turn finish. Screenshots in test/output/browser/.
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumMissing as skipReason, launchChromium } from "../support/chromium.js";
import { startExample, type ExampleProcess } from "../examples/example-process.js";

const outputDir = fileURLToPath(new URL("../output/browser/", import.meta.url));

let app: ExampleProcess | undefined;
let serverPids: number[] = [];
let browser: Browser | undefined;

beforeAll(async () => {
  if (skipReason) {
    console.warn(`skipping the browser test: ${skipReason}`);
    return;
  }
  app = startExample("examples/ai-sdk-chat/server.ts", { PORT: "0" });
  await app.waitFor(/ai-sdk chat on http:\/\/127\.0\.0\.1:\d+ /, { timeoutMs: 45_000 });
  serverPids = app.children();
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await app?.stop(serverPids);
});

interface Sample {
  at: number;
  length: number;
  status: string | undefined;
}

/** Records every change of the assistant's visible text length, with useChat's status at the time. */
async function observeAssistantText(page: Page): Promise<void> {
  await page.evaluate(() => {
    const samples: Sample[] = [];
    (window as unknown as { samples: Sample[] }).samples = samples;
    const started = performance.now();
    const root = document.getElementById("root")!;
    new MutationObserver(() => {
      const turn = [...root.querySelectorAll<HTMLElement>(".msg.assistant")].at(-1);
      if (!turn) return;
      const length = [...turn.querySelectorAll(".text")].reduce((sum, span) => sum + (span.textContent ?? "").length, 0);
      const status = root.querySelector<HTMLElement>("main")?.dataset["status"];
      const last = samples.at(-1);
      if (!last || last.length !== length || last.status !== status) samples.push({ at: Math.round(performance.now() - started), length, status });
    }).observe(root, { childList: true, subtree: true, characterData: true, attributes: true });
  });
}

describe("ai-sdk-chat (useChat) in Chromium", () => {
  it("streams the reply visibly, renders the bash call, and approving it finishes the turn", async (context) => {
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
    const base = /ai-sdk chat on (http:\/\/127\.0\.0\.1:\d+)/.exec(app!.output())![1]!;
    await page.goto(base);
    await expect.poll(() => page.title()).toBe("opencode × useChat");
    await page.locator("main[data-status=ready]").waitFor();
    await observeAssistantText(page);

    await page.locator("#text").fill("is everything in order?");
    await page.getByRole("button", { name: "Send" }).click();
    await expect.poll(() => page.locator(".msg.user").textContent()).toBe("is everything in order?");

    const assistant = page.locator(".msg.assistant");
    const tool = assistant.locator(".tool");
    await tool.locator("button", { hasText: "Approve" }).waitFor({ state: "visible", timeout: 30_000 });
    const turnNumber = /^bash approval-requested: echo checked-(\d+)/.exec((await tool.textContent()) ?? "")?.[1];
    expect(turnNumber, (await tool.textContent()) ?? "").toBeDefined();
    expect(await tool.getAttribute("data-state")).toBe("approval-requested");
    // The response paused at the approval: useChat is ready and waits for the answer.
    expect(await page.locator("main").getAttribute("data-status")).toBe("ready");
    mkdirSync(outputDir, { recursive: true });
    await page.screenshot({ path: `${outputDir}ai-sdk-chat-approval.png`, fullPage: true });

    await tool.getByRole("button", { name: "Approve" }).click();
    await expect.poll(() => tool.getAttribute("data-state"), { timeout: 30_000 }).toBe("output-available");
    await expect.poll(() => assistant.locator(".cost").count(), { timeout: 30_000 }).toBe(1);
    await page.locator("main[data-status=ready]").waitFor();

    expect(await tool.textContent()).toBe(`bash output-available: echo checked-${turnNumber}`);
    const texts = await assistant.locator(".text").allTextContents();
    expect(texts).toEqual([
      `Reply ${turnNumber}: let me check that with a quick command.`,
      `The command printed checked-${turnNumber}, so everything is in order.`,
    ]);
    expect(await assistant.locator(".cost").textContent()).toMatch(/^\$\d+\.\d{4}$/);
    await page.screenshot({ path: `${outputDir}ai-sdk-chat.png`, fullPage: true });

    // Token by token: the text grew in several visible steps, spread over time, while streaming.
    const samples = await page.evaluate(() => (window as unknown as { samples: Sample[] }).samples);
    const growing = samples.filter((s) => s.status === "streaming" && s.length > 0);
    // Never shrinking (no text shown twice or lost); the approval's continuation picks up at the same length.
    const lengths = [...new Set(growing.map((s) => s.length))];
    expect(growing.map((s) => s.length), JSON.stringify(samples)).toEqual(growing.map((s) => s.length).sort((a, b) => a - b));
    const firstText = texts[0]!.length;
    expect(lengths.filter((l) => l < firstText).length, JSON.stringify(samples)).toBeGreaterThanOrEqual(3);
    expect(lengths.filter((l) => l > firstText && l < firstText + texts[1]!.length).length, JSON.stringify(samples)).toBeGreaterThanOrEqual(3);
    expect(growing.at(-1)!.at - growing[0]!.at, JSON.stringify(samples)).toBeGreaterThan(200);
    expect(problems).toEqual([]);
    await page.close();
  });
});
