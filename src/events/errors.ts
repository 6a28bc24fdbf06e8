// Errors of the event layer that the HTTP taxonomy does not already name.

import { StreamError } from "../http/errors.js";

/**
 * A subscriber stopped reading while its queue reached `maxQueue` events. Its queued events are
 * dropped (memory stays bounded), it is removed from the shared stream, and its iterator throws
 * this on the next read. Other subscribers are not affected.
 */
export class SubscriberOverflowError extends StreamError {
  override readonly name = "SubscriberOverflowError" as const;
  constructor(readonly maxQueue: number) {
    super(`event subscriber fell ${maxQueue} events behind and was dropped; read faster or raise maxQueue`);
  }
}
