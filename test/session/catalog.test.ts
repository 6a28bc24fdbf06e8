// The client's catalog of agents and models: what it refuses before sending, the context window it
// knows, and that a server which cannot answer (or answers garbage) is not asked again per turn.
import { describe, expect, it } from "vitest";
import type { TypedRequest } from "../../src/http/paths.js";
import { ServerCatalog } from "../../src/session/catalog.js";
import { UnsupportedAttachmentError } from "../../src/session/attachments.js";
import { UnknownAgentError } from "../../src/turn/errors.js";
import type { TurnStart } from "../../src/turn/turn.js";

function catalog(answers: Record<string, () => unknown>) {
  const calls: string[] = [];
  const request = (async (_method: string, path: string) => {
    calls.push(path);
    const answer = answers[path];
    if (!answer) throw new Error(`no ${path}`);
    return answer();
  }) as unknown as TypedRequest;
  return { catalog: new ServerCatalog(request), calls };
}

const signal = new AbortController().signal;
const prompt = (options: Extract<TurnStart, { kind: "prompt" }>["options"], input: Extract<TurnStart, { kind: "prompt" }>["input"] = "hi"): TurnStart => ({ kind: "prompt", input, options });
const providers = {
  all: [{ id: "p", models: { m: { limit: { context: 1_000 }, capabilities: { input: { text: true, image: false } } }, v: { limit: { context: 2_000 }, modalities: { input: ["text", "image"] } } } }],
};

describe("ServerCatalog", () => {
  it("refuses an unknown agent (after reading the list once more) and names the agents there are", async () => {
    const { catalog: c, calls } = catalog({ "/agent": () => [{ name: "build" }, { name: "plan" }], "/provider": () => providers });
    await c.check(prompt({ agent: "plan" }), signal);
    const error = await c.check(prompt({ agent: "nope" }), signal).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnknownAgentError);
    expect(error).toMatchObject({ agent: "nope", available: ["build", "plan"] });
    expect(calls.filter((p) => p === "/agent")).toHaveLength(2);
  });

  it("refuses an image for a model without image input, by capabilities or by modalities", async () => {
    const { catalog: c } = catalog({ "/provider": () => providers });
    const image = [{ type: "file" as const, mime: "image/png", url: "data:image/png;base64,AA", filename: "a.png" }];
    expect(await c.check(prompt({ model: "p/m" }, image), signal).catch((e: unknown) => e)).toBeInstanceOf(UnsupportedAttachmentError);
    await c.check(prompt({ model: "p/v" }, image), signal);
    expect(c.contextWindow({ providerID: "p", modelID: "v" })).toBe(2_000);
  });

  it("a server that fails or answers garbage checks nothing and is not asked again by every turn", async () => {
    const failing = catalog({ "/agent": () => ({ not: "a list" }) });
    for (let i = 0; i < 5; i++) await failing.catalog.check(prompt({ agent: "whatever" }), signal);
    expect(failing.calls.filter((p) => p === "/provider")).toHaveLength(1);
    expect(failing.calls.filter((p) => p === "/agent")).toHaveLength(1);
    const garbage = catalog({ "/provider": () => ({ all: [null, { id: 1 }, { id: "p", models: null }] }) });
    await garbage.catalog.check(prompt({}), signal);
    expect(garbage.catalog.contextWindow({ providerID: "p", modelID: "m" })).toBeUndefined();
  });

  it("a stopped turn stops waiting for a read that hangs", async () => {
    const { catalog: c } = catalog({ "/provider": () => new Promise(() => {}) });
    const stop = new AbortController();
    const checking = c.check(prompt({}), stop.signal);
    stop.abort();
    await expect(checking).rejects.toMatchObject({ name: "AbortError" });
  });
});
