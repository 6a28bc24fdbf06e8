// session.attach() over the scripted server of the engine tests: which stored prompt it follows.
import { describe, expect, it } from "vitest";
import { Session, type SessionDeps } from "../../src/session/session.js";
import { World } from "../turn/engine-harness.js";

const S = "ses_long";

describe("session.attach()", () => {
  it("finds the running turn's prompt behind more than one page of its messages", async () => {
    const world = new World();
    world.server.sessions[S] = { id: S, title: "long" };
    world.server.status = { [S]: { type: "busy" } };
    const prompt = { info: { id: "msg_0001", sessionID: S, role: "user", time: { created: 1 } }, parts: [{ id: "prt_p", sessionID: S, messageID: "msg_0001", type: "text", text: "go" }] };
    // A long agent run: 120 assistant steps answering the one prompt.
    const steps = Array.from({ length: 120 }, (_, i) => ({
      info: { id: `msg_1${String(i).padStart(3, "0")}`, sessionID: S, role: "assistant", parentID: "msg_0001", time: { created: 2 + i } },
      parts: [],
    }));
    world.server.messages = [prompt, ...steps];
    // attach needs only what a Turn does; the whole hub (for views) is not used here.
    const turn = await new Session(world.deps as SessionDeps, S).attach();
    expect(turn?.messageID).toBe("msg_0001");
    turn!.abort().catch(() => {});
  });
});
