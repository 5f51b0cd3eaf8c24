import { seqGe, seqGt, seqLe, seqLt } from './seq.js';

/**
 * When each unacknowledged byte was last sent: what RACK (RFC 8985 §6) needs
 * to tell which segments were sent before one that has been delivered.
 *
 * Records are disjoint [start, end) ranges in sequence order. New data is
 * appended, so sending in order costs one push; a retransmission overwrites the
 * time of its range, splitting a record where it covers only part of it.
 * Acknowledged records are dropped from the front.
 */
export interface SendRecord {
  readonly start: number;
  readonly end: number;
  /** Time of the latest transmission of this range. */
  readonly at: number;
  /** Whether that transmission was a retransmission. */
  readonly retransmitted: boolean;
}

export class SendTimes {
  private records: SendRecord[] = [];
  /** Index of the first record still in use (acknowledged ones are dropped lazily). */
  private head = 0;

  get size(): number {
    return this.records.length - this.head;
  }

  /** A transmission of [start, end) at `at`. */
  record(start: number, end: number, at: number, retransmitted: boolean): void {
    if (!seqLt(start, end)) return;
    const records = this.records;
    const last = records[records.length - 1];
    if (last === undefined || this.head >= records.length || seqGe(start, last.end)) {
      records.push({ start, end, at, retransmitted });
      return;
    }
    // A retransmission: only the first record it overlaps can keep a part before it, only the last a part after.
    const from = this.firstEndingAfter(start);
    let to = from;
    const pieces: SendRecord[] = [];
    for (; to < records.length && seqLt(records[to]!.start, end); to++) {
      const r = records[to]!;
      if (seqLt(r.start, start)) pieces.push({ ...r, end: start });
    }
    pieces.push({ start, end, at, retransmitted });
    const lastOverlapped = records[to - 1];
    if (to > from && lastOverlapped !== undefined && seqGt(lastOverlapped.end, end)) {
      pieces.push({ ...lastOverlapped, start: end });
    }
    records.splice(from, to - from, ...pieces);
  }

  /** The record holding `seq`, if it is still kept. */
  find(seq: number): SendRecord | undefined {
    const index = this.indexOf(seq);
    return index < 0 ? undefined : this.records[index];
  }

  /** Every record overlapping [start, end), in sequence order. */
  *overlapping(start: number, end: number): Generator<SendRecord> {
    const records = this.records;
    for (let i = this.firstEndingAfter(start); i < records.length; i++) {
      const r = records[i]!;
      if (seqLe(end, r.start)) return;
      yield r;
    }
  }

  /** Everything below `una` was acknowledged. */
  forget(una: number): void {
    const records = this.records;
    while (this.head < records.length && seqLe(records[this.head]!.end, una)) this.head++;
    const first = records[this.head];
    if (first !== undefined && seqLt(first.start, una)) records[this.head] = { ...first, start: una };
    if (this.head >= records.length) {
      this.records = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > records.length) {
      this.records = records.slice(this.head);
      this.head = 0;
    }
  }

  clear(): void {
    this.records = [];
    this.head = 0;
  }

  /** Index of the record holding `seq`, or -1. */
  private indexOf(seq: number): number {
    const index = this.firstEndingAfter(seq);
    const r = this.records[index];
    return r !== undefined && seqLe(r.start, seq) ? index : -1;
  }

  /** Index of the first kept record whose end is after `seq` (binary search: ends are in order). */
  private firstEndingAfter(seq: number): number {
    let low = this.head;
    let high = this.records.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (seqLe(this.records[mid]!.end, seq)) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}
