// The page: `useChat` from @ai-sdk/react against server.ts. opencode's tools arrive as dynamic
// tools, permission requests as tool approvals (answered with addToolApprovalResponse), sub-agents,
// questions, compaction and retries as data parts, usage and cost as message metadata.

import { useChat } from "@ai-sdk/react";
import { DefaultChatTransport, type DynamicToolUIPart, type UIMessage } from "ai";
import { useState } from "react";
import { createRoot } from "react-dom/client";
import { approvalsAnswered } from "../../src/browser/index.js";
import type { OpencodeUIDataTypes, OpencodeUIMetadata } from "../../src/ui/ai-sdk.js";

type ChatMessage = UIMessage<OpencodeUIMetadata, OpencodeUIDataTypes>;
const sendApprovals = approvalsAnswered();

function Tool({ part, approve }: { part: DynamicToolUIPart; approve: (id: string, approved: boolean) => void }) {
  const command = (part.input as { command?: string } | undefined)?.command;
  return (
    <div className="tool" data-state={part.state}>
      {part.toolName} {part.state}
      {command ? `: ${command}` : ""}
      {part.state === "approval-requested" && (
        <span className="approval">
          <button onClick={() => approve(part.approval.id, true)}>Approve</button>
          <button onClick={() => approve(part.approval.id, false)}>Deny</button>
        </span>
      )}
    </div>
  );
}

function Message({ message, approve }: { message: ChatMessage; approve: (id: string, approved: boolean) => void }) {
  return (
    <div className={`msg ${message.role}`}>
      {message.parts.map((part, i) => {
        if (part.type === "text") {
          const child = (part.providerMetadata as { opencode?: { sessionID: string } } | undefined)?.opencode;
          return <span key={i} className={child ? "text subagent" : "text"}>{part.text}</span>;
        }
        if (part.type === "reasoning") return <em key={i} className="reasoning">{part.text}</em>;
        if (part.type === "dynamic-tool") return <Tool key={i} part={part} approve={approve} />;
        if (part.type === "data-subagent") return <div key={i} className="subagent">sub-agent {part.data.agent}: {part.data.description} ({part.data.status})</div>;
        if (part.type === "data-question") return <div key={i} className="question">{part.data.questions.map((q) => q.question).join(" ")} ({part.data.status})</div>;
        if (part.type === "data-compaction") return <div key={i} className="compaction">context compacted</div>;
        if (part.type === "data-retry") return <div key={i} className="retry">retrying: {part.data.message}</div>;
        return null;
      })}
      {message.metadata?.cost !== undefined && <div className="cost">${message.metadata.cost.toFixed(4)}</div>}
    </div>
  );
}

function Chat() {
  const { messages, sendMessage, addToolApprovalResponse, status, error } = useChat<ChatMessage>({
    transport: new DefaultChatTransport({ api: "/api/chat" }),
    sendAutomaticallyWhen: sendApprovals,
  });
  const [input, setInput] = useState("");
  const approve = (id: string, approved: boolean) => void addToolApprovalResponse({ id, approved });
  return (
    <main data-status={status}>
      <h1>opencode × useChat</h1>
      {messages.map((message) => <Message key={message.id} message={message} approve={approve} />)}
      {error && <div className="error">{error.message}</div>}
      <form onSubmit={(event) => { event.preventDefault(); if (input.trim()) void sendMessage({ text: input }); setInput(""); }}>
        <input id="text" value={input} onChange={(event) => setInput(event.target.value)} placeholder="Ask something" autoComplete="off" />
        <button disabled={status === "streaming" || status === "submitted"}>Send</button>
      </form>
    </main>
  );
}

createRoot(document.getElementById("root")!).render(<Chat />);
