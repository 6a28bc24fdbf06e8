// Bad setup is a typed ConfigurationError (an OpencodeError), thrown at once and never echoing
// the value when it could hold a password.
import { describe, expect, it } from "vitest";
import { ConfigurationError, createClient, OpencodeError } from "../../src/index.js";
import { parseModel, promptBody } from "../../src/turn/prompt-body.js";

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected a throw");
}

describe("configuration errors", () => {
  it("a base URL that is not an absolute URL is a ConfigurationError", () => {
    const error = thrown(() => createClient({ baseUrl: "http://[::1" }));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error).toBeInstanceOf(OpencodeError);
    expect(error).toMatchObject({ name: "ConfigurationError", retryable: false, message: "opencode-serve-client: baseUrl is not a valid absolute URL" });
  });

  it("a base URL with another scheme is a ConfigurationError naming the scheme", () => {
    const error = thrown(() => createClient({ baseUrl: "ws://127.0.0.1:4096" }));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toBe("opencode-serve-client: baseUrl must be http or https, not ws:");
  });

  it.each(["claude-sonnet", "/m", "anthropic/", ""])("the model string %j is a ConfigurationError", (model) => {
    const error = thrown(() => parseModel(model));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toBe(`model must look like "provider/model", got ${JSON.stringify(model)}`);
    expect(thrown(() => promptBody("msg_1", "hi", { model }, () => "prt_1"))).toBeInstanceOf(ConfigurationError);
  });

  it("a model string splits at the first slash", () => {
    expect(parseModel("openrouter/anthropic/claude")).toEqual({ providerID: "openrouter", modelID: "anthropic/claude" });
  });
});
