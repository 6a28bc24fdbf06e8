// Vitest setup for `npm test`: unit, codec and real-server e2e suites. Real opencode servers are
// heavy, so files run in at most two workers (the CI machine has two cores).
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    root: new URL("..", import.meta.url).pathname,
    include: ["test/**/*.test.ts", "examples/**/*.test.ts"],
    exclude: ["**/node_modules/**", "test/bench/**", "test/browser/**"],
    // Tests import src/index.ts; this gives them the Node build's default transport (undici).
    setupFiles: ["test/support/node-entry.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    maxWorkers: 2,
    reporters: ["default"],
  },
});
