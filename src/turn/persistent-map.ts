// An immutable string-keyed map whose `set` returns a new version in O(log32 n): a hash trie with
// path copying. The turn codec's states are immutable, and copying a plain Map on every delta made
// each event cost grow with the number of parts in the turn (a long agent run reaches 100,000).

type Leaf<V> = { readonly hash: number; readonly entries: readonly (readonly [string, V])[] };
type Node<V> = readonly (Node<V> | Leaf<V> | undefined)[];

const BITS = 5;
const WIDTH = 1 << BITS;
const MASK = WIDTH - 1;

export class PersistentMap<V> {
  readonly size: number;
  readonly #root: Node<V>;

  private constructor(root: Node<V>, size: number) {
    this.#root = root;
    this.size = size;
  }

  static empty<V>(): PersistentMap<V> {
    return new PersistentMap<V>(new Array<undefined>(WIDTH), 0);
  }

  get(key: string): V | undefined {
    const hash = hashOf(key);
    let node: Node<V> = this.#root;
    for (let shift = 0; ; shift += BITS) {
      const slot: Node<V> | Leaf<V> | undefined = node[(hash >>> shift) & MASK];
      if (slot === undefined) return undefined;
      if (Array.isArray(slot)) {
        node = slot;
        continue;
      }
      const leaf = slot as Leaf<V>;
      if (leaf.hash !== hash) return undefined;
      for (const entry of leaf.entries) if (entry[0] === key) return entry[1];
      return undefined;
    }
  }

  set(key: string, value: V): PersistentMap<V> {
    const hash = hashOf(key);
    const added = { value: false };
    const root = setIn(this.#root, 0, hash, key, value, added);
    return new PersistentMap(root, added.value ? this.size + 1 : this.size);
  }

  *entries(): IterableIterator<[string, V]> {
    const stack: Node<V>[] = [this.#root];
    while (stack.length > 0) {
      const node = stack.pop()!;
      for (let i = WIDTH - 1; i >= 0; i--) {
        const slot = node[i];
        if (slot === undefined) continue;
        if (Array.isArray(slot)) stack.push(slot);
        else for (const [key, value] of (slot as Leaf<V>).entries) yield [key, value];
      }
    }
  }

  *values(): IterableIterator<V> {
    for (const [, value] of this.entries()) yield value;
  }
}

function setIn<V>(node: Node<V>, shift: number, hash: number, key: string, value: V, added: { value: boolean }): Node<V> {
  const index = (hash >>> shift) & MASK;
  const slot = node[index];
  const copy = node.slice();
  if (slot === undefined) {
    added.value = true;
    copy[index] = { hash, entries: [[key, value]] };
  } else if (Array.isArray(slot)) {
    copy[index] = setIn(slot as Node<V>, shift + BITS, hash, key, value, added);
  } else {
    const leaf = slot as Leaf<V>;
    if (leaf.hash === hash) {
      const at = leaf.entries.findIndex((entry) => entry[0] === key);
      if (at < 0) added.value = true;
      const entries = leaf.entries.slice();
      if (at < 0) entries.push([key, value]);
      else entries[at] = [key, value];
      copy[index] = { hash, entries };
    } else {
      // Two hashes differ somewhere in their 32 bits, so they part at one of the next levels.
      const child = new Array<Node<V> | Leaf<V> | undefined>(WIDTH);
      child[(leaf.hash >>> (shift + BITS)) & MASK] = leaf;
      copy[index] = setIn(child, shift + BITS, hash, key, value, added);
    }
  }
  return copy;
}

/** FNV-1a over the UTF-16 units: ids are short ASCII, so this is a handful of multiplies. */
function hashOf(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
