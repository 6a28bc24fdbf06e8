// The page: the SDK itself in the browser, watching one session through the app's /opencode proxy.
// React reads the view with `useSyncExternalStore(view.subscribe, view.get)`: the snapshot is the
// same object until something changes, and a burst of events renders once.

import { useState, useSyncExternalStore } from "react";
import { createRoot } from "react-dom/client";
import { createClient, type SessionSnapshot, type SessionView } from "../../src/index.js";

function useSession(view: SessionView): SessionSnapshot {
  return useSyncExternalStore(view.subscribe, view.get);
}

function Transcript({ view }: { view: SessionView }) {
  const snap = useSession(view);
  const respond = client.session.get(view.sessionID);
  return (
    <>
      <div className="status" data-status={snap.status.type}>
        {snap.status.type}
        {snap.usage.context.limit ? ` · context ${snap.usage.context.used} / ${snap.usage.context.limit}` : ""}
        {snap.usage.cost > 0 ? ` · $${snap.usage.cost.toFixed(4)}` : ""}
      </div>
      {snap.hasOlder && <button onClick={() => void view.loadOlder(20)}>Load older</button>}
      {snap.messages.map(({ info, parts }) => (
        <div key={info.id} className={`msg ${info.role}`}>
          {parts.map((part) =>
            part.type === "text" ? (
              <span key={part.id} className="text">{part.synthetic ? "" : part.text.replace(/\n#script [\s\S]*$/, "")}</span>
            ) : part.type === "tool" ? (
              <div key={part.id} className="tool" data-status={snap.interrupted.has(part.id) ? "interrupted" : part.state.status}>
                {part.tool} {snap.interrupted.has(part.id) ? "interrupted" : part.state.status}
              </div>
            ) : null,
          )}
        </div>
      ))}
      {snap.pending.map((request) => (
        <div key={request.id} className="pending">
          {request.kind === "permission" ? `Allow ${request.permission}: ${request.patterns.join(" ")}?` : request.questions.map((q) => q.question).join(" ")}
          {request.kind === "permission" && (
            <>
              <button onClick={() => void respond.respond(request.id, "once")}>Approve</button>
              <button onClick={() => void respond.respond(request.id, "reject")}>Deny</button>
            </>
          )}
        </div>
      ))}
      {snap.todos.length > 0 && (
        <ul className="todos">
          {snap.todos.map((todo) => (
            <li key={todo.content} data-status={todo.status}>{todo.content}</li>
          ))}
        </ul>
      )}
    </>
  );
}

function Prompt({ sessionID }: { sessionID: string }) {
  const [text, setText] = useState("");
  return (
    <form
      onSubmit={(event) => {
        event.preventDefault();
        if (!text.trim()) return;
        // The app's server runs the turn: to this page it is a turn started elsewhere, like one from a terminal.
        void fetch("/api/prompt", { method: "POST", body: JSON.stringify({ sessionID, text }) });
        setText("");
      }}
    >
      <input value={text} onChange={(event) => setText(event.target.value)} placeholder="Ask something" />
      <button>Send</button>
    </form>
  );
}

// The proxy adds the server's credentials, so none of them reach the browser.
const client = createClient({ baseUrl: new URL("/opencode/", location.href).href, logger: {} });
const stored = sessionStorage.getItem("session-view");
const sessionID: string = stored ?? ((await (await fetch("/api/session", { method: "POST" })).json()) as { id: string }).id;
sessionStorage.setItem("session-view", sessionID);
const view = await client.session.get(sessionID).watch({ history: 20 });
createRoot(document.getElementById("root")!).render(
  <>
    <Transcript view={view} />
    <Prompt sessionID={sessionID} />
  </>,
);
