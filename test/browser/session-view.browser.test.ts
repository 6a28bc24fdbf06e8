// The React session-view example in a real browser (headless Debian Chromium): the SDK runs in the
// page and watches its session through the app's proxy; a turn the app's server starts (to the page,
// a turn from elsewhere) streams in live, its permission shows in `pending` and is answered from
// the page, and a reload brings the whole history back.
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
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
  app = startExample("examples/session-view/server.ts", { PORT: "0" });
  await app.waitFor(/session view on http:\/\/127\.0\.0\.1:\d+ /, { timeoutMs: 45_000 });
  serverPids = app.children();
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await app?.stop(serverPids);
});

it("a turn started elsewhere streams in live, its permission is answered from pending, and a reload shows the history", async (context) => {
  context.skip(skipReason !== undefined, skipReason);
  const page = await browser!.newPage({ viewport: { width: 900, height: 720 } });
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  const base = /session view on (http:\/\/127\.0\.0\.1:\d+)/.exec(app!.output())![1]!;
  await page.goto(base);
  await page.locator(".status").waitFor({ timeout: 20_000 });
  await page.locator("input").fill("is everything in order?");
  await page.getByRole("button", { name: "Send" }).click();

  const reply = page.locator(".msg.assistant").first();
  await expect.poll(() => reply.locator(".text").first().textContent(), { timeout: 30_000 }).toMatch(/^Reply 1: let me check/);
  const pending = page.locator(".pending");
  await pending.waitFor({ timeout: 30_000 });
  expect(await pending.textContent()).toContain("Allow bash: echo checked-1?");
  expect(await page.locator(".status").getAttribute("data-status")).toBe("busy");
  await pending.getByRole("button", { name: "Approve" }).click();
  await expect.poll(() => page.locator(".status").getAttribute("data-status"), { timeout: 30_000 }).toBe("idle");
  await expect.poll(() => page.locator(".msg.assistant .text").allTextContents()).toEqual([
    "Reply 1: let me check that with a quick command.",
    "The command printed checked-1, so everything is in order.",
  ]);
  expect(await pending.count()).toBe(0);
  expect(await page.locator(".tool").last().getAttribute("data-status")).toBe("completed");

  await page.reload();
  await expect.poll(() => page.locator(".msg.assistant .text").allTextContents(), { timeout: 20_000 }).toEqual([
    "Reply 1: let me check that with a quick command.",
    "The command printed checked-1, so everything is in order.",
  ]);
  expect(await page.locator(".msg.user .text").first().textContent()).toBe("is everything in order?");
  mkdirSync(outputDir, { recursive: true });
  await page.screenshot({ path: `${outputDir}session-view.png`, fullPage: true });
  expect(problems).toEqual([]);
  await page.close();
});
