// The scenario every runtime test runs, written against the universal entry only (no Node API):
// create a session, stream a turn whose bash call asks a permission, answer it with
// `session.respond`, and let the turn complete. Returns what happened, for the Node-side test to check.

import { createClient, type Reply } from "../../src/index.js";

export interface ScenarioInput {
  baseUrl: string;
  username: string;
  password: string;
  /** The prompt, scripted-model directive included (built on the Node side). */
  prompt: string;
}

export interface ScenarioResult {
  /** Reply kinds in order, consecutive repeats (delta, reasoning) collapsed. */
  kinds: string[];
  tool: string | undefined;
  permission: string | undefined;
  toolStatus: string | undefined;
  toolOutput: string | undefined;
  finalText: string;
  /** The SDK's error class name and message if anything threw. */
  error?: string;
}

export async function runScenario(input: ScenarioInput): Promise<ScenarioResult> {
  const client = createClient({ baseUrl: input.baseUrl, username: input.username, password: input.password, logger: {} });
  const result: ScenarioResult = { kinds: [], tool: undefined, permission: undefined, toolStatus: undefined, toolOutput: undefined, finalText: "" };
  try {
    const session = await client.session.create({ title: "runtime check" });
    const turn = session.prompt(input.prompt);
    for await (const reply of turn as AsyncIterable<Reply>) {
      if (result.kinds.at(-1) !== reply.kind) result.kinds.push(reply.kind);
      if (reply.kind === "tool_call") result.tool = reply.tool;
      if (reply.kind === "permission") {
        result.permission = reply.permission;
        await session.respond(reply.id, "once");
      }
      if (reply.kind === "tool_result") {
        result.toolStatus = reply.status;
        if (reply.status === "completed") result.toolOutput = reply.output;
      }
    }
    result.finalText = (await turn.done).text;
  } catch (error) {
    result.error = `${(error as Error).name}: ${(error as Error).message}`;
  } finally {
    await client.close();
  }
  return result;
}
