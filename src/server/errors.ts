// Errors of the local server launcher (`opencode-serve-client/server`).

import { OpencodeError } from "../http/errors.js";

/** No `opencode` executable: not in options, `OPENCODE_BIN`, PATH, or an installed `opencode-ai`. */
export class BinaryNotFoundError extends OpencodeError {
  override readonly name = "BinaryNotFoundError" as const;
  readonly retryable = false;
  constructor(readonly searched: string[]) {
    super(
      `could not find the opencode binary (looked in: ${searched.join(", ")}). ` +
        "Install it (`npm i opencode-ai`), put it on PATH, or pass `bin` / set OPENCODE_BIN.",
    );
  }
}

/** The server process exited, or did not become healthy in time. `stderrTail` has its last output. */
export class ServerStartError extends OpencodeError {
  override readonly name = "ServerStartError" as const;
  readonly retryable = false;
  constructor(message: string, readonly stderrTail: string, options?: { cause?: unknown }) {
    super(stderrTail ? `${message}\n--- opencode output (tail) ---\n${stderrTail}` : message, options);
  }
}
