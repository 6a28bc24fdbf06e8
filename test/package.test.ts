// The published package: what `npm pack` ships, and that a project installing the tarball can
// import and require every entry and typecheck against it (NodeNext ESM and CJS, bundler).
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = new URL("..", import.meta.url).pathname;

/** The packed tarball, installed into a throwaway consumer project as a user would install it. */
let consumer: string;
let packedFiles: string[];

beforeAll(() => {
  consumer = mkdtempSync(join(tmpdir(), "opencode-serve-client-consumer-"));
  // prepack builds dist first, so the tarball is what a real publish ships.
  const out = execFileSync("npm", ["pack", "--json", "--ignore-scripts=false", "--pack-destination", consumer], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  const [packed] = JSON.parse(out.slice(out.indexOf("["))) as { filename: string; files: { path: string }[] }[];
  packedFiles = packed!.files.map((f) => f.path);
  writeFileSync(join(consumer, "package.json"), JSON.stringify({ name: "consumer", private: true }));
  // Its dependencies come from the npm cache when they are there (the repo's own install put them there).
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", `./${packed!.filename}`], { cwd: consumer, stdio: "ignore" });
}, 180_000);

afterAll(() => {
  if (consumer) rmSync(consumer, { recursive: true, force: true });
});

const entries = {
  main: "opencode-serve-client",
  server: "opencode-serve-client/server",
  browser: "opencode-serve-client/browser",
  testing: "opencode-serve-client/testing",
};

/** Runs tsc over consumer files with the given compiler options; returns its diagnostics ("" when clean). */
function typecheckConsumer(dir: string, files: Record<string, string>, compilerOptions: Record<string, unknown>): string {
  const project = join(consumer, dir);
  mkdirSync(project, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(project, name), text);
  writeFileSync(
    join(project, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "ES2022",
        lib: ["ES2023", "DOM"],
        strict: true,
        noEmit: true,
        // Our .d.ts files (and generated/) are checked too, as strictly as the consumer's own code.
        skipLibCheck: false,
        types: ["node"],
        typeRoots: [join(root, "node_modules/@types")],
        ...compilerOptions,
      },
      include: Object.keys(files),
    }),
  );
  try {
    execFileSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", project], { encoding: "utf8" });
    return "";
  } catch (error) {
    return String((error as { stdout?: string }).stdout ?? error);
  }
}

// A consumer's ESM code: every entry, and a type error that must be caught (proves tsc really ran over it).
const esmConsumer = `import { createClient, mapEvent, initialTurnState, OpencodeError, type Reply } from "opencode-serve-client";
import { startServer } from "opencode-serve-client/server";
import { readReplies } from "opencode-serve-client/browser";
const client = createClient({ baseUrl: "http://127.0.0.1:4096" });
const session = client.session.get("ses_1");
const last: Reply | undefined = undefined;
export { client, session, last, mapEvent, initialTurnState, OpencodeError, startServer, readReplies };
`;
const cjsConsumer = `import client = require("opencode-serve-client");
import server = require("opencode-serve-client/server");
import browser = require("opencode-serve-client/browser");
const opened: client.OpencodeClient = client.createClient({ baseUrl: "http://127.0.0.1:4096" });
export = { opened, startServer: server.startServer, readReplies: browser.readReplies };
`;

