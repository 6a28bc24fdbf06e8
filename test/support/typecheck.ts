// Typechecks TypeScript snippets against the repo's source with the repo's own compiler options,
// the way a user's file importing the package would be checked. Returns tsc's diagnostics as text.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const root = fileURLToPath(new URL("../..", import.meta.url));

/**
 * Writes each snippet to a temp dir as `<name>.mts` (an ES module wherever it lies; outside the
 * repo so the repo's own `tsc` never sees it) and returns one diagnostic string per error,
 * "name.mts(line,col): message". Snippets import "opencode-serve-client", mapped to src/.
 */
export function typecheckSnippets(snippets: Record<string, string>): string[] {
  const out = mkdtempSync(join(tmpdir(), "opencode-snippets-"));
  try {
    return check(out, snippets);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

function check(out: string, snippets: Record<string, string>): string[] {
  const files = Object.entries(snippets).map(([name, text]) => {
    const file = join(out, `${name}.mts`);
    writeFileSync(file, text);
    return file;
  });
  const config = ts.readConfigFile(join(root, "tsconfig.json"), (path) => ts.sys.readFile(path));
  const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
  const program = ts.createProgram(files, {
    ...options,
    noEmit: true,
    // Snippets are written as a user writes them: importing the package by name.
    baseUrl: root,
    paths: {
      // On Node the package's "node" condition resolves to the Node entry (index plus `file()`).
      "opencode-serve-client": ["src/node.ts"],
      "opencode-serve-client/server": ["src/server/index.ts"],
      "opencode-serve-client/browser": ["src/browser/index.ts"],
      "opencode-serve-client/testing": ["src/testing/index.ts"],
      // Snippets live outside the repo (see above), so the test runner's types are mapped too.
      vitest: ["node_modules/vitest/dist/index.d.ts"],
    },
  });
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const message = ts.flattenDiagnosticMessageText(d.messageText, "\n");
    if (!d.file || d.start === undefined) return message;
    const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
    return `${d.file.fileName.slice(out.length + 1)}(${line + 1},${character + 1}): ${message}`;
  });
}
