// Compile-time checks of `client.request` typed over the generated paths (run by `npm run typecheck`).
// Each @ts-expect-error fails the typecheck if the types ever stop rejecting that call.
import { createClient } from "../../src/index.js";

export async function typedRequests(): Promise<void> {
  const client = createClient();
  const created = await client.request("post", "/session", { body: { title: "x" } });
  created.id satisfies string;
  const fetched = await client.request("get", "/session/{sessionID}", { path: { sessionID: created.id } });
  fetched.title satisfies string;
  (await client.request("get", "/session")).length satisfies number;
  (await client.request("get", "/global/health")).healthy satisfies boolean;
  const accepted = await client.request("post", "/session/{sessionID}/prompt_async", {
    path: { sessionID: created.id },
    body: { parts: [{ type: "text", text: "hi" }] },
  });
  accepted satisfies undefined;

  // @ts-expect-error path params are required when the spec requires them
  await client.request("get", "/session/{sessionID}", {});
  // @ts-expect-error init cannot be omitted when path params are required
  await client.request("get", "/session/{sessionID}");
  // @ts-expect-error the path has no DELETE
  await client.request("delete", "/global/health");
  // @ts-expect-error body fields are checked
  await client.request("post", "/session", { body: { title: 5 } });
  // @ts-expect-error unknown paths are rejected
  await client.request("get", "/no/such/path");
}
