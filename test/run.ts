// `npm test` and `npm run test:quick`: says what is about to run — the suites and their file
// counts, which opencode binary, which Chromium, ripgrep — then runs vitest over them. `--quick`
// runs the unit, codec and property tests only: no opencode server, no compiler or bundler runs.
// Other arguments go to vitest (e.g. `npm test -- test/e2e/turn.test.ts`).

import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { CHROMIUM, chromiumMissing } from "./support/chromium.js";
import { opencodeBin, opencodeBinVersion } from "./support/opencode.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const args = process.argv.slice(2);
const quick = args.includes("--quick");
const passThrough = args.filter((a) => a !== "--quick");

/** Test files `npm test` runs (the vitest config's include/exclude). */
function testFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return ["node_modules", "bench", "browser"].includes(entry.name) ? [] : testFiles(path);
    return entry.name.endsWith(".test.ts") ? [path] : [];
  });
}

/**
 * Not quick: a file that starts a real opencode (directly, through the testing kit, or through an
 * example), runs the TypeScript compiler or a bundler over snippets or the package, or soaks.
 */
const slow = (file: string) =>
  /\bstart(Test)?Server\(|startExample\(|\bconnect\(\{|typecheck|esbuild|runSoak|"pack"/.test(readFileSync(join(root, file), "utf8"));

const all = [...testFiles("test"), ...testFiles("examples")];
const files = quick ? all.filter((f) => !slow(f)) : all;
const bySuite = new Map<string, number>();
for (const file of files) {
  const suite = (file.startsWith("test/") ? relative("test", file) : file).split("/").slice(0, -1).join("/") || "(top)";
  bySuite.set(suite, (bySuite.get(suite) ?? 0) + 1);
}

const has = (command: string) => spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
console.log(quick ? "test:quick — unit, codec and property tests (no opencode server)" : "npm test — unit, codec, property, real-server e2e, examples, runtimes, package");
console.log(`  ${files.length} files: ${[...bySuite].map(([suite, n]) => `${suite} ${n}`).join(", ")}`);
if (quick) console.log(`  not run here: ${all.length - files.length} files that start opencode, typecheck, bundle or soak (npm test runs them)`);
else {
  console.log(`  opencode: ${opencodeBin} (${opencodeBinVersion() || "version unknown"})${process.env["OPENCODE_BIN"] ? " from OPENCODE_BIN" : ""}`);
  console.log(`  chromium: ${chromiumMissing ? `none — the Chromium runtime test is skipped (${chromiumMissing})` : CHROMIUM}`);
  console.log(`  ripgrep:  ${has("rg") ? "rg on PATH" : "missing — the search e2e test needs rg on PATH"}`);
}
console.log(`  node ${process.version}, 2 vitest workers\n`);

const vitest = join(root, "node_modules/vitest/vitest.mjs");
const selected = quick ? files : [];
const result = spawnSync(process.execPath, [vitest, "run", "--config", "test/vitest.config.ts", ...selected, ...passThrough], { cwd: root, stdio: "inherit" });
process.exit(result.status ?? 1);
