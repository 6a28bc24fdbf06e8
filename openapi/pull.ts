// Pulls the server's OpenAPI spec (GET /doc) from a real `opencode serve` of the pinned
// opencode-ai devDependency into openapi/opencode.json, and records the server version.
// Run with `npm run openapi:pull`, then `npm run generate`.

import { writeFile } from "node:fs/promises";
import { request } from "undici";
import { startServer } from "../src/server/index.js";

const bin = new URL("../node_modules/opencode-ai/bin/opencode.exe", import.meta.url).pathname;
const server = await startServer({ bin, isolated: true, args: ["--pure"], config: { autoupdate: false, share: "disabled" } });
try {
  const authorization = `Basic ${Buffer.from(`${server.username}:${server.password}`).toString("base64")}`;
  const response = await request(`${server.url}/doc`, { headers: { authorization } });
  if (response.statusCode !== 200) throw new Error(`GET /doc answered ${response.statusCode}`);
  const spec = await response.body.json();
  await writeFile(new URL("./opencode.json", import.meta.url), JSON.stringify(spec, null, 2) + "\n");
  await writeFile(new URL("./server-version.json", import.meta.url), JSON.stringify({ opencode: server.version }, null, 2) + "\n");
  console.log(`pulled openapi/opencode.json from opencode ${server.version}`);
} finally {
  await server.close();
}
