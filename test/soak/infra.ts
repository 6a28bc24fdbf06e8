// The soak's infrastructure, in its own process so the soak process holds nothing but the client
// (its sockets and timers can then be counted): scripted model + real opencode + fault proxy.
// Prints one JSON line {url, username, password}; "cut" on stdin cuts the event connection;
// stdin closing shuts everything down.

import { createInterface } from "node:readline";
import { startFaultProxy } from "../support/fault-proxy.js";
import { startModelServer } from "../support/model-server.js";
import { startTestServer } from "../support/opencode.js";

const model = await startModelServer();
const server = await startTestServer({ config: model.providerConfig() });
const proxy = await startFaultProxy(server.url);
console.log(JSON.stringify({ url: proxy.url, username: server.username, password: server.password }));

const commands = createInterface({ input: process.stdin });
commands.on("line", (line) => {
  if (line.trim() === "cut") console.log(JSON.stringify({ cut: proxy.cut("/event", { reset: Math.random() < 0.5 }) }));
});
commands.on("close", async () => {
  await proxy.close();
  await server.close();
  await model.close();
  process.exit(0);
});
