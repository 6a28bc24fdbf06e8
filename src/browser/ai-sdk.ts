// Browser helper for `useChat` over `toUIMessageStreamResponse`: when to send tool approvals back.
// Structural types only, so pages need no import from this package beyond it (and never `ai` from us).

/** The part of a UI message this looks at. */
export interface ApprovalMessageLike {
  role: string;
  parts: readonly { type: string; state?: string; approval?: { id: string; approved?: boolean } }[];
}

/**
 * For `useChat({ sendAutomaticallyWhen: approvalsAnswered() })`: true once the user answered
 * (`addToolApprovalResponse`) an approval that was not sent yet; the server then calls
 * `session.respond` and streams the rest of the turn. Unlike `ai`'s
 * `lastAssistantMessageIsCompleteWithApprovalResponses` it does not wait for every tool of the step
 * to finish: a sub-agent's permission arrives while its parent's `task` tool is still running.
 */
export function approvalsAnswered(): (options: { messages: readonly ApprovalMessageLike[] }) => boolean {
  const sent = new Set<string>();
  return ({ messages }) => {
    const last = messages.at(-1);
    if (last?.role !== "assistant") return false;
    let fresh = false;
    for (const part of last.parts) {
      const id = part.approval?.id;
      if (part.state === "approval-responded" && id !== undefined && !sent.has(id)) {
        sent.add(id);
        fresh = true;
      }
    }
    return fresh;
  };
}
