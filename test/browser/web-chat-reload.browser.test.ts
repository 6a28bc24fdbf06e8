// Reloading the web chat mid-turn (headless Debian Chromium via playwright-core): the page asks
// for the running turn again and shows its whole text once, then the rest live. Two app processes
// run behind a round-robin proxy, so a reload lands either on the process streaming the turn (its
// own replay) or on the one that never saw it (it rebuilds the turn from the opencode server).
// Every turn's page text is compared with the text the server stored.
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumMissing as skipReason, launchChromium } from "../support/chromium.js";
import { startExample, type ExampleProcess } from "../examples/example-process.js";
import { directive, MODEL_ID, PROVIDER_ID, startModelServer, type ModelServer } from "../support/model-server.js";
import { startTestServer, type TestServer } from "../support/opencode.js";
import { startRoundRobinProxy, type RoundRobinProxy } from "../support/round-robin-proxy.js";


let model: ModelServer | undefined;
let server: TestServer | undefined;
const apps: ExampleProcess[] = [];
let proxy: RoundRobinProxy | undefined;
let browser: Browser | undefined;

beforeAll(async () => {
  if (skipReason) {
    console.warn(`skipping the browser test: ${skipReason}`);
    return;
  }
  model = await startModelServer();
  server = await startTestServer({ config: model.providerConfig() });
  // Two app processes on one opencode server, as a deployment with two replicas would run.
  const env = {
    PORT: "0",
    OPENCODE_BASE_URL: server.url,
    OPENCODE_SERVER_USERNAME: server.username,
    OPENCODE_SERVER_PASSWORD: server.password,
    OPENCODE_MODEL: `${PROVIDER_ID}/${MODEL_ID}`,
    BEHIND_LOAD_BALANCER: "1",
  };
  apps.push(startExample("examples/web-chat/server.ts", env), startExample("examples/web-chat/server.ts", env));
  const urls = await Promise.all(apps.map(async (app) => (await app.waitFor(/web chat on (http:\/\/127\.0\.0\.1:\d+) /, { timeoutMs: 45_000 })).match[1]!));
  proxy = await startRoundRobinProxy(urls);
  browser = await launchChromium();
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await proxy?.close();
  await Promise.all(apps.map((app) => app.stop()));
  await server?.close();
  await model?.close();
});

const PART_ONE = "Part one of the answer streams in many small pieces, so a reload can land anywhere in it. ";
const PART_TWO = "Part two comes after the tool call and keeps streaming until the turn ends, one piece at a time.";

/** A prompt whose scripted answer is two text parts (two assistant messages) around a bash call. */
function prompt(turn: number): string {
  return `turn ${turn} ${directive({
    chunkDelayMs: 30,
    steps: [
      { text: PART_ONE, chunks: 45, toolCalls: [{ name: "bash", input: { command: `echo turn-${turn}`, description: "Check" } }] },
      { text: PART_TWO, chunks: 45 },
    ],
  })}`;
}

const assistantText = (page: Page) => page.locator(".msg.assistant").last().locator(":scope > span").allTextContents().then((spans) => spans.join(""));
const state = (page: Page) => page.locator(".msg.assistant").last().getAttribute("data-state");

/** The assistant text the opencode server stored for one turn (the prompt `messageID`), in order. */
async function storedText(sessionID: string, messageID: string): Promise<string> {
  const messages = await server!.client().request("get", "/session/{sessionID}/message", { path: { sessionID } });
  return messages
    .filter((m) => m.info.role === "assistant" && m.info.parentID === messageID)
    .flatMap((m) => m.parts.flatMap((p) => (p.type === "text" ? [p.text] : [])))
    .join("");
}

interface Measure {
  reloads: number;
  /** How long after the reload the page showed text again, ms. */
  shownAfter: number[];
  /** Reloads whose resume request reached the process that never saw the turn. */
  onOtherProcess: number;
  /**
   * Reloads whose page came back while the turn still streamed (a slow load can land after its
   * end); each of them had to show part of the text, then more of it live.
   */
  midTurn: number;
}

/**
 * Sends prompts one after another on one page until `measure` has `reloads` reloads; during each
 * turn, reloads the page at random moments while the turn is still streaming, then checks that the
 * page's text is the server's stored text, character for character.
 */
