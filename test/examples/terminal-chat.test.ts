// examples/terminal-chat driven through a pipe as a user would type: replies stream in, Ctrl-C
// (SIGINT) aborts the running turn and the session takes the next prompt, Ctrl-C at the prompt
// exits 0 and stops the local server.
import { afterAll, describe, expect, it } from "vitest";
import { leftBehind, refusesConnections, startExample, type ExampleProcess } from "./example-process.js";

let chat: ExampleProcess | undefined;
let serverPids: number[] = [];

afterAll(async () => {
  await chat?.stop(serverPids);
});

/** How many separate writes the text between `from` and `to` of the output arrived in. */
function writesBetween(example: ExampleProcess, from: number, to: number): number {
  return example.chunks.filter((chunk) => chunk.offset >= from && chunk.offset < to).length;
}

describe("examples/terminal-chat", () => {
  it("streams replies, aborts the running turn on Ctrl-C, goes on, and exits on Ctrl-C at the prompt", async () => {
    chat = startExample("examples/terminal-chat/main.ts");
    const connected = await chat.waitFor(/connected to a local opencode \S+ \(scripted model, (http:\/\/127\.0\.0\.1:\d+)\); session ses_\w+/, {
      timeoutMs: 45_000,
    });
    const serverUrl = connected.match[1]!;
    serverPids = chat.children();
    expect(serverPids.length).toBeGreaterThan(0);
    let at = (await chat.waitFor(/^> $/m, { from: connected.end })).end;

    // Turn 1: the whole reply, word by word, then the done marker and a new prompt.
    chat.child.stdin.write("hello there\n");
    const first = await chat.waitFor(/You said: hello there\. This is reply number 1, streamed word by word\.\n\[done: \d+ tokens out\]\n> /, { from: at });
    expect(writesBetween(chat, at, first.end), "reply 1 arrived in one piece, not streamed").toBeGreaterThanOrEqual(4);
    at = first.end;

    // Turn 2: Ctrl-C as soon as the reply starts streaming.
    chat.child.stdin.write("second question\n");
    const streaming = await chat.waitFor(/You/, { from: at });
    chat.child.kill("SIGINT");
    const aborted = await chat.waitFor(/\[aborting…\]\n[\s\S]*?\[AbortedError: [^\]\n]*\]\n> /, { from: streaming.end });
    const secondTurn = chat.output().slice(at, aborted.end);
    expect(secondTurn).not.toContain("reply number 2, streamed word by word.");
    expect(secondTurn).not.toContain("[done");
    at = aborted.end;

    // Turn 3: the aborted turn released the session; the next prompt runs normally.
    chat.child.stdin.write("third\n");
    const third = await chat.waitFor(/You said: third\. This is reply number 3, streamed word by word\.\n\[done: \d+ tokens out\]\n> /, { from: at });
    expect(chat.output().slice(at, third.end)).not.toMatch(/Error/);

    // Ctrl-C with no turn running: a clean exit that takes the local server with it.
    chat.child.kill("SIGINT");
    const exit = await Promise.race([
      chat.exited,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`still running 15 s after Ctrl-C:\n${chat?.output()}`)), 15_000)),
    ]);
    expect(exit, chat.output()).toEqual({ code: 0, signal: null });
    expect(await refusesConnections(serverUrl)).toBe(true);
    expect(leftBehind(serverPids)).toEqual([]);
  }, 120_000);
});
