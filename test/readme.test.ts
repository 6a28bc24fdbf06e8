// Every ```ts block of the README and of docs/*.md is a complete program a user can paste: each is
// typechecked as its own module against src/ (imports of "opencode-serve-client" map to the
// source), strict.
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { typecheckSnippets } from "./support/typecheck.js";

const root = new URL("..", import.meta.url);
const pages = ["README.md", ...readdirSync(new URL("docs/", root)).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];

/** The ```ts blocks of one page (also ```ts run), named after the page and the line they start on. */
function tsBlocks(page: string): Record<string, string> {
  const markdown = readFileSync(new URL(page, root), "utf8");
  const blocks: Record<string, string> = {};
  for (const match of markdown.matchAll(/^```ts(?: run)?\n([\s\S]*?)^```$/gm)) {
    const line = markdown.slice(0, match.index).split("\n").length;
    blocks[`${page.replace(/\W+/g, "-")}-line-${line}`] = match[1]!;
  }
  return blocks;
}

describe("README and docs snippets", () => {
  const blocks = Object.assign({}, ...pages.map(tsBlocks)) as Record<string, string>;

  it("has the ts snippets this test is meant to check", () => {
    expect(Object.keys(tsBlocks("README.md")).length).toBeGreaterThanOrEqual(3);
    expect(Object.keys(blocks).length).toBeGreaterThanOrEqual(15);
  });

  it("every ts snippet is complete: imports what it uses, no placeholders, no top-level return", () => {
    for (const [name, code] of Object.entries(blocks)) {
      expect(code, name).toMatch(/^import /m);
      expect(code, name).not.toMatch(/\{ … \}|\{ \.\.\. \}/);
      expect(code, name).not.toMatch(/^return\b/m);
    }
  });

  it("every ts snippet typechecks against the source", { timeout: 180_000 }, () => {
    expect(typecheckSnippets(blocks)).toEqual([]);
  });
});
