// Moved to the package: the testing kit (opencode-serve-client/testing). Kept so existing tests import it from here.
export * from "../../src/testing/openai-responses.js";
