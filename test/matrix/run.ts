// The version matrix (`npm run test:matrix`): installs each supported opencode release from the
// npm registry into its own cache folder, runs the real-server e2e files and the codec over that
// version's recorded fixtures with OPENCODE_BIN pointing at it, one version after the other, and
// prints a version × pass table. Exits non-zero when any cell fails.
//
//   npm run test:matrix                      every version
//   npm run test:matrix -- 1.2.27 1.18.33    only these
//   OPENCODE_MATRIX_CACHE=/path              where the installs live (default ~/.cache/opencode-serve-client)

import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The releases users run, oldest first. 1.17.20 is left out: the registry here has no linux binary for it. */
const VERSIONS = ["1.2.27", "1.3.2", "1.14.41", "1.15.13", "1.17.19", "1.18.33"];

/**
 * The files that start real servers and exercise what differs between versions: requests and auth,
 * the event stream, turns (text, reasoning, tools, queued prompts, abort, provider errors, cut
 * streams; sub-agents, questions, compaction, a stop from a second client, lost permissions),
 * network faults, a restart, one connection across projects (`/global/event`), startServer itself, secrets kept out of its errors, and session views
 * (history paging, live turns from other clients, cuts, requests, revert, restart).
 */
const E2E_FILES = [
  "test/e2e/foundation.test.ts",
  "test/e2e/turn.test.ts",
  "test/e2e/agent.test.ts",
  "test/e2e/around.test.ts",
  "test/e2e/faults.test.ts",
  "test/e2e/restart.test.ts",
  "test/e2e/load.test.ts",
  "test/events/e2e.test.ts",
  "test/events/global-routing.test.ts",
  "test/server/start-server.test.ts",
  "test/security/credentials.test.ts",
  "test/views/session-view.test.ts",
  "test/views/sessions-view.test.ts",
  "test/views/restart.test.ts",
];
const FIXTURE_FILE = "test/turn/fixtures.test.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const OUT = join(ROOT, "test/output/matrix");
const CACHE = process.env["OPENCODE_MATRIX_CACHE"] || join(process.env["XDG_CACHE_HOME"] || join(homedir(), ".cache"), "opencode-serve-client");

interface Suite {
  passed: number;
  total: number;
  failed: string[];
}

interface Row {
  version: string;
  e2e: Suite;
  fixtures: Suite;
  installMs: number;
  testMs: number;
}

/** The binary of `version`: the pinned devDependency when it is that version, else a cached install. */
function binaryFor(version: string): { bin: string; installMs: number } {
  const pinned = join(ROOT, "node_modules/opencode-ai");
  if (readVersion(join(pinned, "package.json")) === version) return { bin: findExecutable(join(pinned, "..")), installMs: 0 };
  const prefix = join(CACHE, `opencode-${version}`);
  const modules = join(prefix, "node_modules");
  let installMs = 0;
  if (readVersion(join(modules, "opencode-ai/package.json")) !== version || !tryExecutable(modules)) {
    const started = Date.now();
    rmSync(prefix, { recursive: true, force: true });
    mkdirSync(prefix, { recursive: true });
    console.log(`installing opencode-ai@${version} into ${prefix}`);
    execFileSync("npm", ["install", "--prefix", prefix, "--no-audit", "--no-fund", "--no-save", "--loglevel=error", `opencode-ai@${version}`], {
      stdio: "inherit",
    });
    installMs = Date.now() - started;
  }
  return { bin: findExecutable(modules), installMs };
}

function readVersion(packageJson: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(packageJson, "utf8")) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

/**
 * The native executable inside an install. Older releases ship `bin/opencode` as a node wrapper
 * around `bin/.opencode` (or the platform package); running the native file directly keeps one
 * process per server, which is what startServer stops.
 */
function findExecutable(modules: string): string {
  const found = tryExecutable(modules);
  if (!found) throw new Error(`no opencode executable under ${modules}`);
  return found;
}

function tryExecutable(modules: string): string | undefined {
  const platform = process.platform === "win32" ? "windows" : process.platform;
  const exe = process.platform === "win32" ? "opencode.exe" : "opencode";
  const candidates = [
    join(modules, "opencode-ai/bin/opencode.exe"),
    join(modules, "opencode-ai/bin/.opencode"),
    join(modules, `opencode-${platform}-${process.arch}/bin/${exe}`),
    join(modules, `opencode-${platform}-${process.arch}-baseline/bin/${exe}`),
  ];
  return candidates.find((path) => existsSync(path));
}

