// `npm run demo` as a user runs it with nothing configured: it starts its own opencode with the
// scripted model, streams one turn with reasoning, a bash tool call and text, prints the usage,
// exits 0, and leaves no server behind.
import { afterAll, describe, expect, it } from "vitest";
import { leftBehind, refusesConnections, startExample, type ExampleProcess } from "./example-process.js";

let demo: ExampleProcess | undefined;
let opencodePids: number[] = [];

afterAll(async () => {
  await demo?.stop(opencodePids);
});

describe("examples/demo", () => {
  it("streams reasoning, a bash call and text, prints usage and cost, exits 0 and stops its server", async () => {
    const started = Date.now();
    demo = startExample("examples/demo/main.ts");
    const { match } = await demo.waitFor(/connected to a local opencode \S+ \(scripted model, (http:\/\/127\.0\.0\.1:\d+)\)/, { timeoutMs: 45_000 });
    const serverUrl = match[1]!;
    // The server is running now, as a child of the demo.
    opencodePids = demo.children();
    expect(opencodePids.length).toBeGreaterThan(0);

    const exit = await Promise.race([
      demo.exited,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`demo still running after 60 s:\n${demo?.output()}`)), 60_000)),
    ]);
    const output = demo.output();
    expect(exit, output).toEqual({ code: 0, signal: null });
    expect(Date.now() - started).toBeLessThan(60_000);

    const lines = output.split("\n");
    const at = (pattern: RegExp) => lines.findIndex((line) => pattern.test(line));
    // The scripted reasoning, then the tool's statuses in order, then the answer built from its output.
    const reasoning = at(/^The user wants to know what is in the project\. I will list the files with bash, then summarize\.$/);
    const firstText = at(/^Let me look at the project files\.$/);
    const pending = at(/^⚙ bash pending$/);
    const running = at(/^⚙ bash running: echo README\.md && echo src\/ && echo package\.json$/);
    const completed = at(/^⚙ bash completed → README\.md \| src\/ \| package\.json$/);
    const answer = at(/^The project has a README\.md, a src\/ directory and a package\.json: a small TypeScript package\.$/);
    const final = at(/^done \(stop\): \d+ in \/ \d+ out \/ \d+ reasoning \/ \d+ cache read tokens, cost \$\d+\.\d{6}$/);
    // One line per status, though a running bash reports each time its output grows.
    expect(lines.filter((line) => line.startsWith("⚙ bash running"))).toHaveLength(1);
    for (const [name, index] of Object.entries({ reasoning, firstText, pending, running, completed, answer, final })) {
      expect(index, `${name} line missing in:\n${output}`).toBeGreaterThanOrEqual(0);
    }
    expect([reasoning, firstText, pending, running, completed, answer, final]).toEqual(
      [...[reasoning, firstText, pending, running, completed, answer, final]].sort((a, b) => a - b),
    );
    // The connect() model prices tokens, so the cost is real, not zero.
    const usage = /(\d+) in \/ (\d+) out .* cost \$(\d+\.\d+)$/.exec(lines[final]!)!;
    expect(Number(usage[1])).toBeGreaterThan(0);
    expect(Number(usage[2])).toBeGreaterThan(0);
    expect(Number(usage[3])).toBeGreaterThan(0);
    expect(output).not.toMatch(/error:/);

    // Nothing left: the port is closed and no child (nor anything in its process group) runs.
    expect(await refusesConnections(serverUrl)).toBe(true);
    expect(leftBehind(opencodePids)).toEqual([]);
  }, 90_000);
});
