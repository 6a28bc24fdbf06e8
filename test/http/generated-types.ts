// Compile-time checks that the generated types accept real free-form JSON (run by `npm run typecheck`):
// the spec's bare `{ type: "object" }` fields must read as `Record<string, unknown>`, not `never`.
// Each @ts-expect-error fails the typecheck if the types ever stop rejecting that value.
import type { components, PromptOptions } from "../../src/index.js";
import { createClient } from "../../src/index.js";

type Schemas = components["schemas"];

export async function structuredOutputWithNestedSchema(): Promise<void> {
  const format: PromptOptions["format"] = {
    type: "json_schema",
    schema: {
      type: "object",
      properties: {
        title: { type: "string" },
        files: { type: "array", items: { type: "object", properties: { path: { type: "string" }, lines: { type: "integer", minimum: 0 } }, required: ["path"] } },
      },
      required: ["title", "files"],
      additionalProperties: false,
    },
    retryCount: 2,
  };
  const client = createClient();
  const session = client.session.get("ses_x");
  await session.run("Summarize the project as JSON.", { format });
  await client.request("post", "/session/{sessionID}/prompt_async", {
    path: { sessionID: session.id },
    body: { parts: [{ type: "text", text: "hi" }], format },
  });
  // @ts-expect-error the schema is still an object, not a string
  const notAnObject: Schemas["OutputFormatJsonSchema"] = { type: "json_schema", schema: "{}" };
  void notAnObject;
}

export function toolPartInputsAndMetadataAreReadable(part: Schemas["ToolPart"]): string {
  const { state } = part;
  const command = state.input["command"];
  // Reading a field gives unknown, which must be narrowed before use.
  // @ts-expect-error unknown is not a string
  const unchecked: string = command;
  void unchecked;
  if (state.status === "completed") {
    const exit = state.metadata["exit"];
    return typeof exit === "number" ? `${String(command)} exited ${exit}` : state.output;
  }
  const pending: Schemas["ToolStatePending"] = { status: "pending", input: { command: "ls", nested: { deep: [1, "two", null] } }, raw: "" };
  return typeof pending.input["command"] === "string" ? pending.input["command"] : "";
}

export function providerOptionsAreReadable(provider: Schemas["Provider"]): unknown {
  provider.options satisfies Record<string, unknown>;
  return provider.options["baseURL"];
}
