// The two transports the HTTP and event suites run against: the Node default (undici, installed
// by the Node entry) and a WHATWG fetch injected through the `fetch` option, as browsers, Deno,
// Bun and workers use it. Each counts what went through it, so a suite can prove which one ran.

import type { ClientOptions } from "../../src/index.js";

export interface EngineUnderTest {
  name: string;
  /** Spread into createClient options. */
  options: ClientOptions;
  /** Requests sent through an injected fetch so far (always 0 for the undici default). */
  fetchCalls(): number;
}

let injectedCalls = 0;

export const ENGINES: readonly EngineUnderTest[] = [
  { name: "undici default", options: {}, fetchCalls: () => 0 },
  {
    name: "injected fetch",
    options: {
      fetch: (input, init) => {
        injectedCalls++;
        return globalThis.fetch(input, init);
      },
    },
    fetchCalls: () => injectedCalls,
  },
];
