// An immutable list of items kept in id order, stored in blocks so that changing one item copies
// one block (and, away from the newest block, the short block spine), not the whole list. The
// newest block is kept apart, as persistent vectors keep their tail: streaming writes there, so a
// delta costs the same with 10 messages loaded as with 10,000. The flat array is built once per
// version, when someone reads it.

const BLOCK = 64;

type Block<T> = readonly T[];

export class OrderedList<T> {
  /** Every block but the last: shared, unchanged, by the versions streaming makes. */
  readonly #head: readonly Block<T>[];
  /** The last block, where streaming writes (the newest messages): a change there copies only it. */
  readonly #tail: Block<T>;
  readonly #idOf: (item: T) => string;
  readonly size: number;
  #flat: readonly T[] | undefined;

  private constructor(head: readonly Block<T>[], tail: Block<T>, idOf: (item: T) => string, size: number) {
    // The tail is empty only when the list is.
    if (tail.length === 0 && head.length > 0) {
      tail = head[head.length - 1]!;
      head = head.slice(0, -1);
    }
    this.#head = head;
    this.#tail = tail;
    this.#idOf = idOf;
    this.size = size;
  }

  static empty<T>(idOf: (item: T) => string): OrderedList<T> {
    return new OrderedList<T>([], [], idOf, 0);
  }

  /** From items already in id order. */
  static from<T>(items: readonly T[], idOf: (item: T) => string): OrderedList<T> {
    return OrderedList.empty(idOf).prepend(items);
  }

  /**
   * Puts `items` (in id order, every one before the list's first) in front: a page of older
   * history. Costs the page and the block spine; the loaded blocks are shared, not copied.
   */
  prepend(items: readonly T[]): OrderedList<T> {
    if (items.length === 0) return this;
    const blocks: Block<T>[] = [];
    for (let i = 0; i < items.length; i += BLOCK) blocks.push(items.slice(i, i + BLOCK));
    if (this.size === 0) return new OrderedList<T>(blocks.slice(0, -1), blocks[blocks.length - 1]!, this.#idOf, items.length);
    return new OrderedList<T>(blocks.concat(this.#head), this.#tail, this.#idOf, this.size + items.length);
  }

  get(id: string): T | undefined {
    const at = this.#find(id);
    return at.found ? this.#block(at.block)[at.index] : undefined;
  }

  first(): T | undefined {
    return (this.#head[0] ?? this.#tail)[0];
  }

  last(): T | undefined {
    return this.#tail[this.#tail.length - 1];
  }

  /** Inserts, or replaces the item with the same id. */
  upsert(item: T): OrderedList<T> {
    if (this.size === 0) return new OrderedList([], [item], this.#idOf, 1);
    const at = this.#find(this.#idOf(item));
    const block = this.#block(at.block).slice();
    if (at.found) block[at.index] = item;
    else block.splice(at.index, 0, item);
    return this.#with(at.block, block.length > BLOCK * 2 ? [block.slice(0, BLOCK), block.slice(BLOCK)] : [block], at.found ? this.size : this.size + 1);
  }

  remove(id: string): OrderedList<T> {
    const at = this.#find(id);
    if (!at.found) return this;
    const block = this.#block(at.block).slice();
    block.splice(at.index, 1);
    return this.#with(at.block, block.length === 0 ? [] : [block], this.size - 1);
  }

  /** Every item, in id order; the same array until the list changes. */
  toArray(): readonly T[] {
    // `concat` copies whole blocks; `flat()` walks item by item, ~50× slower on 10,000 items.
    return (this.#flat ??= ([] as T[]).concat(...this.#head, this.#tail));
  }

  #block(index: number): Block<T> {
    return index < this.#head.length ? this.#head[index]! : this.#tail;
  }

  /** This list with block `index` replaced by `blocks` (none, one, or a split pair). */
  #with(index: number, blocks: Block<T>[], size: number): OrderedList<T> {
    const head = this.#head;
    if (index === head.length) {
      // The tail: the head is shared as it is, unless the tail split (then one block joins it).
      if (blocks.length <= 1) return new OrderedList(head, blocks[0] ?? [], this.#idOf, size);
      return new OrderedList(head.concat([blocks[0]!]), blocks[1]!, this.#idOf, size);
    }
    const copy = head.slice();
    copy.splice(index, 1, ...blocks);
    return new OrderedList(copy, this.#tail, this.#idOf, size);
  }

  /** The block holding `id` (or where it would go) and its index there; the tail is block `head.length`. */
  #find(id: string): { block: number; index: number; found: boolean } {
    const head = this.#head;
    const idOf = this.#idOf;
    // The last block whose first id is <= id; streaming touches the newest items, so look at the tail first.
    let lo = head.length;
    if (head.length > 0 && idOf(this.#tail[0]!) > id) {
      lo = 0;
      let hi = head.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (idOf(head[mid]![0]!) <= id) lo = mid;
        else hi = mid - 1;
      }
    }
    const block = this.#block(lo);
    let a = 0;
    let b = block.length;
    while (a < b) {
      const mid = (a + b) >> 1;
      if (idOf(block[mid]!) < id) a = mid + 1;
      else b = mid;
    }
    return { block: lo, index: a, found: a < block.length && idOf(block[a]!) === id };
  }
}
