// Vitest setup: tests import `src/index.ts`, but Node users get the package's `node` build, whose
// default transport is undici. Loading the Node entry once per worker gives tests that default.
import "../../src/node.js";
