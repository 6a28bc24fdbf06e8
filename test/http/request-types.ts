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

export async function typedOneLiners(): Promise<void> {
  const client = createClient();
  const session = client.session.get("ses_x");
  const controller = new AbortController();
  const call = { signal: controller.signal, timeoutMs: 5_000 };

  (await session.fork(call)).id satisfies string;
  (await session.fork({ messageID: "msg_1", ...call })).info?.title satisfies string | undefined;
  (await session.share(call)).share?.url satisfies string | undefined;
  (await session.unshare(call)).id satisfies string;
  (await session.revert("msg_1", { partID: "prt_1", ...call })).revert?.messageID satisfies string | undefined;
  (await session.unrevert(call)).id satisfies string;
  (await session.summarize({ model: "anthropic/claude-sonnet-4-5", ...call })) satisfies boolean;
  (await session.shell("ls", { agent: "build", signal: call.signal }).done).text satisfies string;
  (await session.command("init", "", { model: { providerID: "p", modelID: "m" }, signal: call.signal }).done).messageID satisfies string | undefined;
  (await session.diff({ messageID: "msg_1", ...call }))[0]?.file satisfies string | undefined;
  (await session.todo(call))[0]?.content satisfies string | undefined;
  (await session.children(call))[0]?.id satisfies string | undefined;
  (await session.update({ title: "new" }, call)).title satisfies string;
  (await session.messages({ limit: 5, ...call }))[0]?.info.id satisfies string | undefined;

  (await client.provider.list(call)).connected satisfies string[];
  (await client.provider.models({ all: true, ...call }))[0]?.id satisfies string | undefined;
  (await client.agent.list(call))[0]?.name satisfies string | undefined;
  (await client.config.get(call)).model satisfies string | undefined;
  (await client.file.read("README.md", call)).content satisfies string;
  (await client.file.list("src", call))[0]?.type satisfies "file" | "directory" | undefined;
  (await client.file.status(call))[0]?.added satisfies number | undefined;
  (await client.find.text("TODO", call))[0]?.line_number satisfies number | undefined;
  (await client.find.files("app", { type: "file", limit: 10, ...call }))[0] satisfies string | undefined;
  (await client.find.symbols("main", call))[0]?.name satisfies string | undefined;

  // @ts-expect-error the title is a string
  await session.update({ title: 5 });
  // @ts-expect-error update takes only the spec's fields
  await session.update({ name: "x" });
  // @ts-expect-error summarize needs a model
  await session.summarize({});
  // @ts-expect-error find.files type is "file" or "directory"
  await client.find.files("app", { type: "folder" });
  // @ts-expect-error per-call options are typed
  await client.agent.list({ timeoutMs: "soon" });
}
