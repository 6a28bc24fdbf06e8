// Our client in the turn benchmark: `session.prompt(text)` iterated until `final`. The Turn opens
// the client's shared `/event` connection, waits for `server.connected`, posts `prompt_async` and
// maps the events; with no other subscriber the connection closes after the turn, so every turn
// pays for its own subscription — checked before each turn.

import { createClient, type Session } from "../../../src/node.js";
import { serveTurns, type TurnClient } from "./harness.js";

const CLOSE_WAIT_MS = 5_000;

serveTurns((server): TurnClient<Session> => {
  const client = createClient({
    baseUrl: server.url,
    username: server.username,
    password: server.password,
    logger: { warn: (message) => console.error(message), error: (message) => console.error(message) },
  });
  let connections = 0;
  // The Turn posts its prompt once the shared stream reports `open` (its `server.connected`).
  let onOpen: (() => void) | undefined;
  client.events.onState((state) => {
    if (state === "connecting" || state === "reconnecting") connections++;
    if (state === "open") onOpen?.();
  });

  return {
    async createSession() {
      await connectionClosed();
      return client.session.create();
    },
    async turn(session, prompt, marks) {
      const before = connections;
      onOpen = marks.connected;
      for await (const reply of session.prompt(prompt)) {
        if (reply.kind === "delta") marks.firstDelta();
        else if (reply.kind === "final") {
          marks.end();
          return { text: reply.text, connections: connections - before };
        } else if (reply.kind === "error") throw reply.error;
      }
      throw new Error("the turn ended without a terminal reply");
    },
    close: () => client.close(),
  };

  /** The previous turn's subscription must be gone, or this turn would ride on its connection. */
  function connectionClosed(): Promise<void> {
    if (client.events.state === "closed") return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        stop();
        reject(new Error(`the /event connection is still ${client.events.state} ${CLOSE_WAIT_MS} ms after the last turn`));
      }, CLOSE_WAIT_MS);
      const stop = client.events.onState((state) => {
        if (state !== "closed") return;
        clearTimeout(timer);
        stop();
        resolve();
      });
    });
  }
});
