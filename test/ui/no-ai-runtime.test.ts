// `ai` and `@ai-sdk/*` are devDependencies for tests and examples only: no file the package ships
// may import them (the UI message stream adapter writes the protocol's chunks itself).
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const SRC = fileURLToPath(new URL("../../src/", import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(`${dir}${entry.name}/`) : entry.name.endsWith(".ts") ? [`${dir}${entry.name}`] : [],
  );
}

describe("the shipped code", () => {
  it("never imports ai, @ai-sdk/* or react", () => {
    const files = sources(SRC);
    expect(files.some((file) => file.endsWith("ui/ai-sdk.ts"))).toBe(true);
    const offenders = files.filter((file) => /from\s+["'](ai|@ai-sdk\/[^"']+|react(-dom)?)(\/[^"']*)?["']|import\(\s*["'](ai|@ai-sdk)/.test(readFileSync(file, "utf8")));
    expect(offenders).toEqual([]);
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as Record<string, Record<string, string> | undefined>;
    expect(Object.keys(pkg["dependencies"] ?? {})).not.toContain("ai");
    expect(pkg["devDependencies"]?.["ai"]).toMatch(/^\^7\./);
  });
});
