/**
 * A priority queue of timed items: a binary min-heap ordered by time, with a
 * sequence number as tie-breaker so that items due at the same time come out
 * in the order they were scheduled (FIFO). Without the tie-breaker, frames sent
 * back to back with equal arrival times could overtake each other.
 */

interface HeapEntry<T> {
  readonly time: number;
  readonly sequence: number;
  readonly item: T;
}

const before = <T>(a: HeapEntry<T>, b: HeapEntry<T>): boolean =>
  a.time < b.time || (a.time === b.time && a.sequence < b.sequence);

export class EventQueue<T> {
  private readonly heap: HeapEntry<T>[] = [];
  private nextSequence = 0;

  get size(): number {
    return this.heap.length;
  }

  /** Time of the earliest item, or undefined when empty. */
  peekTime(): number | undefined {
    return this.heap[0]?.time;
  }

  push(time: number, item: T): void {
    if (Number.isNaN(time)) throw new RangeError('cannot schedule at NaN');
    const entry: HeapEntry<T> = { time, sequence: this.nextSequence++, item };
    const heap = this.heap;
    let index = heap.length;
    heap.push(entry);
    // Sift up: swap with the parent while the new entry is earlier.
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = heap[parentIndex]!;
      if (!before(entry, parent)) break;
      heap[index] = parent;
      index = parentIndex;
    }
    heap[index] = entry;
  }

  /** Removes and returns the earliest item (FIFO among equal times). */
  pop(): { time: number; item: T } | undefined {
    const heap = this.heap;
    const top = heap[0];
    if (top === undefined) return undefined;
    const last = heap.pop()!;
    if (heap.length > 0) {
      // Sift down: move the last entry from the root to where it belongs.
      let index = 0;
      const length = heap.length;
      for (;;) {
        const left = 2 * index + 1;
        if (left >= length) break;
        const right = left + 1;
        let child = left;
        if (right < length && before(heap[right]!, heap[left]!)) child = right;
        if (!before(heap[child]!, last)) break;
        heap[index] = heap[child]!;
        index = child;
      }
      heap[index] = last;
    }
    return { time: top.time, item: top.item };
  }

  clear(): void {
    this.heap.length = 0;
  }
}
