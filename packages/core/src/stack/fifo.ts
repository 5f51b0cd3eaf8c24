/**
 * A first-in first-out queue for outputs that are pushed in bursts and drained
 * completely: an array read from a moving head, emptied once drained, so
 * neither push nor take shifts elements.
 */
export class Fifo<T> {
  private items: T[] = [];
  private head = 0;

  push(item: T): void {
    this.items.push(item);
  }

  take(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head++];
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    }
    return item;
  }

  get isEmpty(): boolean {
    return this.head >= this.items.length;
  }
}
