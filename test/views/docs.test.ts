// docs/views.md: every ```ts block is a complete program that typechecks against the source, as
// the README's blocks are checked.
import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { typecheckSnippets } from "../support/typecheck.js";

it("every ts snippet of docs/views.md typechecks against the source", { timeout: 180_000 }, () => {
  const markdown = readFileSync(new URL("../../docs/views.md", import.meta.url), "utf8");
  const blocks: Record<string, string> = {};
  for (const match of markdown.matchAll(/^```ts\n([\s\S]*?)^```$/gm)) blocks[`views-line-${markdown.slice(0, match.index).split("\n").length}`] = match[1]!;
  expect(Object.keys(blocks).length).toBeGreaterThanOrEqual(3);
  expect(typecheckSnippets(blocks)).toEqual([]);
});
