// The Node build of the public entry (the package's `node` export condition): the same API as
// `index.ts`, with undici over a client-owned keep-alive Agent as the default transport instead
// of the global fetch. Importing it installs that default; it is the package's one side effect.

import type { Dispatcher } from "undici";
import { installDefaultEngine } from "./http/engine.js";
import { undiciEngine } from "./http/undici-engine.js";

declare module "./http/options.js" {
  interface ClientOptions {
    /**
     * Node only: an undici Dispatcher to use instead of the client's own keep-alive Agent (not
     * closed by the client). Cannot be combined with `fetch`.
     */
    dispatcher?: Dispatcher;
  }
}

installDefaultEngine(undiciEngine);

export * from "./index.js";
export { file } from "./session/attachment-file.js";
