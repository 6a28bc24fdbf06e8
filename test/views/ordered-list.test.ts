// The views' block list against a plain sorted array: any sequence of upserts, removals and
// prepended pages gives the same items in the same order, whatever block (the newest one kept
// apart, or the shared ones before it) each change falls in, and older versions stay as they were.
import fc from "fast-check";
import { expect, it } from "vitest";
import { OrderedList } from "../../src/views/ordered-list.js";

type Item = { id: string; v: number };
const idOf = (item: Item) => item.id;
const key = (n: number) => `k${String(n).padStart(6, "0")}`;

type Op = { kind: "upsert"; n: number; v: number } | { kind: "remove"; n: number } | { kind: "prepend"; count: number };
/** Upserts and removals among keys `min`..99_999 (most near the end, as streaming writes), and pages of older keys. */
const ops = (min: number): fc.Arbitrary<Op[]> => {
  const near = fc.integer({ min: Math.max(min, 99_600), max: 99_999 });
  const anywhere = fc.integer({ min, max: 99_999 });
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constant("upsert" as const), n: fc.oneof(near, anywhere), v: fc.nat() }),
    fc.record({ kind: fc.constant("remove" as const), n: fc.oneof(near, anywhere) }),
    fc.record({ kind: fc.constant("prepend" as const), count: fc.integer({ min: 1, max: 150 }) }),
  );
  return fc.array(op, { maxLength: 400 });
};

it.each([
  ["thousands of keys", 90_000],
  // Few keys: the newest block empties and refills, and splits, again and again.
  ["a handful of keys", 99_994],
])("matches a sorted array under any upserts, removals and prepended pages, and never changes an old version (%s)", (_, min) => {
  fc.assert(
    fc.property(ops(min), (ops) => {
      let list = OrderedList.empty(idOf);
      let model: Item[] = [];
      let lowest = min;
      const versions: [OrderedList<Item>, Item[]][] = [];
      for (const o of ops) {
        if (o.kind === "upsert") {
          const item = { id: key(o.n), v: o.v };
          list = list.upsert(item);
          model = [...model.filter((m) => m.id !== item.id), item].sort((a, b) => (a.id < b.id ? -1 : 1));
        } else if (o.kind === "remove") {
          list = list.remove(key(o.n));
          model = model.filter((m) => m.id !== key(o.n));
        } else {
          const page = Array.from({ length: o.count }, (_, i) => ({ id: key(lowest - o.count + i), v: -1 }));
          lowest -= o.count;
          list = list.prepend(page);
          model = [...page, ...model];
        }
        versions.push([list, model]);
      }
      for (const [version, expected] of versions) {
        expect(version.toArray()).toEqual(expected);
        expect(version.size).toBe(expected.length);
        expect(version.first()).toEqual(expected[0]);
        expect(version.last()).toEqual(expected[expected.length - 1]);
        for (const item of expected.slice(0, 5).concat(expected.slice(-5))) expect(version.get(item.id)).toBe(item);
      }
    }),
    { numRuns: 150 },
  );
});
