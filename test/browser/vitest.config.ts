// Vitest setup for `npm run test:browser`: the web-chat example driven in headless Debian Chromium
// (playwright-core, no downloaded browser). Kept out of `npm test`, which has no browser.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    root: new URL("../..", import.meta.url).pathname,
    include: ["test/browser/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    maxWorkers: 1,
    reporters: ["default"],
  },
});
