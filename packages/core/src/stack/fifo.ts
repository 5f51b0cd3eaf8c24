/**
 * A first-in first-out queue for outputs that are pushed in bursts and drained
 * completely: an array read from a moving head, rewound once drained, so
 * neither push nor take shifts elements.
 */
export class Fifo<T> {
  private readonly items: (T | undefined)[] = [];
  private head = 0;
  /** Slots past it hold nothing: the array keeps its length, since setting it costs a call into the runtime. */
  private tail = 0;

  push(item: T): void {
    this.items[this.tail++] = item;
  }

  take(): T | undefined {
    if (this.head >= this.tail) return undefined;
    const item = this.items[this.head];
    // Taken items are let go of, so the queue holds nothing the caller has finished with.
    this.items[this.head++] = undefined;
    if (this.head === this.tail) this.head = this.tail = 0;
    return item;
  }

  get isEmpty(): boolean {
    return this.head >= this.tail;
  }
}
