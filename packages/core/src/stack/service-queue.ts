/** An item that knows its place in a `ServiceQueue`: -1 when it is not queued. */
export interface Queueable {
  queueSlot: number;
}

/**
 * Items waiting for service, each at most once, first queued first served: a
 * Set's insertion order, without a Set's iterator (an allocation) every time
 * the first one is asked for. Removal leaves a hole that `first` skips.
 */
export class ServiceQueue<T extends Queueable> {
  private readonly items: (T | undefined)[] = [];
  private head = 0;
  private tail = 0;

  /** Queues `item` at the end unless it is queued already (where it keeps its place). */
  add(item: T): void {
    if (item.queueSlot >= 0) return;
    item.queueSlot = this.tail;
    this.items[this.tail++] = item;
  }

  delete(item: T): void {
    if (item.queueSlot < 0) return;
    this.items[item.queueSlot] = undefined;
    item.queueSlot = -1;
  }

  first(): T | undefined {
    while (this.head < this.tail) {
      const item = this.items[this.head];
      if (item !== undefined) return item;
      this.head++;
    }
    this.head = this.tail = 0;
    return undefined;
  }
}
