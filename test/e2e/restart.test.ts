// The server is killed mid-turn and started again on the same port and data dir.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { createClient, InterruptedError, type OpencodeClient } from "../../src/index.js";
import { startServer, type LocalServer } from "../../src/server/index.js";
import { directive, startModelServer, type ModelServer } from "../support/model-server.js";
import { opencodeBin } from "../support/opencode.js";

const cleanup: (() => Promise<void> | void)[] = [];

/** Starts again on the same port; a port freed a moment ago can still refuse the bind briefly. */
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
afterAll(async () => {
  for (const step of cleanup.reverse()) await step();
});

it("a server restart mid-turn ends the turn with a typed error and the next prompt works", { timeout: 90_000 }, async () => {
  const model: ModelServer = await startModelServer();
  cleanup.push(() => model.close());
  const dataDir = mkdtempSync(join(tmpdir(), "opencode-restart-data-"));
  const project = mkdtempSync(join(tmpdir(), "opencode-restart-project-"));
  cleanup.push(() => {
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(project, { recursive: true, force: true });
  });
  const options = {
    bin: opencodeBin,
    isolated: dataDir,
    cwd: project,
    pure: true,
    password: "restart-pw",
    config: model.providerConfig(),
  };
  const first: LocalServer = await startServer(options);
  const port = Number(new URL(first.url).port);
  let second: LocalServer | undefined;
  cleanup.push(() => first.close(), () => second?.close());
  const client: OpencodeClient = createClient({
    baseUrl: first.url,
    password: "restart-pw",
    logger: {},
    events: { reconnectMaxMs: 1_000 },
  });
  cleanup.push(() => client.close());

  const session = await client.session.create({ title: "restart" });
  const turn = session.prompt(`slow\n${directive({ text: "word ".repeat(80), chunks: 80, chunkDelayMs: 150 })}`);
  let deltas = 0;
  const states: string[] = [];
  client.events.onState((state) => states.push(state));
  const iterated = (async () => {
    for await (const reply of turn) {
      if (reply.kind === "delta" && ++deltas === 3) {
        await first.close();
        second = await restartOn(port, options);
      }
    }
  })().then(
    () => undefined,
    (error: unknown) => error,
  );

  const started = Date.now();
  const outcome = await turn.done.catch((error: unknown) => error);
  expect(await iterated).toBeUndefined();
  expect(states).toContain("reconnecting");
  expect(outcome).toBeInstanceOf(InterruptedError);
  expect((outcome as InterruptedError).partialText.length).toBeGreaterThan(0);
  expect(Date.now() - started).toBeLessThan(60_000);

  const next = await session.run(`again\n${directive({ text: "Alive after the restart." })}`);
  expect(next.text).toBe("Alive after the restart.");
});
