// The per-turn replay buffer behind resumable re-broadcasts: numbered frames, readers from any kept
// position, bounded memory, a clear answer for positions it dropped, abort when a reader never returns.
import { describe, expect, it } from "vitest";
import { resumeSSEResponse } from "../../src/ui/sse.js";
import { ReplayGapError, TurnReplays } from "../../src/ui/replay.js";
import { OpencodeError } from "../../src/http/errors.js";
import type { WireReply } from "../../src/browser/wire.js";

/** A source the test pushes into by hand. */
function manual<T>() {
  const queue: T[] = [];
  let wake = () => {};
  let ended = false;
  return {
    push(item: T) {
      queue.push(item);
      wake();
    },
    end() {
      ended = true;
      wake();
    },
    async *[Symbol.asyncIterator]() {
      for (;;) {
        while (queue.length) yield queue.shift()!;
        if (ended) return;
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
  };
}

const position = { sessionID: "ses_a", messageID: "msg_a" };
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("TurnReplay", () => {
  it("gives every reader the frames after its position, live, numbered from 1", async () => {
    const source = manual<string>();
    const replay = new TurnReplays<string>().add(position, source);
    source.push("a");
    source.push("b");
    await tick();
    const early = replay.read(0);
    const late = replay.read(1);
    const got: string[][] = [[], []];
    const reading = Promise.all(
      [early, late].map(async (reader, i) => {
        for await (const { seq, item } of reader) got[i]!.push(`${seq}${item}`);
      }),
    );
    source.push("c");
    source.end();
    await reading;
    expect(got).toEqual([["1a", "2b", "3c"], ["2b", "3c"]]);
    expect(replay.head).toBe(3);
  });

  it("keeps at most maxFrames, and a position older than that is a gap (410 to a reconnect)", async () => {
    const source = manual<WireReply>();
    const replays = new TurnReplays<WireReply>({ maxFrames: 8 });
    const replay = replays.add(position, source);
    for (let i = 0; i < 100; i++) source.push({ kind: "delta", sessionID: "ses_a", messageID: "m", partID: "p", text: String(i) });
    await tick();
    expect(replay.keeps(0)).toBe(false);
    expect(replay.keeps(99)).toBe(true);
    await expect(replay.read(0).next()).rejects.toBeInstanceOf(ReplayGapError);
    // One of the SDK's typed errors, as every failure it hands out.
    await expect(replay.read(0).next()).rejects.toMatchObject({ retryable: false });
    await expect(replay.read(0).next()).rejects.toBeInstanceOf(OpencodeError);
    expect((await resumeSSEResponse("ses_a:msg_a:1", { replays })).status).toBe(410);
    const resumed = await resumeSSEResponse("ses_a:msg_a:98", { replays });
    expect(resumed.status).toBe(200);
    source.end();
    const body = await resumed.text();
    expect(body.match(/^id: .*$/gm)).toEqual([`id: ses_a:msg_a:${replay.stream}.99`, `id: ses_a:msg_a:${replay.stream}.100`]);
  });

  it("a reader that leaves before the end triggers the abandon callback only if nobody reads within the grace time", async () => {
    const source = manual<string>();
    const replay = new TurnReplays<string>().add(position, source);
    let abandoned = 0;
    replay.abandon(30, () => abandoned++);
    const back = replay.read(0);
    const next = back.next();
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(abandoned).toBe(0);
    source.push("x");
    await next;
    await back.return(undefined);
    replay.abandon(30, () => abandoned++);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(abandoned).toBe(1);
    source.end();
  });
});
