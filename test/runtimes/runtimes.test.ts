// The whole client outside Node, against a real `opencode serve` and the scripted model: in
// headless Chromium (the client bundled by esbuild for the browser, on a page of another origin
// admitted with `--cors`, basic auth from the browser), and under Deno and Bun (their npm packages'
// binaries, loading our TypeScript with their own loaders and fetch). Each creates a session,
// streams a turn whose bash call asks a permission, answers it, and sees the turn complete.

import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumMissing as noChromium, launchChromium } from "../support/chromium.js";
import { listenOnLoopback, type Loopback } from "../support/loopback.js";
import { directive, startModelServer, type ModelServer } from "../support/model-server.js";
import { startTestServer, type TestServer } from "../support/opencode.js";
import type { ScenarioInput, ScenarioResult } from "./scenario.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
// Locally a machine without Chromium skips that one test; in CI a missing browser must fail.

let model: ModelServer;
let server: TestServer;
let page: Loopback;
let browser: Browser | undefined;

beforeAll(async () => {
  // The page's own origin, which the opencode server must admit for the browser's fetches.
  const bundle = await build({
    entryPoints: [fileURLToPath(new URL("browser-entry.ts", import.meta.url))],
    bundle: true,
    format: "esm",
    platform: "browser",
    write: false,
    logLevel: "silent",
  });
  const script = bundle.outputFiles[0]!.text;
  page = await listenOnLoopback(
    createServer((req, res) => {
      if (req.url === "/client.js") res.writeHead(200, { "content-type": "text/javascript" }).end(script);
      else res.writeHead(200, { "content-type": "text/html" }).end('<!doctype html><title>runtime</title><script type="module" src="/client.js"></script>');
    }),
  );
  model = await startModelServer();
  server = await startTestServer({
    config: model.providerConfig({ permission: { bash: "ask" } }),
    args: ["--cors", page.origin],
  });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await model?.close();
  await page?.close();
});

function input(name: string): ScenarioInput {
  return {
    baseUrl: server.url,
    username: server.username,
    password: server.password,
    prompt: `check from ${name}\n${directive({
      text: `Checking from ${name}.`,
      toolCalls: [{ name: "bash", input: { command: `echo ran-in-${name}`, description: "Check" } }],
      then: { text: `The command printed ran-in-${name}.` },
    })}`,
  };
}

function expectCompleted(result: ScenarioResult, name: string): void {
  expect(result.error, JSON.stringify(result)).toBeUndefined();
  expect(result.tool).toBe("bash");
  expect(result.permission).toBe("bash");
  expect(result.toolStatus).toBe("completed");
  expect(result.toolOutput).toContain(`ran-in-${name}`);
  expect(result.finalText).toBe(`The command printed ran-in-${name}.`);
  // The permission came before the tool's result, the final reply last.
  expect(result.kinds.indexOf("permission")).toBeLessThan(result.kinds.indexOf("tool_result"));
  expect(result.kinds.at(-1)).toBe("final");
}

/** Runs the scenario under a runtime binary and parses its one JSON line. */
function runCli(command: string, args: string[], name: string): Promise<ScenarioResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args, JSON.stringify(input(name))], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (text: string) => (stdout += text));
    child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text));
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      const line = stdout.trim().split("\n").at(-1) ?? "";
      try {
        resolve(JSON.parse(line) as ScenarioResult);
      } catch {
        reject(new Error(`${name} exited ${code} without a result:\n${stdout}\n${stderr}`));
      }
    });
  });
}

describe("the client outside Node, against a real opencode serve", () => {
  it("headless Chromium: the browser bundle streams a turn, answers the permission, completes", async (context) => {
    context.skip(noChromium !== undefined, noChromium);
    browser = await launchChromium();
    const tab = await browser.newPage();
    const problems: string[] = [];
    tab.on("pageerror", (error) => problems.push(error.message));
    await tab.goto(page.origin);
    await tab.waitForFunction(() => "runScenario" in globalThis);
    const result = await tab.evaluate(
      (scenario) => (globalThis as unknown as { runScenario(i: ScenarioInput): Promise<ScenarioResult> }).runScenario(scenario),
      input("chromium"),
    );
    expectCompleted(result, "chromium");
    expect(problems).toEqual([]);
  });

  it("Deno: the TypeScript sources under deno run stream a turn, answer the permission, complete", async () => {
    const deno = `${ROOT}node_modules/.bin/deno`;
    // --sloppy-imports: our sources import "./x.js" for "./x.ts", as tsc's NodeNext wants.
    expectCompleted(await runCli(deno, ["run", "--allow-net", "--allow-env", "--allow-read", "--sloppy-imports", "test/runtimes/cli-entry.ts"], "deno"), "deno");
  });

  it("Bun: the TypeScript sources under bun stream a turn, answer the permission, complete", async () => {
    expectCompleted(await runCli(`${ROOT}node_modules/.bin/bun`, ["test/runtimes/cli-entry.ts"], "bun"), "bun");
  });
});
