/**
 * Out-of-order data held beyond RCV.NXT until the hole before it is filled
 * (RFC 9293 §3.10.7.4: segments in the window that cannot be processed yet
 * may be kept for later). At most `limit` bytes past RCV.NXT are kept.
 *
 * The bytes live in one ring indexed by stream position, so a new segment is
 * copied exactly once and merging runs moves no data; only the list of held
 * [start, end) runs changes. The ring starts small and doubles up to `limit`,
 * so connections that see little reordering use little memory.
 *
 * Overlaps: the bytes already held win and only the gaps are filled. In valid
 * TCP the two copies are equal; keeping the first one means a later segment
 * cannot rewrite data that was already accepted.
 */

/** A held run, in absolute stream positions (bytes counted since the start). */
interface HeldRun {
  start: number;
  end: number;
  /** Value of `arrivals` when this run last received a segment, for SACK order. */
  lastArrival: number;
}

const DEFAULT_INITIAL_STORAGE = 64 * 1024;
/**
 * The most `takeReady` copies out at once. A hole filled after a window of
 * loss can free megabytes, and copies that large come from fresh memory the
 * kernel maps, faults in and zeroes page by page, then unmaps once collected:
 * 63 ms per 100 MiB in 4 MiB pieces, 9 ms in 64 KiB ones, which the allocator
 * reuses.
 */
const MAX_TAKE = 64 * 1024;

export class Reassembler {
  readonly limit: number;
  private storage: Uint8Array | undefined;
  /** Absolute position of RCV.NXT. */
  private base = 0;
  /** Ring index holding the byte at `base`. */
  private baseIndex = 0;
  /** Sorted by start; disjoint and never touching (touching runs are merged). */
  private readonly runs: HeldRun[] = [];
  private held = 0;
  private arrivals = 0;
  private readonly initialStorage: number;

  /**
   * @param limit bytes past RCV.NXT that may be held
   * @param initialStorage size of the ring when the first segment is held; it
   *   doubles on demand up to `limit`
   */
  constructor(limit: number, initialStorage: number = DEFAULT_INITIAL_STORAGE) {
    if (!Number.isInteger(limit) || limit < 0) {
      throw new RangeError(`reassembly limit must be a non-negative integer, got ${limit}`);
    }
    if (!Number.isInteger(initialStorage) || initialStorage < 1) {
      throw new RangeError(`initial reassembly storage must be a positive integer, got ${initialStorage}`);
    }
    this.limit = limit;
    this.initialStorage = initialStorage;
  }

  get bufferedBytes(): number {
    return this.held;
  }

  get isEmpty(): boolean {
    return this.runs.length === 0;
  }

  /**
   * Keeps `data`, which starts `offset` bytes after RCV.NXT. The bytes are
   * copied (the caller may reuse its buffer). Anything before RCV.NXT or at or
   * beyond `limit` is cut. Returns the number of bytes not held before.
   */
  insert(offset: number, data: Uint8Array): number {
    const from = Math.max(offset, 0);
    const to = Math.min(offset + data.length, this.limit);
    if (from >= to) return 0;
    const storage = this.ensureStorage(to);
    const absFrom = this.base + from;
    const absTo = this.base + to;
    // Source index in `data` of absolute position p is p - dataOrigin.
    const dataOrigin = this.base + offset;
    const runs = this.runs;

    // First run that overlaps or touches [absFrom, absTo).
    const first = this.firstRunEndingAtOrAfter(absFrom);

    let stored = 0;
    let cursor = absFrom;
    let last = first;
    while (last < runs.length) {
      const run = runs[last] as HeldRun;
      if (run.start > absTo) break;
      if (run.start > cursor) {
        this.copyIn(storage, data, cursor - dataOrigin, cursor, run.start);
        stored += run.start - cursor;
      }
      cursor = run.end;
      last++;
    }
    if (cursor < absTo) {
      this.copyIn(storage, data, cursor - dataOrigin, cursor, absTo);
      stored += absTo - cursor;
    }

    const arrival = ++this.arrivals;
    if (last === first) {
      runs.splice(first, 0, { start: absFrom, end: absTo, lastArrival: arrival });
    } else {
      const merged = runs[first] as HeldRun;
      const lastRun = runs[last - 1] as HeldRun;
      merged.start = Math.min(merged.start, absFrom);
      merged.end = Math.max(lastRun.end, absTo);
      merged.lastArrival = arrival;
      if (last - first > 1) runs.splice(first + 1, last - first - 1);
    }
    this.held += stored;
    return stored;
  }

  /**
   * The held bytes among the `length` starting `offset` bytes after RCV.NXT,
   * as offsets from RCV.NXT, in order: what a segment there brings a second
   * time (RFC 2883 reports it).
   */
  heldWithin(offset: number, length: number): Array<{ start: number; end: number }> {
    const from = this.base + Math.max(offset, 0);
    const to = this.base + offset + length;
    const within: Array<{ start: number; end: number }> = [];
    const runs = this.runs;
    for (let i = this.firstRunEndingAtOrAfter(from); i < runs.length; i++) {
      const run = runs[i] as HeldRun;
      if (run.start >= to) break;
      const start = Math.max(run.start, from);
      const end = Math.min(run.end, to);
      if (start < end) within.push({ start: start - this.base, end: end - this.base });
    }
    return within;
  }

