// Client-chosen message ids must sort like the server's own: by time, then by a per-ms counter.
import { expect, it } from "vitest";
import { ascendingID } from "../../src/session/ids.js";

it("ids have opencode's form and ascend, within one millisecond too", () => {
  const id = ascendingID("msg", 1_795_000_000_000);
  expect(id).toMatch(/^msg_[0-9a-f]{12}[0-9A-Za-z]{14}$/);
  // Like the server's: the low 48 bits (12 hex digits) of ms · 4096 + counter.
  expect(id.slice(4, 16)).toBe(((1_795_000_000_000n * 4096n + 1n) & 0xffff_ffff_ffffn).toString(16).padStart(12, "0"));

  const sameMs = Array.from({ length: 50 }, () => ascendingID("msg", 1_795_000_000_001));
  const later = ascendingID("msg", 1_795_000_000_002);
  const all = [...sameMs, later];
  expect([...all].sort()).toEqual(all);
  expect(new Set(all).size).toBe(all.length);
});