async function reloadDuringTurns(base: string, reloads: number, measure: Measure): Promise<void> {
  const page = await browser!.newPage({ viewport: { width: 900, height: 720 } });
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  await page.goto(base);
  const full = PART_ONE + PART_TWO;
  for (let turn = 1; measure.reloads < reloads; turn++) {
    if (turn > 12) throw new Error(`only ${measure.reloads} reloads in ${turn - 1} turns`);
    await page.locator("#text").fill(prompt(turn));
    await page.getByRole("button", { name: "Send" }).click();
    await expect.poll(() => assistantText(page), { timeout: 20_000 }).not.toBe("");
    // The page keeps the running turn's ids from its first frame on (the tab keeps its session across reloads).
    const { sessionID, messageID } = await page.evaluate(() => JSON.parse(sessionStorage.getItem("web-chat-turn")!) as { sessionID: string; messageID: string });
    while (measure.reloads < reloads) {
      // A random moment, but only while the turn still has well over a second to run.
      await page.waitForTimeout(100 + Math.random() * 500);
      const shown = (await assistantText(page)).length;
      if (shown > full.length * 0.7 || (await state(page)) !== "streaming") break;
      // Half the time one more request first, so the resume lands on either process whatever
      // number of requests a page load makes (the round robin alternates per request).
      if (proxy && Math.random() < 0.5) await fetch(`${base}/`).then((r) => r.text());
      const servedBefore = proxy?.served.length ?? 0;
      const reloadedAt = Date.now();
      await page.reload();
      await expect.poll(() => assistantText(page), { timeout: 20_000, interval: 20 }).not.toBe("");
      measure.shownAfter.push(Date.now() - reloadedAt);
      measure.reloads++;
      const first = (await assistantText(page)).length;
      if (first < full.length) {
        // Back mid-turn: the text goes on growing, live.
        await expect.poll(async () => (await assistantText(page)).length, { timeout: 20_000, interval: 20 }).toBeGreaterThan(first);
        measure.midTurn++;
      }
      if (proxy) {
        const resume = proxy.served.slice(servedBefore).find((r) => r.path === "/api/replies");
        const prompted = proxy.served.findLast((r, i) => i < servedBefore && r.path === "/api/prompt");
        if (resume && prompted && resume.upstream !== prompted.upstream) measure.onOtherProcess++;
      }
      // What is shown is always a prefix of the whole reply: nothing doubled, nothing skipped.
      expect(full.startsWith(await assistantText(page)), await assistantText(page)).toBe(true);
    }
    await expect.poll(() => state(page), { timeout: 30_000 }).toBe("done");
    const text = await assistantText(page);
    expect(await storedText(sessionID, messageID)).toBe(full);
    expect(text).toBe(full);
    expect(await page.locator(".msg.assistant").count()).toBe(1);
    // After the turn a reload shows it as history (from the session view); the next turn is the page's own again.
    await page.reload();
    await page.locator("#text").waitFor();
  }
  expect(problems).toEqual([]);
  await page.close();
}

describe("web-chat reloaded mid-turn", () => {
  it("two app processes behind a round-robin proxy: 20 reloads at random moments, the whole text once, then live", async (context) => {
    context.skip(skipReason !== undefined, skipReason);
    const measure: Measure = { reloads: 0, shownAfter: [], onOtherProcess: 0, midTurn: 0 };
    const started = Date.now();
    await reloadDuringTurns(proxy!.url, 20, measure);
    console.log(
      `[reload] ${measure.reloads} reloads (${measure.onOtherProcess} resumed on the process that never saw the turn, ${measure.midTurn} came back mid-turn and went on live), text back after ${summary(measure.shownAfter)}, ${Date.now() - started} ms`,
    );
    expect(measure.reloads).toBeGreaterThanOrEqual(20);
    // Both ways of resuming were taken: the process's own replay, and the turn rebuilt from the server.
    expect(measure.onOtherProcess).toBeGreaterThanOrEqual(4);
    expect(measure.reloads - measure.onOtherProcess).toBeGreaterThanOrEqual(4);
    // Nearly every reload came back mid-turn and went on live (checked at each); a load slowed past
    // the turn's end finds the whole text, with nothing left to go on with.
    expect(measure.midTurn).toBeGreaterThanOrEqual(measure.reloads - 2);
  }, 150_000);
});

function summary(ms: number[]): string {
  const sorted = [...ms].sort((a, b) => a - b);
  return `median ${sorted[Math.floor(sorted.length / 2)]} ms, max ${sorted.at(-1)} ms`;
}
