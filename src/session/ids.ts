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
