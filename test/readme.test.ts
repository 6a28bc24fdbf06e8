// Every ```ts block of the README and of docs/*.md is a complete program a user can paste: each is
// typechecked as its own module against src/ (imports of "opencode-serve-client" map to the
// source), strict. Blocks marked ```ts run need nothing but the testing kit and are also run.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
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

/** The ```ts run blocks of every page. */
function runnableBlocks(): Record<string, string> {
  const blocks: Record<string, string> = {};
  for (const page of pages) {
    const markdown = readFileSync(new URL(page, root), "utf8");
    for (const match of markdown.matchAll(/^```ts run\n([\s\S]*?)^```$/gm)) {
      blocks[`${page}:${markdown.slice(0, match.index).split("\n").length}`] = match[1]!;
    }
  }
  return blocks;
}

/** A snippet's package imports pointed at the source, so tsx runs it as a user's file would run. */
function toSource(code: string): string {
  const src = (file: string) => fileURLToPath(new URL(`src/${file}`, root));
  return code
    .replaceAll('"opencode-serve-client/testing"', JSON.stringify(src("testing/index.ts")))
    .replaceAll('"opencode-serve-client/server"', JSON.stringify(src("server/index.ts")))
    .replaceAll('"opencode-serve-client"', JSON.stringify(src("node.ts")));
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

  it.each(Object.entries(runnableBlocks()))("%s runs against the testing kit and exits 0", { timeout: 120_000 }, (_, code) => {
    const dir = mkdtempSync(join(tmpdir(), "opencode-snippet-run-"));
    try {
      const file = join(dir, "snippet.mts");
      writeFileSync(file, toSource(code));
      const result = spawnSync(process.execPath, ["--import", "tsx", file], { cwd: fileURLToPath(root), encoding: "utf8", timeout: 110_000 });
      expect(result.status, result.stdout + result.stderr).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("at least one snippet is runnable", () => {
    expect(Object.keys(runnableBlocks()).length).toBeGreaterThanOrEqual(1);
  });
});
