// The official `@opencode-ai/sdk/v2` (1.18.33) in the turn benchmark, written the way its users
// would: subscribe `event.subscribe()`, wait for `server.connected`, `session.promptAsync(...)`,
// then read events until the session goes idle. The SDK has no notion of a turn, so the loop
// tracks message roles and part types itself: reasoning deltas also say `field: "text"`, only the
// earlier `message.part.updated` tells them apart.

import { createOpencodeClient } from "@opencode-ai/sdk/v2";
import { serveTurns, type TurnClient } from "./harness.js";

serveTurns((server): TurnClient<string> => {
  const client = createOpencodeClient({
    baseUrl: server.url,
    headers: { authorization: `Basic ${Buffer.from(`${server.username}:${server.password}`).toString("base64")}` },
  });

  return {
    async createSession() {
      const { data } = await client.session.create(undefined, { throwOnError: true });
      return data.id;
    },
    async turn(sessionID, prompt, marks) {
      // `break` leaves the socket open; only aborting the request closes it.
      const controller = new AbortController();
      // Left to its defaults the stream swallows errors and retries forever; one attempt with the
      // error kept makes a broken turn fail instead of hang.
      let failure: unknown;
      const { stream } = await client.event.subscribe(undefined, {
        signal: controller.signal,
        sseMaxRetryAttempts: 1,
        onSseError: (error) => (failure = error),
      });
      try {
        const first = await stream.next();
        if (first.done || first.value.type !== "server.connected") {
          throw new Error(`the event stream did not open: ${first.done ? String(failure) : first.value.type}`);
        }
        marks.connected();
        await client.session.promptAsync({ sessionID, parts: [{ type: "text", text: prompt }] }, { throwOnError: true });

        const roles = new Map<string, string>();
        const partTypes = new Map<string, string>();
        const textByMessage = new Map<string, string>();
        let lastTextMessage: string | undefined;
        for await (const event of stream) {
          switch (event.type) {
            case "message.updated":
              if (event.properties.sessionID === sessionID) roles.set(event.properties.info.id, event.properties.info.role);
              break;
            case "message.part.updated":
              if (event.properties.sessionID === sessionID) partTypes.set(event.properties.part.id, event.properties.part.type);
              break;
            case "message.part.delta": {
              const { sessionID: id, messageID, partID, field, delta } = event.properties;
              if (id !== sessionID || field !== "text") break;
              if (roles.get(messageID) !== "assistant" || partTypes.get(partID) !== "text") break;
              marks.firstDelta();
              textByMessage.set(messageID, (textByMessage.get(messageID) ?? "") + delta);
              lastTextMessage = messageID;
              break;
            }
            case "session.status":
              if (event.properties.sessionID !== sessionID || event.properties.status.type !== "idle") break;
              return ended();
            case "session.idle":
              if (event.properties.sessionID !== sessionID) break;
              return ended();
          }
        }
        throw new Error(`the event stream ended before the session went idle${failure === undefined ? "" : `: ${String(failure)}`}`);

        function ended() {
          marks.end();
          controller.abort();
          return { text: lastTextMessage === undefined ? "" : (textByMessage.get(lastTextMessage) ?? ""), connections: 1 };
        }
      } finally {
        controller.abort();
      }
    },
    close: async () => {},
  };
});
