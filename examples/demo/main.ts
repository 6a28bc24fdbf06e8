// `npm run demo`: streams one turn — reasoning, a real tool call, text — to the terminal.
// Without OPENCODE_BASE_URL it starts a local opencode with a scripted model (works offline);
// with it (and OPENCODE_SERVER_PASSWORD, OPENCODE_MODEL) it runs against that server.

import { connect, demoScript, explainFailure, type Connection } from "../shared/connect.js";

const color = process.stdout.isTTY
  ? { dim: (s: string) => `\x1b[2m${s}\x1b[22m`, bold: (s: string) => `\x1b[1m${s}\x1b[22m`, cyan: (s: string) => `\x1b[36m${s}\x1b[39m`, red: (s: string) => `\x1b[31m${s}\x1b[39m` }
  : { dim: (s: string) => s, bold: (s: string) => s, cyan: (s: string) => s, red: (s: string) => s };

let connection: Connection;
const startedAt = Date.now();
const elapsed = () => `${((Date.now() - startedAt) / 1000).toFixed(1)} s`;
// opencode takes several seconds to come up: say what is happening, and on a terminal keep a
// clock running on the line below until it is up.
const clearLine = () => process.stdout.isTTY && process.stdout.write("\r\x1b[K");
const ticker = process.stdout.isTTY ? setInterval(() => process.stdout.write(`\r${color.dim(`  … ${elapsed()}`)}\x1b[K`), 200) : undefined;
const onProgress = (message: string) => {
  clearLine();
  console.log(color.dim(`${message} (${elapsed()})`));
};
if (!process.env["OPENCODE_BASE_URL"]) onProgress("starting a local opencode with a scripted model, no API key needed");
try {
  connection = await connect({ onProgress });
} catch (error) {
  clearInterval(ticker);
  clearLine();
  // One line that says what to fix, not a stack trace.
  console.error(color.red(`error: ${explainFailure(error)}`));
  process.exit(1);
}
clearInterval(ticker);
clearLine();
let exitCode = 0;
try {
  console.log(color.dim(`connected to ${connection.describe}`));
  const session = await connection.client.session.create({ title: "opencode-serve-client demo" });
  const prompt = connection.scripted
    ? `What is in this project? Use a tool to look.\n${demoScript()}`
    : "What is in this project? Use a tool to list the files, then summarize in two sentences.";
  console.log(`${color.bold("you")}: ${prompt.split("\n")[0]}\n`);

  const turn = session.prompt(prompt, connection.model ? { model: connection.model } : {});
  let last: string | undefined;
  // A running tool reports again each time its output grows: one line per status is enough here.
  const shownStatus = new Map<string, string>();
  for await (const reply of turn) {
    // A newline whenever the kind of output changes, so streams do not run into each other.
    if (last !== undefined && last !== reply.kind && (last === "delta" || last === "reasoning")) process.stdout.write("\n");
    switch (reply.kind) {
      case "reasoning":
        process.stdout.write(color.dim(reply.text));
        break;
      case "delta":
        process.stdout.write(reply.text);
        break;
      case "tool_call":
        if (shownStatus.get(reply.callID) === reply.status) break;
        shownStatus.set(reply.callID, reply.status);
        console.log(color.cyan(`⚙ ${reply.tool} ${reply.status}${reply.input["command"] ? `: ${String(reply.input["command"])}` : ""}`));
        break;
      case "tool_result":
        console.log(color.cyan(`⚙ ${reply.tool} ${reply.status}`) + color.dim(` → ${(reply.output ?? reply.error ?? "").trim().replace(/\n/g, " | ")}`));
        break;
      case "permission":
        console.log(color.cyan(`? permission ${reply.permission} ${reply.patterns.join(" ")} — answering "once"`));
        await session.respond(reply.id, "once");
        break;
      case "retry":
        console.log(color.dim(`… provider retry ${reply.attempt}: ${reply.message}`));
        break;
      case "final": {
        const u = reply.usage;
        console.log(
          `\n${color.bold("done")} (${reply.finish ?? "?"}): ${u.input} in / ${u.output} out / ${u.reasoning} reasoning / ` +
            `${u.cacheRead} cache read tokens, cost $${u.cost.toFixed(6)}`,
        );
        break;
      }
      case "error":
        console.log(color.red(`\nerror: ${reply.error.name}: ${reply.error.message}`));
        exitCode = 1;
        break;
    }
    last = reply.kind;
  }
} catch (error) {
  console.error(color.red(`\nerror: ${explainFailure(error)}`));
  exitCode = 1;
} finally {
  await connection.close();
}
process.exit(exitCode);
