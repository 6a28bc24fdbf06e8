// Every ```ts block of the docs pages is a complete program: typechecked as its own module against
// src/ (imports of "opencode-serve-client" map to the source), strict — as the README's are.
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { typecheckSnippets } from "./support/typecheck.js";

const dir = new URL("../docs/", import.meta.url);

function tsBlocks(): Record<string, string> {
  const blocks: Record<string, string> = {};
  for (const page of readdirSync(dir).filter((name) => name.endsWith(".md"))) {
    const markdown = readFileSync(new URL(page, dir), "utf8");
    for (const match of markdown.matchAll(/^```ts\n([\s\S]*?)^```$/gm)) {
      const line = markdown.slice(0, match.index).split("\n").length;
      blocks[`${page.replace(/\.md$/, "")}-line-${line}`] = match[1]!;
    }
  }
  return blocks;
}

describe("docs pages", () => {
  const blocks = tsBlocks();

  it("have ts snippets, each importing what it uses", () => {
    expect(Object.keys(blocks).length).toBeGreaterThan(0);
    for (const [name, code] of Object.entries(blocks)) expect(code, name).toMatch(/^import /m);
  });

  it("every ts snippet typechecks against the source", { timeout: 180_000 }, () => {
    expect(typecheckSnippets(blocks)).toEqual([]);
  });
});
