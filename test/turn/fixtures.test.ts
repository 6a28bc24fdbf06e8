// The codec over recorded opencode streams (`npm run record-fixtures`): test/fixtures holds the pinned
// server's recordings, test/fixtures/v<version>/ older servers'. Every fixture's events go through
// mapEvent, and the replies must agree with what the server stored for the turn. OPENCODE_FIXTURES=<version>
// limits the run to that server's recordings (the version matrix runs one version at a time).
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createParser } from "eventsource-parser";
import { describe, expect, it } from "vitest";
import type { components } from "../../generated/opencode.js";
import { AbortedError, ProviderAuthError, RateLimitError, UnknownProviderError, type ProviderError } from "../../src/turn/errors.js";
import { initialTurnState, mapEvent } from "../../src/turn/map-event.js";
import type { FinalReply, Reply, ToolResultReply } from "../../src/turn/replies.js";
import { versionAtLeast } from "../support/opencode.js";
import { keptText, storedUsage } from "../support/replies.js";

type Message = components["schemas"]["Message"];
type Part = components["schemas"]["Part"];
type ToolPart = components["schemas"]["ToolPart"];

interface StoredMessage {
  info: Message;
  parts: Part[];
}

interface Metadata {
  sessionID: string;
  userMessageID: string;
  opencodeVersion: string;
  stored: StoredMessage[];
  notes: string;
}

interface RawEvent {
  type?: string;
  properties?: Record<string, unknown>;
}

const DIR = fileURLToPath(new URL("../fixtures/", import.meta.url));
const EXPECTED = [
  "text",
  "reasoning",
  "tool",
  "two-tools",
  "two-tools-parallel",
  "provider-401",
  "provider-500-retry",
  "abort",
  "permission",
  // The same turns through opencode's bundled providers (Anthropic Messages, OpenAI Responses).
  ...["anthropic", "responses"].flatMap((shape) =>
    ["text", "reasoning", "two-blocks", "tool", "two-tools-parallel", "unicode", "retry-midstream", "retry-after-closed-block", "all-attempts-fail", "429"].map(
      (scenario) => `${shape}-${scenario}`,
    ),
  ),
];
/** Fixtures whose turn fails, and how. All others must end with a final reply. */
const FAILURES: Record<string, abstract new (...args: never[]) => ProviderError> = {
  "provider-401": ProviderAuthError,
  abort: AbortedError,
  "anthropic-all-attempts-fail": UnknownProviderError,
  "anthropic-429": RateLimitError,
  "responses-all-attempts-fail": UnknownProviderError,
  "responses-429": RateLimitError,
};

interface Fixture {
  /** The recording's path without the extension. */
  path: string;
  name: string;
  /** The opencode version that sent it. */
  version: string;
  /** Recorded with the pinned server (test/fixtures/ itself), not an older one (test/fixtures/v…/). */
  pinned: boolean;
}

const only = process.env["OPENCODE_FIXTURES"] || undefined;
const dirs = [
  DIR,
  ...readdirSync(DIR, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && /^v\d/.test(entry.name))
    .map((entry) => `${DIR}${entry.name}/`),
];
const fixtures: Fixture[] = dirs
  .flatMap((dir) =>
    readdirSync(dir)
      .filter((file) => file.endsWith(".sse"))
      .map((file) => {
        const path = `${dir}${file.slice(0, -".sse".length)}`;
        const { opencodeVersion } = JSON.parse(readFileSync(`${path}.json`, "utf8")) as Metadata;
        return { path, name: file.slice(0, -".sse".length), version: opencodeVersion, pinned: dir === DIR };
      }),
  )
  .filter((fixture) => only === undefined || fixture.version === only)
  .sort((a, b) => a.path.localeCompare(b.path));
const versions = only ? [only] : [...new Set(fixtures.map((f) => f.version))];

function load(fixture: Fixture): { meta: Metadata; events: RawEvent[] } {
  const meta = JSON.parse(readFileSync(`${fixture.path}.json`, "utf8")) as Metadata;
  const events: RawEvent[] = [];
  const parser = createParser({ onEvent: (message) => events.push(JSON.parse(message.data) as RawEvent) });
  parser.feed(readFileSync(`${fixture.path}.sse`, "utf8"));
  return { meta, events };
}

function replay(meta: Metadata, events: readonly unknown[]): Reply[] {
  let state = initialTurnState({ sessionID: meta.sessionID, userMessageID: meta.userMessageID });
  const replies: Reply[] = [];
  for (const event of events) {
    const result = mapEvent(state, event);
    state = result.state;
    replies.push(...result.replies);
  }
  return replies;
}

