// A FIFO ring buffer: O(1) push and shift without moving elements, growing by doubling so a
// subscriber that keeps up never holds more than a few slots.

export class RingQueue<T> {
  private slots: (T | undefined)[] = new Array(16);
  private head = 0;
  private count = 0;

  get length(): number {
    return this.count;
  }

  push(item: T): void {
    if (this.count === this.slots.length) this.grow();
    this.slots[(this.head + this.count) & (this.slots.length - 1)] = item;
    this.count++;
  }

  /** The oldest item; only call when `length > 0`. */
  shift(): T {
    const item = this.slots[this.head] as T;
    this.slots[this.head] = undefined;
    this.head = (this.head + 1) & (this.slots.length - 1);
    this.count--;
    return item;
  }

  clear(): void {
    this.slots = new Array(16);
    this.head = 0;
    this.count = 0;
  }

  /** Capacity stays a power of two so the index wraps with a mask. */
  private grow(): void {
    const next: (T | undefined)[] = new Array(this.slots.length * 2);
    for (let i = 0; i < this.count; i++) next[i] = this.slots[(this.head + i) & (this.slots.length - 1)];
    this.slots = next;
    this.head = 0;
  }
}
