// Every ```ts block of the docs pages is a complete program a user can paste: each is typechecked
// as its own module against src/ (imports of "opencode-serve-client" map to the source), strict.
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { tsBlocks, typecheckSnippets } from "./support/typecheck.js";

const dir = new URL("../docs/", import.meta.url);
const pages = readdirSync(dir).filter((name) => name.endsWith(".md"));

describe("docs", () => {
  const blocks = Object.assign({}, ...pages.map((name) => tsBlocks(readFileSync(new URL(name, dir), "utf8"), name.replace(/\.md$/, ""))));

  it("has ts snippets to check", () => {
    expect(Object.keys(blocks).length).toBeGreaterThan(0);
  });

  it("every ts snippet is complete: imports what it uses, no placeholders", () => {
    for (const [name, code] of Object.entries(blocks) as [string, string][]) {
      expect(code, name).toMatch(/^import /m);
      expect(code, name).not.toMatch(/\{ … \}|\{ \.\.\. \}/);
    }
  });

  it("every ts snippet typechecks against the source", { timeout: 180_000 }, () => {
    expect(typecheckSnippets(blocks)).toEqual([]);
  });
});
