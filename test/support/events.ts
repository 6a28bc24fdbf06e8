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
  permissionReplied: (sessionID: string, requestID: string, reply: "once" | "always" | "reject") =>
    event("permission.replied", { sessionID, requestID, reply }),
  question: (sessionID: string, id: string, tool?: { messageID: string; callID: string }) =>
    event("question.asked", {
      id,
      sessionID,
      questions: [
        { question: "Which color?", header: "Color", options: [{ label: "Red", description: "warm" }, { label: "Blue", description: "cool" }] },
      ],
      ...(tool ? { tool } : {}),
    }),
  questionReplied: (sessionID: string, requestID: string, answers: string[][]) => event("question.replied", { sessionID, requestID, answers }),
  questionRejected: (sessionID: string, requestID: string) => event("question.rejected", { sessionID, requestID }),
  /** A sub-agent's session, as the server announces it (its id is also `sessionID`). */
  sessionCreated: (id: string, parentID: string, title = "Child (@general subagent)") =>
    event("session.created", { sessionID: id, info: { id, parentID, title, slug: "s", projectID: "p", directory: "/d", version: "1", time: { created: 1, updated: 1 } } }),
  /** The parent's `task` tool part; with `child`, its metadata names the sub-agent's session. */
  task: (sessionID: string, messageID: string, partID: string, status: "pending" | "running" | "completed", child?: string) =>
    event("message.part.updated", {
      sessionID,
      part: {
        id: partID,
        sessionID,
        messageID,
        type: "tool",
        callID: "call_task",
        tool: "task",
        state: {
          status,
          input: status === "pending" ? {} : { description: "Look around", prompt: "look", subagent_type: "general" },
          ...(child ? { metadata: { sessionId: child, parentSessionId: sessionID } } : {}),
          ...(status === "completed" ? { output: "done", title: "Look around", time: { start: 1, end: 2 } } : status === "running" ? { time: { start: 1 } } : { raw: "" }),
        },
      },
      time: 3_000,
    }),
  compactionPart: (sessionID: string, messageID: string, auto = true) =>
    event("message.part.updated", { sessionID, part: { id: `prt_c_${messageID}`, sessionID, messageID, type: "compaction", auto, overflow: false } }),
  /** The part that closes one model step (its `reason` is the step's finish). */
  stepFinish: (sessionID: string, messageID: string, reason: string) =>
    event("message.part.updated", {
      sessionID,
      part: { id: `prt_f_${messageID}`, sessionID, messageID, type: "step-finish", reason, cost: 0, tokens: { input: 0, output: 0, reasoning: 0, cache: { read: 0, write: 0 } } },
    }),
  syntheticText: (sessionID: string, messageID: string, text: string) =>
    event("message.part.updated", { sessionID, part: { id: `prt_s_${messageID}`, sessionID, messageID, type: "text", text, synthetic: true, time: { start: 1, end: 1 } } }),
};

/** An assistant message that finished: a finish reason and a completion time. */
export const finished = (extra: Record<string, unknown> = {}) => ({ finish: "stop", time: { created: 2_000, completed: 2_500 }, ...extra });