  /** The index of the first run whose end is at or after absolute position `position`: runs are sorted and disjoint, so their ends are sorted too. */
  private firstRunEndingAtOrAfter(position: number): number {
    const runs = this.runs;
    let low = 0;
    let high = runs.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((runs[mid] as HeldRun).end < position) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  /**
   * RCV.NXT moved forward by `bytes` (in-order data was delivered): held runs
   * now count from the new RCV.NXT, and bytes before it are dropped.
   */
  advance(bytes: number): void {
    if (bytes <= 0) return;
    this.base += bytes;
    const storage = this.storage;
    if (storage !== undefined) this.baseIndex = (this.baseIndex + bytes) % storage.length;
    const runs = this.runs;
    while (runs.length > 0) {
      const run = runs[0] as HeldRun;
      if (run.end <= this.base) {
        this.held -= run.end - run.start;
        runs.shift();
      } else {
        if (run.start < this.base) {
          this.held -= this.base - run.start;
          run.start = this.base;
        }
        break;
      }
    }
  }

  /**
   * If a held run starts at RCV.NXT, removes its first bytes (at most 64 KiB,
   * all of a shorter run) and returns a copy of them; the caller delivers
   * them and then calls `advance(bytes.length)`, and asks again for the rest.
   */
  takeReady(): Uint8Array | undefined {
    const length = this.removeReady(MAX_TAKE);
    if (length === 0) return undefined;
    const storage = this.storage as Uint8Array;
    const out = new Uint8Array(length);
    const firstPart = Math.min(length, storage.length - this.baseIndex);
    out.set(storage.subarray(this.baseIndex, this.baseIndex + firstPart), 0);
    if (firstPart < length) out.set(storage.subarray(0, length - firstPart), firstPart);
    return out;
  }

  /**
   * As `takeReady`, but a view of the ring instead of a copy: as much of the
   * run as lies contiguous in it, however long. The view is valid until the
   * next `insert`, which may write over it; for a caller that copies it at
   * once, it saves a copy and an allocation of every byte that arrived out of
   * order (under loss, most of them).
   */
  takeReadyView(): Uint8Array | undefined {
    const storage = this.storage;
    if (storage === undefined) return undefined;
    const length = this.removeReady(storage.length - this.baseIndex);
    return length === 0 ? undefined : storage.subarray(this.baseIndex, this.baseIndex + length);
  }

  /** Removes up to `max` bytes of a held run that starts at RCV.NXT from the list: how many. */
  private removeReady(max: number): number {
    const run = this.runs[0];
    if (run === undefined || run.start !== this.base) return 0;
    const length = Math.min(run.end - run.start, max);
    if (length === run.end - run.start) this.runs.shift();
    else run.start += length;
    this.held -= length;
    return length;
  }

  /**
   * Held runs as offsets from RCV.NXT, for SACK blocks: the run holding
   * `holdingOffset` first, where one does (the segment an ACK answers, RFC
   * 2018 §4), else the run that most recently received a segment; then the
   * others from the most recently updated on, at most `max` of them.
   */
  sackRanges(max: number, holdingOffset?: number): Array<{ start: number; end: number }> {
    const runs = this.runs;
    const ranges: Array<{ start: number; end: number }> = [];
    if (max <= 0 || runs.length === 0) return ranges;
    let holding: HeldRun | undefined;
    if (holdingOffset !== undefined) {
      const position = this.base + holdingOffset;
      for (const run of runs) {
        if (run.start <= position && position < run.end) {
          holding = run;
          break;
        }
      }
    }
    // Each run's lastArrival is its own (an arrival touches one run), so "the most recent one
    // not taken yet" is well defined; `max` is at most four and the runs few: no sorting needed.
    if (holding !== undefined) ranges.push({ start: holding.start - this.base, end: holding.end - this.base });
    let below = Infinity;
    while (ranges.length < max) {
      let next: HeldRun | undefined;
      for (const run of runs) {
        if (run === holding || run.lastArrival >= below) continue;
        if (next === undefined || run.lastArrival > next.lastArrival) next = run;
      }
      if (next === undefined) break;
      ranges.push({ start: next.start - this.base, end: next.end - this.base });
      below = next.lastArrival;
    }
    return ranges;
  }

  /** Copies data[sourceIndex...] into the ring for absolute positions [from, to). */
  private copyIn(storage: Uint8Array, data: Uint8Array, sourceIndex: number, from: number, to: number): void {
    const size = storage.length;
    let index = this.baseIndex + (from - this.base);
    if (index >= size) index -= size;
    const length = to - from;
    const firstPart = Math.min(length, size - index);
    storage.set(data.subarray(sourceIndex, sourceIndex + firstPart), index);
    if (firstPart < length) storage.set(data.subarray(sourceIndex + firstPart, sourceIndex + length), 0);
  }

  /** A ring that can hold offsets up to `reach` from RCV.NXT, grown by doubling. */
  private ensureStorage(reach: number): Uint8Array {
    const current = this.storage;
    if (current !== undefined && current.length >= reach) return current;
    let size = current === undefined ? Math.min(this.limit, this.initialStorage) : current.length;
    while (size < reach) size = Math.min(this.limit, size * 2);
    const grown = new Uint8Array(size);
    if (current !== undefined) {
      // Lay the held runs out again so that RCV.NXT sits at index 0.
      for (const run of this.runs) {
        let index = this.baseIndex + (run.start - this.base);
        if (index >= current.length) index -= current.length;
        const length = run.end - run.start;
        const firstPart = Math.min(length, current.length - index);
        const target = run.start - this.base;
        grown.set(current.subarray(index, index + firstPart), target);
        if (firstPart < length) grown.set(current.subarray(0, length - firstPart), target + firstPart);
      }
    }
    this.storage = grown;
    this.baseIndex = 0;
    return grown;
  }
}
