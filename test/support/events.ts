// Builders for opencode-shaped events (as 1.18.33 sends them), for codec tests.

let counter = 0;
const nextID = (prefix: string) => `${prefix}_${String(++counter).padStart(8, "0")}`;

export interface EventShape {
  id: string;
  type: string;
  properties: Record<string, unknown>;
}

const event = (type: string, properties: Record<string, unknown>): EventShape => ({ id: nextID("evt"), type, properties });

export const ev = {
  userMessage: (sessionID: string, id: string) =>
    event("message.updated", {
      sessionID,
      info: { id, sessionID, role: "user", time: { created: 1_000 }, agent: "build", model: { providerID: "p", modelID: "m" } },
    }),
  assistantMessage: (
    sessionID: string,
    id: string,
    parentID: string,
    extra: Record<string, unknown> = {},
  ) =>
    event("message.updated", {
      sessionID,
      info: {
        id,
        sessionID,
        role: "assistant",
        parentID,
        time: { created: 2_000 },
        modelID: "m",
        providerID: "p",
        mode: "build",
        agent: "build",
        path: { cwd: "/", root: "/" },
        cost: 0,
        tokens: { input: 0, output: 0, reasoning: 0, cache: { read: 0, write: 0 } },
        ...extra,
      },
    }),
  part: (sessionID: string, messageID: string, partID: string, type: "text" | "reasoning", text: string, closed = false) =>
    event("message.part.updated", {
      sessionID,
      part: { id: partID, sessionID, messageID, type, text, time: closed ? { start: 1, end: 2 } : { start: 1 } },
      time: 3_000,
    }),
  tool: (sessionID: string, messageID: string, partID: string, callID: string, tool: string | undefined, state: Record<string, unknown>) =>
    event("message.part.updated", {
      sessionID,
      part: { id: partID, sessionID, messageID, type: "tool", callID, ...(tool === undefined ? {} : { tool }), state },
      time: 3_000,
    }),
  delta: (sessionID: string, messageID: string, partID: string, delta: string) =>
    event("message.part.delta", { sessionID, messageID, partID, field: "text", delta }),
  status: (sessionID: string, status: Record<string, unknown>) => event("session.status", { sessionID, status }),
  idle: (sessionID: string) => event("session.idle", { sessionID }),
  error: (sessionID: string, error: Record<string, unknown>) => event("session.error", { sessionID, error }),
  permission: (sessionID: string, id: string) =>
    event("permission.asked", { id, sessionID, permission: "bash", patterns: ["echo hi"], metadata: {}, always: ["echo *"] }),
};