/** Runs vitest on `files` against `bin`; counts from its JSON report. */
async function vitest(version: string, name: string, files: string[], env: Record<string, string>): Promise<Suite> {
  const report = join(OUT, `${version}-${name}.json`);
  rmSync(report, { force: true });
  const args = ["vitest", "run", "--config", "test/vitest.config.ts", "--reporter=dot", "--reporter=json", `--outputFile.json=${report}`, ...files];
  const code = await new Promise<number>((resolve) => {
    const child = spawn("npx", args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: "inherit" });
    child.once("exit", (exitCode) => resolve(exitCode ?? 1));
  });
  if (!existsSync(report)) return { passed: 0, total: 0, failed: [`vitest exited ${code} without a report`] };
  const json = JSON.parse(readFileSync(report, "utf8")) as {
    numTotalTests: number;
    numPassedTests: number;
    testResults: {
      name: string;
      message?: string;
      assertionResults: { fullName: string; status: string; duration?: number; failureMessages: string[] }[];
    }[];
  };
  const failed: string[] = [];
  for (const file of json.testResults) {
    const short = file.name.slice(ROOT.length);
    for (const test of file.assertionResults) {
      if (test.status === "failed") failed.push(`${short} › ${test.fullName}: ${failureOf(test)}`);
    }
    // A file that failed to load (or a failing hook) has no test results of its own.
    if (file.assertionResults.length === 0 && file.message) failed.push(`${short}: ${firstLine(file.message)}`);
  }
  if (code !== 0 && failed.length === 0) failed.push(`vitest exited ${code}`);
  return { passed: json.numPassedTests, total: json.numTotalTests, failed };
}

function failureOf(test: { duration?: number; failureMessages: string[] }): string {
  const message = firstLine(test.failureMessages[0]);
  // vitest's JSON report replaces a timeout's message with this placeholder.
  return message === "Error: STACK_TRACE_ERROR" ? `timed out after ${Math.round(test.duration ?? 0)} ms` : message;
}

function firstLine(text: string | undefined): string {
  return (text ?? "").split("\n")[0]!.slice(0, 200);
}

const ok = (suite: Suite) => suite.failed.length === 0 && suite.total > 0;
const cell = (suite: Suite) => `${ok(suite) ? "pass" : "FAIL"} ${suite.passed}/${suite.total}`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(0)} s`;

async function main(): Promise<number> {
  const requested = process.argv.slice(2);
  const unknown = requested.filter((v) => !VERSIONS.includes(v));
  if (unknown.length) throw new Error(`not in the matrix: ${unknown.join(", ")} (known: ${VERSIONS.join(", ")})`);
  const versions = requested.length ? requested : VERSIONS;
  mkdirSync(OUT, { recursive: true });
  mkdirSync(CACHE, { recursive: true });
  const started = Date.now();
  const rows: Row[] = [];
  for (const version of versions) {
    const { bin, installMs } = binaryFor(version);
    console.log(`\n=== opencode ${version} (${bin})`);
    const testStarted = Date.now();
    const e2e = await vitest(version, "e2e", E2E_FILES, { OPENCODE_BIN: bin });
    const fixtures = await vitest(version, "fixtures", [FIXTURE_FILE], { OPENCODE_FIXTURES: version });
    const row = { version, e2e, fixtures, installMs, testMs: Date.now() - testStarted };
    rows.push(row);
    console.log(`=== opencode ${version}: e2e ${cell(e2e)}, fixtures ${cell(fixtures)}, ${seconds(row.testMs)}`);
  }

  console.log("\n| opencode | e2e | codec fixtures | time |");
  console.log("|---|---|---|---|");
  for (const row of rows) {
    const install = row.installMs ? ` (+ ${seconds(row.installMs)} install)` : "";
    console.log(`| ${row.version} | ${cell(row.e2e)} | ${cell(row.fixtures)} | ${seconds(row.testMs)}${install} |`);
  }
  console.log(`\nmatrix wall time ${seconds(Date.now() - started)}`);
  const failures = rows.flatMap((row) => [...row.e2e.failed, ...row.fixtures.failed].map((f) => `${row.version}: ${f}`));
  if (failures.length) {
    console.log(`\n${failures.length} failure(s):`);
    for (const failure of failures) console.log(`  ${failure}`);
    return 1;
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
