// What a user sees when a typed call is wrong: the error names the offending path (or field), not
// "Expected 3 arguments, but got 2". Compiled with the TypeScript compiler over small snippets.
import { describe, expect, it } from "vitest";
import { typecheckSnippets } from "../support/typecheck.js";

const prelude = `import { createClient } from "opencode-serve-client";\nconst client = createClient();\n`;

describe("request() type errors", () => {
  it("name a mistyped path, a path without that method, and an event-stream route", { timeout: 120_000 }, () => {
    const diagnostics = typecheckSnippets({
      typo: `${prelude}await client.request("get", "/sesion");\n`,
      typoWithInit: `${prelude}await client.request("get", "/sesion/{sessionID}", { path: { sessionID: "x" } });\n`,
      wrongMethod: `${prelude}await client.request("post", "/global/health");\n`,
      stream: `${prelude}await client.request("get", "/global/event");\n`,
      missingQuery: `${prelude}await client.request("get", "/file/content", {});\n`,
      valid: `${prelude}const health = await client.request("get", "/global/health");\nhealth.healthy satisfies boolean;\n`,
    });
    expect([...diagnostics].sort()).toEqual([
      expect.stringMatching(/^missingQuery\.mts\(3,46\): Argument of type '\{\}' is not assignable to parameter of type 'RequestInit<"get", "\/file\/content">'\.\n.*Property 'query' is missing/s),
      `stream.mts(3,29): Argument of type '"/global/event"' is not assignable to parameter of type 'RequestPath<"get">'.`,
      `typo.mts(3,29): Argument of type '"/sesion"' is not assignable to parameter of type 'RequestPath<"get">'.`,
      `typoWithInit.mts(3,29): Argument of type '"/sesion/{sessionID}"' is not assignable to parameter of type 'RequestPath<"get">'.`,
      `wrongMethod.mts(3,30): Argument of type '"/global/health"' is not assignable to parameter of type 'RequestPath<"post">'.`,
    ]);
    expect(diagnostics.join("\n")).not.toContain("Expected 3 arguments");
  });
});
