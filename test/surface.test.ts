// The root entry exports what the docs document and nothing else: the client, the codec's
// `mapEvent` / `initialTurnState`, reply and error types, the UI adapters. Codec internals and the
// constructors of objects the client hands out (turns, sessions, the event hub) are not API.
import { describe, expect, it } from "vitest";
import * as api from "../src/index.js";

describe("the public surface", () => {
  it("keeps codec internals and handed-out classes' constructors out", () => {
    for (const internal of [
      "markGap", "applySnapshot", "isCatchingUp", "unplacedSessions", "unfinishedWhileIdle", "messageText", "lastAssistantText",
      "classifyProviderError", "EventHub", "EventSubscription", "SessionMutex", "Turn", "Session", "Sessions", "ServerInfo",
      "Providers", "Agents", "Config", "Files", "Find", "UIMessageChunks", "assistantMessageId", "CursorTracker", "skipDelivered", "TurnReplay",
    ]) {
      expect(api, internal).not.toHaveProperty(internal);
    }
  });

  it("exports the documented entry points and every error class", () => {
    for (const name of [
      "createClient", "mapEvent", "initialTurnState", "toSSEResponse", "pipeTurnToNodeResponse", "resumeSSEResponse", "toUIMessageStream",
      "toUIMessageStreamResponse", "UIChats", "TurnReplays", "attachFromServer", "toWireReply", "toWireError", "browserSafeMessage", "frameId",
    ]) {
      expect(api, name).toHaveProperty(name);
    }
    const errors = Object.entries(api as Record<string, unknown>).filter(
      (entry): entry is [string, abstract new (...args: never[]) => unknown] => typeof entry[1] === "function" && entry[1].prototype instanceof Error,
    );
    expect(errors.length).toBeGreaterThan(20);
    for (const [name, value] of errors) if (value !== api.OpencodeError) expect(value.prototype, name).toBeInstanceOf(api.OpencodeError);
  });
});
