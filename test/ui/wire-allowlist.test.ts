// What leaves the server process for a browser: per reply kind only the documented fields (an
// object that carries more — a raw server part, provider headers — loses them), retry messages
// without credentials, and tool input/output only as the app's `filterTool` lets them — on the SSE
// wire (toSSEResponse) and the AI SDK stream (toUIMessageStream) alike.
import { describe, expect, it } from "vitest";
import { toSSEResponse, toUIMessageStream, toWireReply, type Reply, type Turn } from "../../src/index.js";
import { readReplies, type WireReply } from "../../src/browser/index.js";
import type { ToolReply } from "../../src/browser/wire.js";
import { fixtureReplies, turnOf } from "./ai-sdk-support.js";

const SECRET = "sk-live-9f8e7d6c5b4a";
/** What a server-side object may carry besides a reply's fields. */
const SMUGGLED = { raw: { headers: { authorization: `Bearer ${SECRET}` } }, info: { path: { root: "/srv/customer" } }, state: { secret: SECRET } };

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

/** A recorded turn as the SSE adapter takes it. */
function recordedTurn(replies: Reply[], sessionID: string, messageID: string): Turn {
  return Object.assign(turnOf(sessionID, messageID, replies), { consumed: false }) as unknown as Turn;
}

describe("the wire allowlist", () => {
  const { sessionID, messageID, replies } = fixtureReplies("tool");
  const smuggling = replies.map((reply) => ({ ...reply, ...SMUGGLED }) as Reply);

  it("every reply kind of a recorded turn loses fields that are not its own", () => {
    for (const reply of smuggling) {
      const wire = toWireReply(reply) as unknown as Record<string, unknown>;
      for (const key of Object.keys(SMUGGLED)) expect(wire, `${reply.kind} kept ${key}`).not.toHaveProperty(key);
      expect(JSON.stringify(wire)).not.toContain(SECRET);
    }
    // The reply's own fields are all still there.
    const delta = replies.find((r) => r.kind === "delta")!;
    expect(toWireReply({ ...delta, ...SMUGGLED } as Reply)).toEqual(delta);
  });

  it("a turn streamed with toSSEResponse carries no smuggled field", async () => {
    const wire = await collect(readReplies(toSSEResponse(recordedTurn(smuggling, sessionID, messageID))));
    expect(wire.length).toBe(replies.length);
    expect(JSON.stringify(wire)).not.toContain(SECRET);
    expect(JSON.stringify(wire)).not.toContain("/srv/customer");
  });

  it("retry messages lose credential URLs, key/token values and auth tokens", () => {
    const retry: Reply = {
      kind: "retry",
      sessionID,
      attempt: 2,
      next: 1,
      discarded: [],
      message: `Provider failed: api_key=${SECRET} token=${SECRET} Authorization: Bearer ${SECRET} https://user:${SECRET}@api.example.com/v1?key=${SECRET}`,
    };
    const wire = toWireReply(retry) as Extract<WireReply, { kind: "retry" }>;
    expect(wire.message).not.toContain(SECRET);
    expect(wire.message).toContain("Provider failed: api_key=[REDACTED]");
  });
});

describe("filterTool", () => {
  const { sessionID, messageID, replies } = fixtureReplies("tool");
  const hide = (reply: ToolReply): ToolReply =>
    reply.kind === "tool_result"
      ? { ...reply, input: { command: "[hidden]" }, title: "[hidden]", output: "[hidden]", metadata: {} }
      : { ...reply, input: { command: "[hidden]" } };

  it("sees every tool reply before it reaches the SSE wire", async () => {
    expect(JSON.stringify(replies)).toContain("echo fixture");
    const wire = await collect(readReplies(toSSEResponse(recordedTurn(replies, sessionID, messageID), { filterTool: hide })));
    const tools = wire.filter((r) => r.kind === "tool_call" || r.kind === "tool_result");
    expect(tools.length).toBeGreaterThan(0);
    expect(JSON.stringify(wire)).not.toContain("echo fixture");
    expect(wire.find((r) => r.kind === "tool_result")).toMatchObject({ output: "[hidden]", metadata: {} });
  });

  it("sees every tool reply before it reaches the AI SDK stream", async () => {
    const chunks = await collect(toUIMessageStream(turnOf(sessionID, messageID, replies), { filterTool: hide }) as unknown as AsyncIterable<unknown>);
    expect(chunks.some((c) => (c as { type: string }).type === "tool-output-available")).toBe(true);
    expect(JSON.stringify(chunks)).not.toContain("echo fixture");
  });

  it("cannot turn a reply into another call", () => {
    const call = replies.find((r) => r.kind === "tool_call")!;
    const wire = toWireReply(call, { filterTool: (reply) => ({ ...reply, callID: "call_other" }) });
    expect(wire).toMatchObject({ kind: "tool_call", callID: call.kind === "tool_call" ? call.callID : "" });
  });
});
