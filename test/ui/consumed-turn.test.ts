// A Turn has one reader: re-broadcasting one that is already being read sends an error frame
// instead of crashing the process with an unhandled rejection.
import { describe, expect, it } from "vitest";
import { toSSEResponse } from "../../src/ui/sse.js";
import { World } from "../turn/engine-harness.js";

describe("toSSEResponse on a turn already being read", () => {
  it("sends one error frame saying so and ends", async () => {
    const world = new World();
    const turn = world.prompt("ses_consumed", "hi", { messageID: "msg_consumed" });
    const reader = turn[Symbol.asyncIterator]();
    void reader.next();
    const body = await toSSEResponse(turn, { heartbeatMs: 0 }).text();
    const frames = body.split("\n\n").filter((frame) => frame.includes("event: reply"));
    expect(frames).toHaveLength(1);
    expect(frames[0]).toContain('"kind":"error"');
    expect(frames[0]).toContain('"name":"StreamError"');
    expect(frames[0]).toContain("already being read elsewhere");
    await turn.abort();
  });
});
