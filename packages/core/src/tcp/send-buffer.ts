/**
 * The bytes the application queued for sending, from SND.UNA on: first the
 * sent-but-unacknowledged ones, then the not-yet-sent ones (RFC 9293 §3.3.1,
 * send sequence space). Offsets are counted from SND.UNA.
 *
 * A fixed ring of `capacity` bytes: `append` copies once into the ring,
 * `peek` hands out views without copying whenever the range does not wrap,
 * and `acknowledge` only moves the front index.
 */
export class SendBuffer {
  readonly capacity: number;
  /** Made on the first append: a connection that only receives never pays for (nor touches) it. */
  private ring: Uint8Array | undefined;
  /** Ring index of the byte at SND.UNA. */
  private head = 0;
  private held = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 0) {
      throw new RangeError(`send buffer capacity must be a non-negative integer, got ${capacity}`);
    }
    this.capacity = capacity;
  }

  /** Bytes held (unacknowledged plus unsent). */
  get length(): number {
    return this.held;
  }

  /** Room left for `append`. */
  get free(): number {
    return this.capacity - this.held;
  }

  /**
   * Copies as much of `data` as fits and returns how many bytes were taken;
   * the application keeps the rest (back-pressure, RFC 9293 §3.9.1.2).
   */
  append(data: Uint8Array): number {
    const count = Math.min(data.length, this.capacity - this.held);
    if (count === 0) return 0;
    const ring = (this.ring ??= new Uint8Array(this.capacity));
    let tail = this.head + this.held;
    if (tail >= this.capacity) tail -= this.capacity;
    const firstPart = Math.min(count, this.capacity - tail);
    if (count === data.length && firstPart === count) {
      ring.set(data, tail);
    } else {
      ring.set(data.subarray(0, firstPart), tail);
      if (count > firstPart) ring.set(data.subarray(firstPart, count), 0);
    }
    this.held += count;
    return count;
  }

  /**
   * The bytes at [offset, offset + length) counted from SND.UNA. When the range
   * is contiguous in the ring this is a view into the buffer itself, valid only
   * until the next `append` or `acknowledge`; a range that wraps is copied.
   * Callers that keep the bytes longer (e.g. a retransmission queue) must copy.
   */
  peek(offset: number, length: number): Uint8Array {
    if (offset < 0 || length < 0 || offset + length > this.held) {
      throw new RangeError(`peek [${offset}, ${offset + length}) outside the ${this.held} bytes held`);
    }
    // Nothing was ever appended: the only range held is the empty one.
    const ring = this.ring;
    if (ring === undefined) return new Uint8Array(0);
    let start = this.head + offset;
    if (start >= this.capacity) start -= this.capacity;
    const firstPart = this.capacity - start;
    if (length <= firstPart) return ring.subarray(start, start + length);
    const copy = new Uint8Array(length);
    copy.set(ring.subarray(start, this.capacity), 0);
    copy.set(ring.subarray(0, length - firstPart), firstPart);
    return copy;
  }

  /** Drops `bytes` from the front: SND.UNA advanced by a cumulative ACK. */
  acknowledge(bytes: number): void {
    if (bytes < 0 || bytes > this.held) {
      throw new RangeError(`cannot acknowledge ${bytes} of ${this.held} bytes held`);
    }
    this.held -= bytes;
    if (this.held === 0) {
      // Restarting at index 0 keeps later appends and peeks contiguous (zero-copy).
      this.head = 0;
    } else {
      this.head += bytes;
      if (this.head >= this.capacity) this.head -= this.capacity;
    }
  }
}
