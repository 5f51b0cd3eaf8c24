/**
 * In-order bytes of one connection on their way to the application, coalesced.
 *
 * Every segment's text is copied once, into the current 64 KiB chunk, and the
 * application is handed views of those chunks. This serves two ends:
 * - the host keeps nothing of a received frame, so the device may reuse its
 *   buffer for the next frame (no copy of every frame, no allocation per frame);
 * - a burst of segments reaches the application as one chunk instead of one
 *   small chunk per segment, which is what stream consumers are slowest at.
 *
 * Views handed out never overlap later ones: a chunk is only ever appended to,
 * and a full chunk is replaced by a new one.
 */
const CHUNK_SIZE = 64 * 1024;

export class DeliveryBuffer {
  private chunk: Uint8Array | undefined;
  /** First byte of `chunk` not yet handed out. */
  private start = 0;
  /** First free byte of `chunk`. */
  private end = 0;
  /** Views of earlier chunks, filled before they were handed out. */
  private readonly full: Uint8Array[] = [];

  get isEmpty(): boolean {
    return this.full.length === 0 && this.end === this.start;
  }

  /** Copies `bytes` in; the caller may reuse its buffer afterwards. */
  append(bytes: Uint8Array): void {
    let offset = 0;
    while (offset < bytes.length) {
      let chunk = this.chunk;
      if (chunk === undefined || this.end === chunk.length) {
        if (chunk !== undefined && this.end > this.start) this.full.push(chunk.subarray(this.start, this.end));
        chunk = this.chunk = new Uint8Array(CHUNK_SIZE);
        this.start = this.end = 0;
      }
      const count = Math.min(bytes.length - offset, chunk.length - this.end);
      chunk.set(count === bytes.length ? bytes : bytes.subarray(offset, offset + count), this.end);
      this.end += count;
      offset += count;
    }
  }

  /** The oldest bytes not yet handed out, as one view, or undefined when there are none. */
  take(): Uint8Array | undefined {
    const earlier = this.full.shift();
    if (earlier !== undefined) return earlier;
    if (this.chunk === undefined || this.end === this.start) return undefined;
    const view = this.chunk.subarray(this.start, this.end);
    this.start = this.end;
    return view;
  }
}
