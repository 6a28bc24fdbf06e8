// The app under test: a small feature built on opencode-serve-client. It asks the agent a question,
// lets it use tools except the shell (bash permission requests are rejected), and returns the
// answer — or throws the turn's typed error. In your project the import is "opencode-serve-client".
import { StoppedAfterToolCallsError, type Session } from "../../src/node.js";

export interface Answer {
  text: string;
  /** The shell commands the agent asked to run and was refused. */
  refused: string[];
}

export async function ask(session: Session, question: string): Promise<Answer> {
  const refused: string[] = [];
  const turn = session.prompt(question);
  for await (const reply of turn) {
    if (reply.kind !== "permission") continue;
    const shell = reply.permission === "bash";
    if (shell) refused.push(reply.patterns.join(" "));
    await session.respond(reply.id, shell ? "reject" : "once");
  }
  try {
    const final = await turn.done; // rejects with the typed error when the turn failed
    return { text: final.text, refused };
  } catch (error) {
    // A refused command ends the agent's run there: its answer is what it said before asking.
    if (error instanceof StoppedAfterToolCallsError && refused.length > 0) return { text: error.partialText, refused };
    throw error;
  }
}
