// Every ```ts block of the README is a complete program a user can paste: each is typechecked as
// its own module against src/ (imports of "opencode-serve-client" map to the source), strict.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { tsBlocks, typecheckSnippets } from "./support/typecheck.js";

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");

describe("README", () => {
  const blocks = tsBlocks(readme, "README");

  it("has the ts snippets this test is meant to check", () => {
    expect(Object.keys(blocks).length).toBeGreaterThanOrEqual(10);
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