/** The turn as the server stored it: the user's prompt and the assistant messages answering it, in order. */
function storedTurn(meta: Metadata) {
  const user = meta.stored.find((m) => m.info.id === meta.userMessageID);
  const assistants = meta.stored.filter((m) => m.info.role === "assistant" && m.info.parentID === meta.userMessageID);
  const textOf = (messages: StoredMessage[], type: "text" | "reasoning") =>
    messages
      .flatMap((m) => m.parts)
      .map((p) => (p.type === type ? p.text : ""))
      .join("");
  const last = assistants.at(-1);
  return {
    prompt: user ? textOf([user], "text") : "",
    assistants,
    text: textOf(assistants, "text"),
    lastText: last ? textOf([last], "text") : "",
    reasoning: textOf(assistants, "reasoning"),
    partTypes: new Map(assistants.flatMap((m) => m.parts.map((p) => [p.id, p.type] as const))),
    tools: assistants.flatMap((m) => m.parts.filter((p): p is ToolPart => p.type === "tool")),
  };
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object") {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

const textOfKind = (replies: Reply[], kind: "delta" | "reasoning") =>
  replies.map((r) => (r.kind === kind ? r.text : "")).join("");

describe.each(versions)("codec over fixtures recorded with opencode %s", (version) => {
  const recorded = fixtures.filter((fixture) => fixture.version === version);

  it("has every recorded scenario", () => {
    // The provider-shape turns are recorded with the pinned server only.
    const expected = recorded.some((fixture) => fixture.pinned) ? EXPECTED : EXPECTED.filter((name) => !/^(anthropic|responses)-/.test(name));
    expect(recorded.map((fixture) => fixture.name)).toEqual(expect.arrayContaining(expected));
  });

  describe.each(recorded.map((fixture) => [fixture.name, fixture] as const))("%s", (name, fixture) => {
    const { meta, events } = load(fixture);
    const turn = storedTurn(meta);
    const replies = replay(meta, events);
    const terminal = replies.at(-1);
    const abortedOnOldServer = terminal?.kind === "error" && terminal.error instanceof AbortedError && !versionAtLeast(version, "1.14.0");

    it("was recorded against a real turn", () => {
      expect(events[0]?.type).toBe("server.connected");
      expect(turn.prompt).not.toBe("");
      expect(turn.assistants.length).toBeGreaterThan(0);
    });

    it("yields exactly one terminal reply, last", () => {
      const terminals = replies.filter((r) => r.kind === "final" || r.kind === "error");
      expect(terminals).toHaveLength(1);
      expect(terminal).toBe(terminals[0]);
      for (const reply of replies) expect(reply.sessionID).toBe(meta.sessionID);
    });

    it("ends the way the server stored the turn", () => {
      const failure = FAILURES[name];
      const storedError = turn.assistants.at(-1)?.info;
      if (failure) {
        expect(terminal?.kind).toBe("error");
        expect(terminal?.kind === "error" && terminal.error).toBeInstanceOf(failure);
        expect(storedError?.role === "assistant" && storedError.error).toBeTruthy();
      } else {
        expect(terminal?.kind).toBe("final");
        expect(storedError?.role === "assistant" && storedError.error).toBeFalsy();
      }
    });

    it("streams exactly the stored assistant text (less retracted attempts), and the final carries the last message's text", () => {
      const deltas = keptText(replies);
      if (terminal?.kind === "final") {
        expect(deltas).toBe(turn.text);
        expect(terminal.text).toBe(turn.lastText);
        expect(terminal.messageID).toBe(turn.assistants.at(-1)?.info.id);
      } else if (!abortedOnOldServer) {
        // A failed turn may store text that streamed after the failure was reported.
        expect(turn.text.startsWith(deltas)).toBe(true);
      } else {
        // Before 1.14 an aborted part is stored empty: what streamed before the stop is all there was.
        expect(turn.text).toBe("");
        expect(deltas.length).toBeGreaterThan(0);
      }
    });

    it("reasoning never leaks into delta text", () => {
      if (terminal?.kind === "final") expect(textOfKind(replies, "reasoning")).toBe(turn.reasoning);
      for (const reply of replies) {
        if (reply.kind === "delta") expect(turn.partTypes.get(reply.partID)).toBe("text");
        if (reply.kind === "reasoning") expect(turn.partTypes.get(reply.partID)).toBe("reasoning");
      }
      if (turn.reasoning) expect(textOfKind(replies, "delta")).not.toContain(turn.reasoning);
    });

    it("never echoes the user's prompt", () => {
      const firstLine = turn.prompt.split("\n")[0] ?? turn.prompt;
      for (const reply of replies) {
        if ("messageID" in reply) expect(reply.messageID).not.toBe(meta.userMessageID);
        if ("text" in reply) expect(reply.text).not.toContain(firstLine);
      }
    });

    it("reports the stored tool calls and results", () => {
      const results = replies.filter((r): r is ToolResultReply => r.kind === "tool_result");
      const stored = turn.tools.map((part) => ({
        callID: part.callID,
        tool: part.tool,
        status: part.state.status,
        ...(part.state.status === "completed" ? { output: part.state.output } : {}),
        ...(part.state.status === "error" ? { error: part.state.error } : {}),
      }));
      const reported = results.map((r) => ({
        callID: r.callID,
        tool: r.tool,
        status: r.status,
        ...(r.output !== undefined ? { output: r.output } : {}),
        ...(r.error !== undefined ? { error: r.error } : {}),
      }));
      const byCall = (a: { callID: string }, b: { callID: string }) => a.callID.localeCompare(b.callID);
      expect(reported.sort(byCall)).toEqual(stored.sort(byCall));

      const calls = replies.filter((r) => r.kind === "tool_call");
      const storedCalls = new Map(turn.tools.map((part) => [part.callID, part.tool]));
      const seen = new Set<string>();
      for (const call of calls) {
        expect(storedCalls.get(call.callID)).toBe(call.tool);
        // A running call is reported again only with new output (bash streams its output so far).
        const key = `${call.callID}:${call.status}:${JSON.stringify(call.metadata?.["output"])}`;
        expect(seen.has(key)).toBe(false);
        seen.add(key);
      }
      for (const result of results) {
        const firstResult = replies.indexOf(result);
        const callIndex = replies.findIndex((r) => r.kind === "tool_call" && r.callID === result.callID);
        expect(callIndex).toBeGreaterThanOrEqual(0);
        expect(callIndex).toBeLessThan(firstResult);
      }
    });

    it("sums the stored usage of the turn's assistant messages", () => {
      if (terminal?.kind !== "final") return;
      const sum = storedUsage(turn.assistants);
      const { cost, contextUsed, ...tokens } = (terminal as FinalReply).usage;
      const { cost: storedCost, contextUsed: storedContext, ...storedTokens } = sum;
      expect(tokens).toEqual(storedTokens);
      // The context in use is the last step's: what the model read and wrote then.
      const lastTokens = turn.assistants.at(-1)?.info;
      if (lastTokens?.role === "assistant") {
        const t = lastTokens.tokens;
        expect(contextUsed).toBe(t.input + t.output + t.reasoning + t.cache.read + t.cache.write);
        expect(contextUsed).toBe(storedContext);
      }
      expect(cost).toBeCloseTo(storedCost, 12);
      const last = turn.assistants.at(-1)?.info;
      expect(terminal.finish).toBe(last?.role === "assistant" ? last.finish : undefined);
    });

    it("reports each permission the stream asked for this session", () => {
      const asked = events
        .filter((e) => e.type === "permission.asked" && e.properties?.["sessionID"] === meta.sessionID)
        .map((e) => e.properties?.["id"]);
      const reported = replies.flatMap((r) => (r.kind === "permission" ? [r.id] : []));
      expect(reported).toEqual(asked);
      if (name === "permission") expect(reported).toHaveLength(1);
    });

    it("reports the server's retries before the final", () => {
      const statuses = events.filter(
        (e) =>
          e.type === "session.status" &&
          e.properties?.["sessionID"] === meta.sessionID &&
          (e.properties["status"] as { type?: string } | undefined)?.type === "retry",
      );
      const retries = replies.filter((r) => r.kind === "retry");
      expect(retries).toHaveLength(statuses.length);
      if (name === "provider-500-retry") {
        expect(retries.length).toBeGreaterThan(0);
        expect(terminal?.kind).toBe("final");
        expect(replies.findLastIndex((r) => r.kind === "retry")).toBeLessThan(replies.indexOf(terminal!));
      }
    });

    it("a retry retracts exactly the failed attempt's parts, which the server left empty", () => {
      const retries = replies.filter((r) => r.kind === "retry");
      const discarded = retries.flatMap((r) => r.discarded);
      const storedParts = new Map(turn.assistants.flatMap((m) => m.parts.map((p) => [p.id, p] as const)));
      for (const d of discarded) {
        const part = storedParts.get(d.partID);
        expect(part?.type === "text" || part?.type === "reasoning" ? part.text : undefined).toBe("");
      }
      // Every part that streamed text yet is stored empty was abandoned by a retried attempt.
      const streamedParts = new Set(replies.flatMap((r) => (r.kind === "delta" || r.kind === "reasoning" ? [r.partID] : [])));
      // (Before 1.14 an aborted part is stored empty too; no retry abandoned that one.)
      const abandoned = abortedOnOldServer
        ? []
        : [...streamedParts].filter((id) => {
            const part = storedParts.get(id);
            return (part?.type === "text" || part?.type === "reasoning") && part.text === "";
          });
      expect(discarded.map((d) => d.partID).sort()).toEqual(abandoned.sort());
      if (/-retry-|-all-attempts-fail$/.test(name)) expect(discarded.length).toBeGreaterThan(0);
    });

    it("a rate limit's resetAt is counted from the error, not from before the server's retries", () => {
      if (terminal?.kind !== "error" || !(terminal.error instanceof RateLimitError)) return;
      const lastRetry = replies.findLast((r) => r.kind === "retry");
      expect(lastRetry).toBeDefined();
      // The error came after the last retry started; retry-after (1 s) counts from then.
      expect(terminal.error.resetAt.getTime()).toBeGreaterThanOrEqual(lastRetry!.kind === "retry" ? lastRetry!.next : Infinity);
    });

    it("never throws, and never mutates the events it is given", () => {
      const frozen = events.map((e) => deepFreeze(structuredClone(e)));
      expect(() => replay(meta, frozen)).not.toThrow();
      expect(replay(meta, frozen)).toEqual(replies);
    });

    // A repeated delta is told from a new one by its event id; before 1.14 events have none, so there
    // a duplicated delta cannot be recognised and only the other events are delivered twice.
    it("gives the same replies when every event is delivered twice (deltas only when they carry an id)", () => {
      const repeatable = (e: RawEvent) => e.type !== "message.part.delta" || typeof (e as { id?: unknown }).id === "string";
      expect(replay(meta, events.flatMap((e) => (repeatable(e) ? [e, e] : [e])))).toEqual(replies);
    });
  });
});

/** The differences between server versions the recordings must cover, so the codec is tried on each. */
describe.each(versions)("the recordings of opencode %s show its wire shape", (version) => {
  const recorded = fixtures.filter((fixture) => fixture.version === version).map((fixture) => ({ fixture, ...load(fixture) }));
  const events = recorded.flatMap((r) => r.events);
  const modern = versionAtLeast(version, "1.14.0");

  it(modern ? "every event has a top-level id (1.14+)" : "events have no top-level id (before 1.14)", () => {
    expect(events.length).toBeGreaterThan(0);
    for (const event of events) expect(typeof (event as { id?: unknown }).id === "string").toBe(modern);
  });

  it(`message.updated / message.part.updated ${modern ? "carry" : "lack"} a top-level sessionID`, () => {
    const updates = events.filter((e) => e.type === "message.updated" || e.type === "message.part.updated");
    expect(updates.length).toBeGreaterThan(0);
    for (const event of updates) expect(typeof event.properties?.["sessionID"] === "string").toBe(modern);
  });

  it(`the reasoning part closes ${modern ? "before" : "after"} the text part starts`, () => {
    const reasoning = recorded.find((r) => r.fixture.name === "reasoning");
    const parts = (reasoning?.events ?? []).flatMap((e) =>
      e.type === "message.part.updated" ? [e.properties?.["part"] as { type: string; time?: { end?: number } }] : [],
    );
    const reasoningEnd = parts.findIndex((p) => p.type === "reasoning" && p.time?.end !== undefined);
    const textStart = parts.findIndex((p) => p.type === "text" && p.time !== undefined);
    expect(reasoningEnd).toBeGreaterThanOrEqual(0);
    expect(textStart).toBeGreaterThanOrEqual(0);
    expect(reasoningEnd < textStart).toBe(modern);
  });

  it(`session.next.* switch events ${version.startsWith("1.15.") ? "arrive on /event (1.15 only)" : "do not arrive"}`, () => {
    const switches = events.filter((e) => e.type?.startsWith("session.next."));
    if (version.startsWith("1.15.")) expect(switches.length).toBeGreaterThan(0);
    else expect(switches).toEqual([]);
  });

  it(`plugin / catalog / reference / integration events ${versionAtLeast(version, "1.17.0") ? "arrive (1.17+)" : "do not arrive"}`, () => {
    const catalog = events.filter((e) => /^(plugin|catalog|reference|integration)\./.test(e.type ?? ""));
    if (versionAtLeast(version, "1.17.0")) expect(catalog.length).toBeGreaterThanOrEqual(20);
    else expect(catalog).toEqual([]);
  });
});
