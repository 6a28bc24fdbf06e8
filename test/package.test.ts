// The published package: what `npm pack` ships, and that both entry points load from dist.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const root = new URL("..", import.meta.url).pathname;

describe("package", () => {
  it("npm pack ships dist (js + d.ts), README and package.json only", { timeout: 120_000 }, async () => {
    // prepack builds dist first, so the listing reflects a real publish.
    const out = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts=false"], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    const files: string[] = (JSON.parse(out.slice(out.indexOf("["))) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
    expect(files).toContain("dist/src/index.js");
    expect(files).toContain("dist/src/index.d.ts");
    expect(files).toContain("dist/src/server/index.js");
    expect(files).toContain("dist/src/server/index.d.ts");
    expect(files).toContain("dist/src/browser/index.js");
    expect(files).toContain("README.md");
    expect(files.filter((f) => !/^(dist\/(src|generated)\/.*\.(js|d\.ts)|README\.md|package\.json)$/.test(f))).toEqual([]);

    // Through the package's own exports map, so these specifiers resolve only to the built dist
    // (held in variables: typechecking must not need a build first).
    const [mainEntry, serverEntry, browserEntry] = ["opencode-serve-client", "opencode-serve-client/server", "opencode-serve-client/browser"];
    const main = (await import(mainEntry!)) as Record<string, unknown>;
    expect(typeof main["createClient"]).toBe("function");
    expect(typeof main["mapEvent"]).toBe("function");
    const server = (await import(serverEntry!)) as Record<string, unknown>;
    expect(typeof server["startServer"]).toBe("function");
    const browser = (await import(browserEntry!)) as Record<string, unknown>;
    expect(typeof browser["readReplies"]).toBe("function");
  });

  /** Files and external modules reachable from an entry file (static imports and re-exports). */
  function importGraph(entry: string): { seen: Set<string>; external: Set<string> } {
    const seen = new Set<string>();
    const external = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const source = readFileSync(file, "utf8");
      for (const [, spec] of source.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"/gms)) {
        if (!spec!.startsWith(".")) external.add(spec!);
        else visit(resolve(dirname(file), spec!.replace(/\.js$/, ".ts")));
      }
    };
    visit(resolve(root, entry));
    return { seen, external };
  }

  it("the main entry's import graph never reaches child_process or the server launcher", () => {
    const { seen, external } = importGraph("src/index.ts");
    expect(seen.size).toBeGreaterThan(3);
    expect([...seen].filter((f) => f.includes("/src/server/"))).toEqual([]);
    expect([...external].filter((m) => /child_process|^node:(fs|os)$/.test(m))).toEqual([]);
  });

  it("the browser entry imports no Node module at all", () => {
    const { seen, external } = importGraph("src/browser/index.ts");
    expect(seen.size).toBeGreaterThan(1);
    expect([...external].filter((m) => m.startsWith("node:") || m === "undici")).toEqual([]);
  });
});
