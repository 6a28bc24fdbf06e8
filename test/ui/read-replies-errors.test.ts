// readReplies (the browser entry) fails with a typed StreamError, an OpencodeError, when the reply
// stream is not one or ends before the turn did.
import { describe, expect, it } from "vitest";
import { OpencodeError, readReplies, StreamError } from "../../src/browser/index.js";

async function failure(response: Response): Promise<unknown> {
  try {
    for await (const _reply of readReplies(response)) {
      // drain
    }
  } catch (error) {
    return error;
  }
  throw new Error("expected readReplies to fail");
}

describe("readReplies errors", () => {
  it("a non-2xx answer is a StreamError naming the status", async () => {
    const error = await failure(new Response("no", { status: 502 }));
    expect(error).toBeInstanceOf(StreamError);
    expect(error).toBeInstanceOf(OpencodeError);
    expect((error as Error).message).toBe("reply stream answered 502");
  });

  it("a response that is not an event stream is a StreamError naming its content-type", async () => {
    const error = await failure(new Response("{}", { headers: { "content-type": "application/json" } }));
    expect(error).toBeInstanceOf(StreamError);
    expect((error as Error).message).toBe("reply stream has content-type application/json, not text/event-stream");
  });

  it("a stream that ends before a terminal reply is a StreamError", async () => {
    const error = await failure(new Response(": heartbeat\n\n", { headers: { "content-type": "text/event-stream" } }));
    expect(error).toBeInstanceOf(StreamError);
    expect((error as Error).message).toBe("reply stream ended before the turn did");
  });
});

describe("readReplies abort", () => {
  it("hands out no reply after the caller aborted, even from the same chunk", async () => {
    const frame = (text: string) => `event: reply\ndata: ${JSON.stringify({ kind: "delta", sessionID: "s", messageID: "m", partID: "p", text })}\n\n`;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        // Three replies in one chunk, and the stream stays open.
        controller.enqueue(new TextEncoder().encode(frame("a") + frame("b") + frame("c")));
      },
    });
    const controller = new AbortController();
    const seen: string[] = [];
    for await (const reply of readReplies(body, { signal: controller.signal })) {
      if (reply.kind === "delta") seen.push(reply.text);
      if (seen.length === 1) controller.abort();
    }
    expect(seen).toEqual(["a"]);
  });
});
