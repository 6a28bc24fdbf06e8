// The main entry's published types work for a consumer without @types/node (a browser or worker
// app): the declarations are emitted as for a publish, installed under node_modules like the real
// package, and a small consumer using the client is typechecked with `"types": []`, lib DOM and
// skipLibCheck off, so an error inside our .d.ts files counts too.

import { execFile } from "node:child_process";
import { mkdirSync, rmSync, symlinkSync, writeFileSync, copyFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { expect, it } from "vitest";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const WORK = `${ROOT}test/output/types-without-node/`;
const TSC = `${ROOT}node_modules/typescript/bin/tsc`;

const CONSUMER = `import { createClient, mapEvent, initialTurnState, AuthenticationError, type Reply } from "opencode-serve-client";

const client = createClient({ baseUrl: "https://example.invalid/", password: "pw", fetch: (input, init) => fetch(input, init) });
export async function chat(text: string, show: (reply: Reply) => void): Promise<string> {
  const session = await client.session.create({ title: "t" });
  for await (const reply of session.prompt(text)) show(reply);
  const sessions = await client.request("get", "/session");
  return sessions.map((s) => s.id).join(",");
}
export const state = mapEvent(initialTurnState({ sessionID: "ses_1", userMessageID: "msg_1" }), { id: "evt_1", type: "server.connected", properties: {} }).state;
export const isAuth = (error: unknown) => error instanceof AuthenticationError && error.status === 401;
`;

it("a consumer of the main entry typechecks with no @types/node (types: [], lib DOM, skipLibCheck off)", { timeout: 120_000 }, async () => {
  rmSync(WORK, { recursive: true, force: true });
  const pkg = `${WORK}consumer/node_modules/opencode-serve-client/`;
  mkdirSync(pkg, { recursive: true });
  // Declarations only, emitted exactly as `npm run build` does, into the installed package's dist.
  await run(process.execPath, [TSC, "-p", `${ROOT}src/tsconfig.build.json`, "--emitDeclarationOnly", "--outDir", `${WORK}dist`]);
  symlinkSync(`${WORK}dist`, `${pkg}dist`);
  copyFileSync(`${ROOT}package.json`, `${pkg}package.json`);
  writeFileSync(`${WORK}consumer/app.ts`, CONSUMER);
  writeFileSync(
    `${WORK}consumer/tsconfig.json`,
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
  const result = await run(process.execPath, [TSC, "-p", `${WORK}consumer/tsconfig.json`]).then(
    () => "",
    (error: { stdout?: string }) => error.stdout ?? String(error),
  );
  expect(result).toBe("");
});