describe("package", () => {
  it("npm pack ships dist (js + d.ts), README, LICENSE and package.json only", () => {
    expect(packedFiles).toContain("dist/src/index.js");
    expect(packedFiles).toContain("dist/src/index.d.ts");
    expect(packedFiles).toContain("dist/src/server/index.js");
    expect(packedFiles).toContain("dist/src/server/index.d.ts");
    expect(packedFiles).toContain("dist/src/browser/index.js");
    expect(packedFiles).toContain("dist/src/testing/index.js");
    expect(packedFiles).toContain("dist/src/testing/index.d.ts");
    expect(packedFiles).toContain("README.md");
    expect(packedFiles).toContain("LICENSE");
    expect(packedFiles.filter((f) => !/^(dist\/(src|generated)\/.*\.(js|d\.ts)|README\.md|LICENSE|package\.json)$/.test(f))).toEqual([]);
    expect(readFileSync(join(consumer, "node_modules/opencode-serve-client/LICENSE"), "utf8")).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} opencode-serve-client contributors\n/);
  });

  it("every entry loads with import() from the installed tarball", () => {
    const script = `const [m, s, b] = await Promise.all([import("${entries.main}"), import("${entries.server}"), import("${entries.browser}")]);
console.log(JSON.stringify([typeof m.createClient, typeof m.mapEvent, typeof s.startServer, typeof b.readReplies]));`;
    writeFileSync(join(consumer, "load.mjs"), script);
    const out = execFileSync(process.execPath, ["load.mjs"], { cwd: consumer, encoding: "utf8" });
    expect(JSON.parse(out)).toEqual(["function", "function", "function", "function"]);
  });

  it("every entry loads with require() from a .cjs file, without warnings", () => {
    const script = `const m = require("${entries.main}");
const s = require("${entries.server}");
const b = require("${entries.browser}");
console.log(JSON.stringify([typeof m.createClient, typeof m.mapEvent, typeof m.OpencodeError, typeof s.startServer, typeof b.readReplies]));`;
    writeFileSync(join(consumer, "load.cjs"), script);
    const result = spawnSync(process.execPath, ["load.cjs"], { cwd: consumer, encoding: "utf8" });
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(["function", "function", "function", "function", "function"]);
    expect(result.stderr).toBe("");
  });

  it("types resolve for NodeNext consumers, ESM (.mts) and CommonJS (.cts)", { timeout: 180_000 }, () => {
    const clean = typecheckConsumer("nodenext", { "esm.mts": esmConsumer, "cjs.cts": cjsConsumer }, { module: "NodeNext", moduleResolution: "NodeNext" });
    expect(clean).toBe("");
    const broken = typecheckConsumer("nodenext-broken", { "cjs.cts": `${cjsConsumer}const wrong: number = client.createClient();\n` }, { module: "NodeNext", moduleResolution: "NodeNext" });
    expect(broken).toMatch(/cjs\.cts\(6,7\): error TS2322: Type 'OpencodeClient' is not assignable to type 'number'/);
  });

  it("types resolve for bundler consumers", { timeout: 180_000 }, () => {
    expect(typecheckConsumer("bundler", { "app.ts": esmConsumer }, { module: "ESNext", moduleResolution: "Bundler" })).toBe("");
  });

  it("the repo's own self-reference loads every entry through the exports map", async () => {
    // Held in variables: typechecking must not need a build first.
    const main = (await import(entries.main)) as Record<string, unknown>;
    expect(typeof main["createClient"]).toBe("function");
    const server = (await import(entries.server)) as Record<string, unknown>;
    expect(typeof server["startServer"]).toBe("function");
    const browser = (await import(entries.browser)) as Record<string, unknown>;
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

  describe("opencode-serve-client/testing from the tarball, outside the repo, with no API key", () => {
    /** Only what a shell has: no OPENCODE_* variables, no provider keys, no OPENCODE_BIN. */
    const bareEnv = () => ({ PATH: process.env["PATH"] ?? "", HOME: consumer, NO_COLOR: "1" });
    const pinned = (name: string) => (JSON.parse(readFileSync(join(root, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;

    beforeAll(() => {
      // The consumer's own opencode-ai and vitest, as a user adds them as devDependencies.
      execFileSync("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", `opencode-ai@${pinned("opencode-ai")}`, `vitest@${pinned("vitest")}`], { cwd: consumer, stdio: "ignore" });
      // examples/testing as it reads in a user's project: the package's names instead of the repo's paths.
      for (const file of ["app.ts", "app.test.ts"]) {
        const text = readFileSync(join(root, "examples/testing", file), "utf8")
          .replaceAll("../../src/node.js", entries.main)
          .replaceAll("../../src/testing/index.js", entries.testing);
        writeFileSync(join(consumer, file), text);
      }
    }, 300_000);

    it("a script runs a turn against the scripted model", { timeout: 120_000 }, () => {
      writeFileSync(
        join(consumer, "turn.mjs"),
        `import { directive, startTestServer } from "${entries.testing}";
const t = await startTestServer();
try {
  const session = await t.client.session.create({});
  console.log((await session.run("hi\\n" + directive({ text: "Hello from the tarball." }))).text);
} finally {
  await t.close();
}
`,
      );
      const result = spawnSync(process.execPath, ["turn.mjs"], { cwd: consumer, env: bareEnv(), encoding: "utf8", timeout: 110_000 });
      expect(result.stderr).toBe("");
      expect(result.stdout).toBe("Hello from the tarball.\n");
      expect(result.status).toBe(0);
    });

    it("examples/testing's vitest test passes there", { timeout: 180_000 }, () => {
      const result = spawnSync(join(consumer, "node_modules/.bin/vitest"), ["run", "app.test.ts"], { cwd: consumer, env: bareEnv(), encoding: "utf8", timeout: 170_000 });
      expect(result.status, result.stdout + result.stderr).toBe(0);
      expect(result.stdout).toMatch(/Tests\s+3 passed/);
    });
  });
});
