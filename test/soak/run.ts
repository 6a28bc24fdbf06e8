// `npm run soak`: the long soak (defaults 8 sessions × 25 turns, a cut every ~1.5 s).
// Options: --sessions N --turns N --cut-every-ms N. Exits 1 on any failure or leftover handle.
import { parseArgs } from "node:util";
import { runSoak } from "./soak.js";

const { values } = parseArgs({
  options: { sessions: { type: "string", default: "8" }, turns: { type: "string", default: "25" }, "cut-every-ms": { type: "string", default: "1500" } },
});
const result = await runSoak({
  sessions: Number(values.sessions),
  turns: Number(values.turns),
  cutEveryMs: Number(values["cut-every-ms"]),
  log: console.log,
});
console.log(`\n${result.turns} turns in ${(result.ms / 1000).toFixed(1)} s with ${result.cuts} event-connection cuts`);
console.log(`heap used per round (MB): ${result.heapMB.join(" ")}`);
console.log(`handles left after client.close(): ${result.leftover.length ? result.leftover.join(", ") : "none"}`);
for (const failure of result.failures) console.log(`FAIL ${failure}`);
process.exit(result.failures.length || result.leftover.length ? 1 : 0);
