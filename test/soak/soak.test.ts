// The short soak inside `npm test` (the long one is `npm run soak`).
import { expect, it } from "vitest";
import { runSoak } from "./soak.js";

it("turns stay intact under random event-connection cuts, and close() leaves no socket or timer", { timeout: 120_000 }, async () => {
  const result = await runSoak({ sessions: 3, turns: 4, cutEveryMs: 700 });
  expect(result.failures).toEqual([]);
  expect(result.turns).toBe(12);
  expect(result.cuts).toBeGreaterThan(0);
  expect(result.leftover).toEqual([]);
});
