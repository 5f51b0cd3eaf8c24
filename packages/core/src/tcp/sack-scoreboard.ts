import type { SackBlock } from '../wire/tcp-types.js';
import { seqDiff, seqGt, seqLe, seqLt } from './seq.js';

/**
 * The sender's record of what the peer reported with SACK (RFC 2018, and the
 * scoreboard of RFC 6675 §3): sorted, disjoint ranges of sequence space above
 * SND.UNA that the receiver holds. Loss recovery reads holes from it.
 */
export class SackScoreboard {
  /** Sorted by start; each [start, end) with end exclusive. */
  private ranges: Array<{ start: number; end: number }> = [];
  private sacked = 0;

  get isEmpty(): boolean {
    return this.ranges.length === 0;
  }

  /** Bytes above SND.UNA that the peer holds. */
  get sackedBytes(): number {
    return this.sacked;
  }

  /** The highest sequence number reported held (exclusive end), if any. */
  get highestSacked(): number | undefined {
    return this.ranges.length === 0 ? undefined : this.ranges[this.ranges.length - 1]!.end;
  }

  clear(): void {
    this.ranges = [];
    this.sacked = 0;
  }

  /**
   * Records the blocks of one ACK. Blocks outside (SND.UNA, SND.MAX] are
   * ignored (RFC 2018 §4 lets a sender disregard what it cannot believe).
   * The ranges not held before are appended to `newlyHeld`, if given.
   */
  add(blocks: readonly SackBlock[], sndUna: number, sndMax: number, newlyHeld?: Array<{ start: number; end: number }>): void {
    for (const { left, right } of blocks) {
      if (!seqLt(left, right) || seqLe(right, sndUna) || seqGt(right, sndMax)) continue;
      this.insert(seqLt(left, sndUna) ? sndUna : left, right, newlyHeld);
    }
  }

  /** The cumulative ACK moved to `sndUna`: forget what lies below it. */
  acknowledge(sndUna: number): void {
    while (this.ranges.length > 0 && seqLe(this.ranges[0]!.end, sndUna)) {
      const gone = this.ranges.shift()!;
      this.sacked -= seqDiff(gone.end, gone.start);
    }
    const first = this.ranges[0];
    if (first && seqLt(first.start, sndUna)) {
      this.sacked -= seqDiff(sndUna, first.start);
      first.start = sndUna;
    }
  }

  /** Bytes reported held at or above `seq` (RFC 6675 IsLost counts these). */
  sackedAbove(seq: number): number {
    let total = 0;
    for (let i = this.ranges.length - 1; i >= 0; i--) {
      const r = this.ranges[i]!;
      if (seqLe(r.end, seq)) break;
      total += seqDiff(r.end, seqGt(r.start, seq) ? r.start : seq);
    }
    return total;
  }

  /** If `seq` lies in a held range, the end of that range; otherwise undefined. */
  heldUntil(seq: number): number | undefined {
    for (const r of this.ranges) {
      if (seqGt(r.start, seq)) return undefined;
      if (seqLt(seq, r.end)) return r.end;
    }
    return undefined;
  }

  /**
   * The first hole at or above `from` and below the highest held byte:
   * [start, end) not reported held. Undefined when there is none.
   */
  holeFrom(from: number): { start: number; end: number } | undefined {
    let cursor = from;
    for (const r of this.ranges) {
      if (seqLe(r.end, cursor)) continue;
      if (seqGt(r.start, cursor)) return { start: cursor, end: r.start };
      cursor = r.end;
    }
    return undefined;
  }

  /** Bytes in holes at or above `from` that count as lost: DupThresh·SMSS held above them (RFC 6675 §4). */
  lostBytesFrom(from: number, lostThreshold: number): number {
    let lost = 0;
    for (let hole = this.holeFrom(from); hole; hole = this.holeFrom(hole.end)) {
      if (this.sackedAbove(hole.end) < lostThreshold) break;
      lost += seqDiff(hole.end, hole.start);
    }
    return lost;
  }

  private insert(start: number, end: number, newlyHeld?: Array<{ start: number; end: number }>): void {
    const ranges = this.ranges;
    let i = 0;
    while (i < ranges.length && seqLt(ranges[i]!.end, start)) i++;
    // Merge every range that touches or overlaps [start, end).
    let j = i;
    let mergedStart = start;
    let mergedEnd = end;
    let removed = 0;
    let uncovered = start;
    while (j < ranges.length && seqLe(ranges[j]!.start, end)) {
      const r = ranges[j]!;
      if (newlyHeld !== undefined) {
        if (seqLt(uncovered, r.start)) newlyHeld.push({ start: uncovered, end: r.start });
        if (seqGt(r.end, uncovered)) uncovered = r.end;
      }
      if (seqLt(r.start, mergedStart)) mergedStart = r.start;
      if (seqGt(r.end, mergedEnd)) mergedEnd = r.end;
      removed += seqDiff(r.end, r.start);
      j++;
    }
    if (newlyHeld !== undefined && seqLt(uncovered, end)) newlyHeld.push({ start: uncovered, end });
    ranges.splice(i, j - i, { start: mergedStart, end: mergedEnd });
    this.sacked += seqDiff(mergedEnd, mergedStart) - removed;
  }

  /** For tests: the held ranges. */
  toArray(): Array<{ start: number; end: number }> {
    return this.ranges.map((r) => ({ ...r }));
  }
}
