// PersistentMap against a plain Map model: every version keeps its own contents after later sets.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PersistentMap } from "../../src/turn/persistent-map.js";

describe("PersistentMap", () => {
  it("agrees with a Map after any sets, and older versions never change", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.string({ maxLength: 4 }), fc.integer()), { maxLength: 300 }), (sets) => {
        let map = PersistentMap.empty<number>();
        const model = new Map<string, number>();
        const versions: [PersistentMap<number>, Map<string, number>][] = [];
        for (const [key, value] of sets) {
          map = map.set(key, value);
          model.set(key, value);
          versions.push([map, new Map(model)]);
        }
        for (const [version, expected] of versions) {
          expect(version.size).toBe(expected.size);
          for (const [key, value] of expected) expect(version.get(key)).toBe(value);
          expect(new Map(version.entries())).toEqual(expected);
        }
        expect(map.get("not a key of length five or more")).toBeUndefined();
      }),
      { numRuns: 200 },
    );
  });

  it("keeps keys whose hashes collide apart", () => {
    // "prt_49511" and "prt_1327780" have the same 32-bit FNV-1a hash.
    const a = PersistentMap.empty<number>().set("prt_49511", 1);
    const both = a.set("prt_1327780", 2).set("prt_49511", 3);
    expect([a.get("prt_49511"), a.get("prt_1327780"), a.size]).toEqual([1, undefined, 1]);
    expect([both.get("prt_49511"), both.get("prt_1327780"), both.size]).toEqual([3, 2, 2]);
  });
});
