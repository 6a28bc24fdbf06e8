// The main entry as a consumer installs it: the package is built as for a publish (JS and
// declarations) and placed under a consumer's node_modules, then
// - bundled by esbuild for the browser: no Node module, no undici, no error;
// - resolved under each runtime's export conditions: browsers, workers, Deno and Bun get the
//   universal build, Node the build whose default transport is undici;
// - typechecked from a small consumer with no @types/node (`"types": []`, lib DOM, skipLibCheck
//   off, so an error inside our .d.ts files counts too).

import { execFile } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { build, type BuildOptions } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const TSC = `${ROOT}node_modules/typescript/bin/tsc`;
// Outside the repo: inside it, bundlers resolve the package name to the repo itself (self-reference).
const WORK = mkdtempSync(join(tmpdir(), "opencode-serve-client-entry-"));
const CONSUMER = join(WORK, "consumer/");

beforeAll(async () => {
  const installed = join(CONSUMER, "node_modules/opencode-serve-client/");
  mkdirSync(installed, { recursive: true });
  // Emitted exactly as `npm run build` does, into the installed package's dist.
  await run(process.execPath, [TSC, "-p", `${ROOT}src/tsconfig.build.json`, "--outDir", join(WORK, "dist")]);
  symlinkSync(join(WORK, "dist"), join(installed, "dist"));
  copyFileSync(`${ROOT}package.json`, join(installed, "package.json"));
  // The package's own dependencies (eventsource-parser, undici), found from dist as when installed.
  symlinkSync(`${ROOT}node_modules`, join(WORK, "node_modules"));
}, 120_000);
afterAll(() => rmSync(WORK, { recursive: true, force: true }));

/** Bundles `import … from "opencode-serve-client"` from the consumer; returns the package files it took. */
async function bundle(options: BuildOptions): Promise<{ inputs: string[]; errors: string[] }> {
  const result = await build({
    stdin: { contents: `export { createClient, mapEvent } from "opencode-serve-client";`, resolveDir: CONSUMER },
    bundle: true,
    format: "esm",
    write: false,
    metafile: true,
    logLevel: "silent",
    ...options,
  }).catch((error: { errors: { text: string }[] }) => ({ errors: error.errors, metafile: undefined }));
  if (!("outputFiles" in result)) return { inputs: [], errors: result.errors.map((e) => e.text) };
  return { inputs: Object.keys(result.metafile!.inputs), errors: result.errors.map((e) => e.text) };
}

describe("the main entry as installed", () => {
  it("bundles for the browser with no Node module, no undici and no zod", async () => {
    const { inputs, errors } = await bundle({ platform: "browser" });
    expect(errors).toEqual([]);
    expect(inputs.some((input) => input.endsWith("dist/src/index.js"))).toBe(true);
    expect(inputs.filter((input) => /undici|zod|^node:|dist\/src\/node\.js/.test(input))).toEqual([]);
  });

  it.each([["worker"], ["workerd"], ["deno"], ["bun"]])("the %s condition picks the universal build", async (condition) => {
    const { inputs, errors } = await bundle({ platform: "neutral", conditions: [condition, "import"], mainFields: ["module", "main"] });
    expect(errors).toEqual([]);
    expect(inputs.some((input) => input.endsWith("dist/src/index.js"))).toBe(true);
    expect(inputs.filter((input) => /undici|dist\/src\/node\.js/.test(input))).toEqual([]);
  });

  it("the node condition picks the build whose default transport is undici", async () => {
    const { inputs, errors } = await bundle({ platform: "node", external: ["undici"] });
    expect(errors).toEqual([]);
    expect(inputs.some((input) => input.endsWith("dist/src/node.js"))).toBe(true);
  });

  it("a consumer typechecks with no @types/node (types: [], lib DOM, skipLibCheck off)", { timeout: 60_000 }, async () => {
    writeFileSync(
      join(CONSUMER, "app.ts"),
      `import { createClient, mapEvent, initialTurnState, AuthenticationError, type Reply } from "opencode-serve-client";

const client = createClient({ baseUrl: "https://example.invalid/", password: "pw", fetch: (input, init) => fetch(input, init) });
export async function chat(text: string, show: (reply: Reply) => void): Promise<string> {
  const session = await client.session.create({ title: "t" });
  for await (const reply of session.prompt(text)) show(reply);
  const sessions = await client.request("get", "/session");
  return sessions.map((s) => s.id).join(",");
}
export const state = mapEvent(initialTurnState({ sessionID: "ses_1", userMessageID: "msg_1" }), { id: "evt_1", type: "server.connected", properties: {} }).state;
export const isAuth = (error: unknown) => error instanceof AuthenticationError && error.status === 401;
`,
    );
    writeFileSync(
      join(CONSUMER, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          lib: ["ES2023", "DOM", "DOM.Iterable"],
          module: "ESNext",
          moduleResolution: "bundler",
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: [],
        },
        files: ["app.ts"],
      }),
    );
    const output = await run(process.execPath, [TSC, "-p", join(CONSUMER, "tsconfig.json")]).then(
      () => "",
      (error: { stdout?: string }) => error.stdout ?? String(error),
    );
    expect(output).toBe("");
  });
});
