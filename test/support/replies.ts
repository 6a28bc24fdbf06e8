// Assertions-with-results over a turn's replies, shared by the codec fixture tests and the
// provider-shape e2e tests.
import { expect } from "vitest";
import type { Reply } from "../../src/turn/replies.js";

/**
 * Delta text minus what `retry` replies retracted (a failed provider attempt's parts, which the
 * server leaves empty in storage). A retracted part's text must be exactly what streamed for it.
 */
export function keptText(replies: Reply[]): string {
  const streamed = new Map<string, string>();
  for (const r of replies) if (r.kind === "delta") streamed.set(r.partID, (streamed.get(r.partID) ?? "") + r.text);
  const discarded = new Set<string>();
  for (const r of replies) {
    if (r.kind !== "retry") continue;
    for (const d of r.discarded) {
      if (d.kind !== "text") continue;
      expect(d.text).toBe(streamed.get(d.partID));
      discarded.add(d.partID);
    }
  }
  return replies.flatMap((r) => (r.kind === "delta" && !discarded.has(r.partID) ? [r.text] : [])).join("");
}
