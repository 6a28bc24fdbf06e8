// Bundle-size benchmark: what our client adds to a browser app, minified and gzipped, next to the
// official `@opencode-ai/sdk` v2 client. Each entry is bundled by esbuild for the browser (ESM,
// minified, tree-shaken) from a one-line module importing what an app would import. Prints a table
// and writes test/output/bench-bundle.json; a bundle that pulls in a Node module fails the run.

import { mkdir, writeFile } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { BenchmarkFailure } from "./events.js";

const ROOT = new URL("../../", import.meta.url);
const OUTPUT = new URL("test/output/bench-bundle.json", ROOT);
const SRC = new URL("src/", ROOT).pathname;

interface Entry {
  name: string;
  what: string;
  /** The module an app would write. */
  source: string;
}

const ENTRIES: Entry[] = [
  {
    name: "ours: requests + events",
    what: "typed requests and the shared event stream, without turns or the codec",
    source: `export { Transport } from "${SRC}http/transport.ts"; export { EventHub } from "${SRC}events/hub.ts";`,
  },
  {
    name: "ours: codec alone",
    what: "the pure event → reply codec (mapEvent and its helpers, with the event checks it relies on)",
    source: `export { mapEvent, initialTurnState, markGap, applySnapshot } from "${SRC}turn/map-event.ts";`,
  },
  { name: "ours: createClient", what: "the client app code gets: requests, events, sessions, turns (with the codec)", source: `export { createClient } from "${SRC}index.ts";` },
  { name: "ours: main entry", what: "everything the main entry exports", source: `export * from "${SRC}index.ts";` },
  { name: "official: v2 client", what: "@opencode-ai/sdk/v2/client createOpencodeClient", source: `export { createOpencodeClient } from "@opencode-ai/sdk/v2/client";` },
];

interface Size {
  name: string;
  what: string;
  minifiedBytes: number;
  gzipBytes: number;
  /** Largest inputs (a package or one of our files), minified bytes in the output. */
  largest: { input: string; bytes: number }[];
}

export async function runBundleBenchmark(argv: string[]): Promise<void> {
  if (argv.length > 0) throw new BenchmarkFailure(`bundle takes no options, got ${argv.join(" ")}`);
  const sizes: Size[] = [];
  for (const entry of ENTRIES) sizes.push(await measure(entry));

  const kb = (bytes: number) => (bytes / 1024).toFixed(1);
  const rows = [["bundle (browser, ESM, minified)", "min KB", "gzip KB"], ...sizes.map((s) => [s.name, kb(s.minifiedBytes), kb(s.gzipBytes)])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  console.log(`\nbundle sizes\n${rows.map((r) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ")).join("\n")}`);
  for (const size of sizes.filter((s) => s.name.startsWith("ours"))) {
    console.log(`  ${size.name} — largest: ${size.largest.map((l) => `${l.input} ${kb(l.bytes)} KB`).join(", ")}`);
  }
  await mkdir(new URL("test/output/", ROOT), { recursive: true });
  await writeFile(OUTPUT, `${JSON.stringify({ benchmark: "bundle", date: new Date().toISOString(), sizes }, null, 2)}\n`);
  console.log(`\nwrote ${OUTPUT.pathname}`);
}

async function measure(entry: Entry): Promise<Size> {
  const result = await build({
    stdin: { contents: entry.source, resolveDir: ROOT.pathname, loader: "ts" },
    bundle: true,
    platform: "browser",
    format: "esm",
    minify: true,
    write: false,
    metafile: true,
    logLevel: "silent",
  }).catch((error: { errors?: { text: string }[] }) => {
    const first = error.errors?.slice(0, 3).map((e) => e.text).join("; ") ?? String(error);
    throw new BenchmarkFailure(`${entry.name} does not bundle for the browser: ${first}`);
  });
  const code = result.outputFiles[0]!.contents;
  const inputs = Object.values(result.metafile.outputs)[0]!.inputs;
  const byPackage = new Map<string, number>();
  for (const [path, { bytesInOutput }] of Object.entries(inputs)) {
    const key = path.includes("node_modules/") ? packageOf(path) : path.replace(/^.*?(src|generated)\//, "$1/");
    byPackage.set(key, (byPackage.get(key) ?? 0) + bytesInOutput);
  }
  return {
    name: entry.name,
    what: entry.what,
    minifiedBytes: code.length,
    gzipBytes: gzipSync(code, { level: 9 }).length,
    largest: [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([input, bytes]) => ({ input, bytes })),
  };
}

function packageOf(path: string): string {
  const rest = path.slice(path.lastIndexOf("node_modules/") + "node_modules/".length).split("/");
  return rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!;
}
