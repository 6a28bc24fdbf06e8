// The resume rule of frame ids (src/browser/wire.ts, FramePosition): a position names its stream
// and frame number (exact on the process that streamed it) and a per-session text cursor (server
// state), and a turn rebuilt from the server minus the cursor is exactly what the browser lacks.
import { describe, expect, it } from "vitest";
import { CursorTracker, frameId, parseFrameId, skipDelivered, type FramePosition, type WireReply } from "../../src/browser/wire.js";
import { resumeSSEResponse, TurnReplays } from "../../src/index.js";

const delta = (sessionID: string, partID: string, text: string, kind: "delta" | "reasoning" = "delta"): WireReply => ({
  kind,
  sessionID,
  messageID: "msg_1",
  partID,
  text,
});

async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of source) out.push(item);
  return out;
}

async function* from<T>(items: T[]): AsyncGenerator<T> {
  yield* items;
}

/** Per part, the text a list of replies carries. */
function textByPart(replies: WireReply[]): Map<string, string> {
  const parts = new Map<string, string>();
  for (const reply of replies) if (reply.kind === "delta" || reply.kind === "reasoning") parts.set(reply.partID, (parts.get(reply.partID) ?? "") + reply.text);
  return parts;
}

describe("frame ids", () => {
  it("carry the stream, the frame number and every session's text cursor, and read back the same", () => {
    const position: FramePosition = {
      sessionID: "ses_1",
      messageID: "msg_1",
      stream: "k3f9aa",
      seq: 17,
      cursor: [
        { sessionID: "ses_1", partID: "prt_01a", offset: 120 },
        { sessionID: "ses_child", partID: "prt_02b", offset: 4 },
      ],
    };
    expect(frameId(position)).toBe("ses_1:msg_1:k3f9aa.17:ses_1/prt_01a/120,ses_child/prt_02b/4");
    expect(parseFrameId(frameId(position))).toEqual(position);
  });

  it("still read the plain `ses:msg:n` form, and reject what is not a frame id", () => {
    expect(parseFrameId("ses_a:msg_a:3")).toEqual({ sessionID: "ses_a", messageID: "msg_a", seq: 3 });
    expect(parseFrameId("ses_a:msg_a:tok.0")).toEqual({ sessionID: "ses_a", messageID: "msg_a", stream: "tok", seq: 0 });
    for (const bad of ["", "ses_a:msg_a", "ses_a:msg_a:x", "ses_a:msg_a:1:prt/1", "ses_a:msg_a:1:ses/prt/x", "a:b:1\nid: c", "ses a:msg:1"]) {
      expect(parseFrameId(bad), bad).toBeUndefined();
    }
  });
});

describe("the text cursor", () => {
  it("follows the last delta's part and its length, per session", () => {
    const tracker = new CursorTracker();
    tracker.see(delta("ses_1", "prt_1", "Hel"));
    tracker.see(delta("ses_1", "prt_1", "lo"));
    tracker.see({ kind: "tool_call", sessionID: "ses_1", messageID: "msg_1", partID: "prt_2", callID: "c", tool: "bash", input: {}, status: "running" });
    tracker.see(delta("ses_2", "prt_3", "sub"));
    tracker.see(delta("ses_1", "prt_4", "why", "reasoning"));
    expect(tracker.cursor).toEqual([
      { sessionID: "ses_1", partID: "prt_4", offset: 3 },
      { sessionID: "ses_2", partID: "prt_3", offset: 3 },
    ]);
  });

  it("after any frame of a live stream, the rebuilt turn minus the cursor is exactly the rest of every part", async () => {
    // Two sessions streaming at once (a sub-agent), text and reasoning, cut into uneven deltas.
    const full: [string, string, string, "delta" | "reasoning"][] = [
      ["ses_root", "prt_a", "Let me think about it.", "reasoning"],
      ["ses_root", "prt_b", "First part of the answer. ", "delta"],
      ["ses_sub", "prt_c", "The sub-agent counts three files.", "delta"],
      ["ses_root", "prt_d", "And the rest, after the tool.", "delta"],
    ];
    const live: WireReply[] = [];
    let chunk = 1;
    for (const [sessionID, partID, text, kind] of full) {
      for (let at = 0; at < text.length; at += chunk, chunk = (chunk % 5) + 1) live.push(delta(sessionID, partID, text.slice(at, at + chunk), kind));
    }
    // The sub-agent's deltas interleave with the root's second part, as they do on the wire.
    const sub = live.filter((r) => r.kind === "delta" && r.partID === "prt_c");
    const rest = live.filter((r) => !(r.kind === "delta" && r.partID === "prt_c"));
    const interleaved: WireReply[] = [];
    while (sub.length || rest.length) {
      if (rest.length) interleaved.push(rest.shift()!);
      if (sub.length) interleaved.push(sub.shift()!);
    }
    const tool: WireReply = { kind: "tool_result", sessionID: "ses_root", messageID: "msg_1", partID: "prt_t", callID: "c1", tool: "task", input: {}, status: "completed", metadata: {} };
    // What the server has stored: each part whole, in session order (how an attaching Turn replays).
    const rebuilt: WireReply[] = [
      ...full.filter(([s]) => s === "ses_root").slice(0, 2).map(([s, p, t, k]) => delta(s, p, t, k)),
      tool,
      delta("ses_sub", "prt_c", full[2]![2]),
      delta("ses_root", "prt_d", full[3]![2]),
    ];
    const expected = new Map(full.map(([, p, t]) => [p, t]));
    for (let k = 0; k <= interleaved.length; k++) {
      const tracker = new CursorTracker();
      interleaved.slice(0, k).forEach((reply) => tracker.see(reply));
      const resumed = await collect(skipDelivered(from(rebuilt), tracker.cursor));
      const browser = textByPart(interleaved.slice(0, k));
      for (const [part, text] of textByPart(resumed)) browser.set(part, (browser.get(part) ?? "") + text);
      expect(browser, `after frame ${k}`).toEqual(expected);
      // Non-text replies are states keyed by id: the rebuilt turn sends them again.
      expect(resumed.filter((r) => r.kind === "tool_result")).toEqual([tool]);
    }
  });

  it("drops nothing of a part the server never stored (a retry's discarded part) and everything before it", async () => {
    const cursor = [{ sessionID: "ses_1", partID: "prt_2", offset: 5 }];
    // prt_2 was discarded by a retry: stored empty, so the rebuilt turn has no text for it.
    const resumed = await collect(skipDelivered(from([delta("ses_1", "prt_1", "old text"), delta("ses_1", "prt_3", "retried text")]), cursor));
    expect(resumed).toEqual([delta("ses_1", "prt_3", "retried text")]);
  });
});

