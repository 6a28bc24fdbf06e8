// Testing an app built on the SDK with `opencode-serve-client/testing`: a real `opencode serve`
// whose model follows a script in the prompt — no API key, no network. Run: `npx vitest run`.
// In your project the imports are "opencode-serve-client" and "opencode-serve-client/testing".
import { afterAll, beforeAll, expect, it } from "vitest";
import { ProviderAuthError } from "../../src/node.js";
import { directive, startTestServer, type TestServer } from "../../src/testing/index.js";
import { ask } from "./app.js";

let t: TestServer;
// A real server's first turn takes a few seconds: more than vitest's default 5 s per test.
const turnTimeout = { timeout: 30_000 };
beforeAll(async () => {
  // bash asks for permission, so the app's permission rule is exercised.
  t = await startTestServer({ config: { permission: { bash: "ask" } } });
}, 60_000);
afterAll(() => t?.close());

it("returns the agent's answer", turnTimeout, async () => {
  const session = await t.client.session.create({});
  const answer = await ask(session, `What is 2 + 2?\n${directive({ text: "It is 4." })}`);
  expect(answer).toEqual({ text: "It is 4.", refused: [] });
});

it("refuses the agent's shell commands", turnTimeout, async () => {
  const session = await t.client.session.create({});
  const script = directive({ text: "Let me check.", toolCalls: [{ name: "bash", input: { command: "rm -rf build", description: "clean" } }] });
  const answer = await ask(session, `Clean the build.\n${script}`);
  expect(answer).toEqual({ text: "Let me check.", refused: ["rm -rf build"] });
});

it("a provider failure reaches the caller as its typed error", turnTimeout, async () => {
  const session = await t.client.session.create({});
  await expect(ask(session, `Hi\n${directive({ error: { status: 401, message: "invalid x-api-key" } })}`)).rejects.toBeInstanceOf(ProviderAuthError);
});
