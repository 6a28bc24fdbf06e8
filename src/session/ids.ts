// Client-chosen message ids in opencode's ascending form, `msg_` + 12 hex digits of
// (epoch ms · 4096 + counter) + 14 random base62 characters, so they sort after the session's
// earlier messages exactly as server-made ids do, and a prompt can be retried under the same id.

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

let lastTime = 0;
let counter = 0;

export function ascendingID(prefix: "msg" | "prt", now: number = Date.now()): string {
  if (now !== lastTime) {
    lastTime = now;
    counter = 0;
  }
  counter++;
  const value = BigInt(now) * 0x1000n + BigInt(counter);
  const hex = value.toString(16).padStart(12, "0").slice(-12);
  const random = new Uint8Array(14);
  globalThis.crypto.getRandomValues(random);
  let suffix = "";
  for (const byte of random) suffix += BASE62[byte % 62];
  return `${prefix}_${hex}${suffix}`;
}

/**
 * Picks each prompt's message id when its turn gets the session: above every message id seen for
 * that session, so a client clock behind the server's cannot make a prompt sort before the reply
 * it follows. (Servers before 1.18 skip a prompt whose id sorts before their last assistant id.)
 */
export class MessageIDs {
  private readonly highest = new Map<string, string>();

  constructor(private readonly source: () => string = () => ascendingID("msg")) {}

  /** Records an id seen in `sessionID`. */
  observe(sessionID: string, id: string): void {
    const known = this.highest.get(sessionID);
    if (id.startsWith("msg_") && (known === undefined || id > known)) this.highest.set(sessionID, id);
  }

  /** A new part id (`prt_…`, ascending): a prompt's parts sent with ids are stored once however often it is retried. */
  part(): string {
    return ascendingID("prt");
  }

  /** A new id for a prompt in `sessionID`, sorting after every id observed there. */
  next(sessionID: string): string {
    const id = this.source();
    const floor = this.highest.get(sessionID);
    const chosen = floor === undefined || id > floor ? id : above(floor, id);
    this.observe(sessionID, chosen);
    return chosen;
  }
}

/** An id whose time part is one step above `floor`'s, keeping `id`'s random tail. */
function above(floor: string, id: string): string {
  const time = BigInt(`0x${floor.slice(4, 16)}`) + 1n;
  return `msg_${time.toString(16).padStart(12, "0").slice(-12)}${id.slice(16)}`;
}