describe("resuming by the rule", () => {
  it("an id of this process's stream replays from its frame number; another stream's id goes to the attach hook with its cursor", async () => {
    const asked: FramePosition[] = [];
    const replays = new TurnReplays<WireReply>({
      attach: async (position) => {
        asked.push(position);
        return from<WireReply>([delta("ses_a", "prt_1", "Hello world"), { kind: "final", sessionID: "ses_a", messageID: "msg_x", text: "Hello world", finish: "stop", usage: usage(), subagentUsage: usage() }]);
      },
    });
    const turn = { sessionID: "ses_a", messageID: "msg_a" };
    const replay = replays.add(turn, from<WireReply>([delta("ses_a", "prt_1", "Hello"), delta("ses_a", "prt_1", " world")]));
    await replay.ended;

    const own = await resumeSSEResponse(`ses_a:msg_a:${replay.stream}.1`, { replays });
    expect((await collectBody(own)).map((r) => (r.kind === "delta" ? r.text : r.kind))).toEqual([" world"]);
    expect(asked).toEqual([]);

    const other = await resumeSSEResponse("ses_a:msg_a:zzzzzz.9:ses_a/prt_1/5", { replays });
    const body = await other.text();
    expect(asked).toEqual([{ sessionID: "ses_a", messageID: "msg_a", stream: "zzzzzz", seq: 9, cursor: [{ sessionID: "ses_a", partID: "prt_1", offset: 5 }] }]);
    // The hook's frames get a stream of their own; every id keeps the browser's cursor moving.
    const ids = body.match(/^id: .*$/gm)!.map((line) => parseFrameId(line.slice(4))!);
    expect(ids.map((p) => [p.seq, p.cursor])).toEqual([
      [0, [{ sessionID: "ses_a", partID: "prt_1", offset: 5 }]],
      [1, [{ sessionID: "ses_a", partID: "prt_1", offset: 16 }]],
      [2, [{ sessionID: "ses_a", partID: "prt_1", offset: 16 }]],
    ]);
    expect(ids[0]!.stream).not.toBe("zzzzzz");
    expect(ids[0]!.stream).not.toBe(replay.stream);
  });

  it("without an attach hook, another process's stream is not found (404)", async () => {
    const replays = new TurnReplays<WireReply>();
    const replay = replays.add({ sessionID: "ses_b", messageID: "msg_b" }, from<WireReply>([delta("ses_b", "prt_1", "x")]));
    await replay.ended;
    expect((await resumeSSEResponse("ses_b:msg_b:other.1", { replays })).status).toBe(404);
  });
});

function usage() {
  return { input: 0, output: 0, reasoning: 0, cacheRead: 0, cacheWrite: 0, cost: 0 };
}

/** The replies of an SSE body that ends without a terminal reply (readReplies would call that a drop). */
async function collectBody(response: Response): Promise<WireReply[]> {
  const body = await response.text();
  return [...body.matchAll(/^event: reply\ndata: (.*)$/gm)].map((match) => JSON.parse(match[1]!) as WireReply);
}
