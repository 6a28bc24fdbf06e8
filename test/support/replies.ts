// What a turn's replies and the server's stored messages add up to, shared by the codec fixture
// tests and the provider-shape e2e tests.
import { expect } from "vitest";
import type { components } from "../../generated/opencode.js";
import type { Reply, Usage } from "../../src/turn/replies.js";

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

/** Usage summed over the assistant messages among `messages`, as a `final` reports it. */
export function storedUsage(messages: readonly { info: components["schemas"]["Message"] }[]): Usage {
  const sum: Usage = { input: 0, output: 0, reasoning: 0, cacheRead: 0, cacheWrite: 0, cost: 0 };
  for (const { info } of messages) {
    if (info.role !== "assistant") continue;
    sum.input += info.tokens.input;
    sum.output += info.tokens.output;
    sum.reasoning += info.tokens.reasoning;
    sum.cacheRead += info.tokens.cache.read;
    sum.cacheWrite += info.tokens.cache.write;
    sum.cost += info.cost;
    // The context the latest step used: its whole prompt and reply.
    const t = info.tokens;
    sum.contextUsed = t.input + t.output + t.reasoning + t.cache.read + t.cache.write;
  }
  return sum;
}
