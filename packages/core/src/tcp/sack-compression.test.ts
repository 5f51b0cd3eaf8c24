import { describe, expect, it } from 'vitest';
import { SackCompression } from './sack-compression.js';

/** Out-of-order arrivals of `size`-byte segments beyond a hole at RCV.NXT = 1000, at time `now`. */
const MSS = 100;
const RCV_NXT = 1000;

describe('SackCompression', () => {
  it('lets the first three duplicates for one RCV.NXT go at once and folds the rest of the run', () => {
    const compression = new SackCompression();
    const due = [];
    for (let i = 0; i < 6; i++) {
      const start = 2000 + i * MSS;
      due.push(compression.dueNow(start, start + MSS, 1, RCV_NXT, 10, 20));
    }
    expect(due).toEqual([1, 1, 1, 0, 0, 0]);
    // A twentieth of the 20 ms RTT, at most 1 ms.
    expect(compression.deadline).toBe(11);
  });

  it('sends the fold as one ACK when its timer runs out, unless RCV.NXT moved meanwhile', () => {
    const folded = (): SackCompression => {
      const compression = new SackCompression();
      compression.dueNow(2000, 2000 + 5 * MSS, 5, RCV_NXT, 0, 4);
      return compression;
    };
    const compression = folded();
    expect(compression.deadline).toBeCloseTo(0.2);
    expect(compression.expire(0.1, RCV_NXT)).toBe(false);
    expect(compression.expire(0.2, RCV_NXT)).toBe(true);
    expect(compression.deadline).toBeUndefined();
    expect(compression.expire(5, RCV_NXT)).toBe(false);
    // The hole was filled: the ACK that said so reported everything, nothing is owed.
    expect(folded().expire(1, RCV_NXT + MSS)).toBe(false);
  });

  it('waits 1 ms at most, also when no RTT is known', () => {
    const slow = new SackCompression();
    slow.dueNow(2000, 2000 + 4 * MSS, 4, RCV_NXT, 50, 500);
    expect(slow.deadline).toBe(51);
    const unknown = new SackCompression();
    unknown.dueNow(2000, 2000 + 4 * MSS, 4, RCV_NXT, 50, undefined);
    expect(unknown.deadline).toBe(51);
  });

  it('sends one ACK for every 44 segments folded, without waiting', () => {
    const compression = new SackCompression();
    // A merged run of 50: three at once, 44 folded into one more, 3 left folded.
    expect(compression.dueNow(2000, 2000 + 50 * MSS, 50, RCV_NXT, 0, 20)).toBe(4);
    expect(compression.deadline).toBe(1);
    // 41 more fill the fold again.
    expect(compression.dueNow(2000 + 50 * MSS, 2000 + 91 * MSS, 41, RCV_NXT, 0.5, 20)).toBe(1);
    expect(compression.deadline).toBeUndefined();
  });

  it('answers the first segment of a new run at once, and starts the fold again behind it', () => {
    const compression = new SackCompression();
    expect(compression.dueNow(2000, 2000 + 10 * MSS, 10, RCV_NXT, 0, 20)).toBe(3);
    // Beyond another hole: its ACK names it first and the folded run after it.
    expect(compression.dueNow(4000, 4000 + 10 * MSS, 10, RCV_NXT, 0.5, 20)).toBe(1);
    expect(compression.deadline).toBe(1.5);
    // A retransmission into the first hole's gap is a new run too.
    expect(compression.dueNow(1100, 1100 + MSS, 1, RCV_NXT, 0.6, 20)).toBe(1);
    expect(compression.deadline).toBeUndefined();
  });

  it('counts to three again for each new RCV.NXT', () => {
    const compression = new SackCompression();
    expect(compression.dueNow(2000, 2000 + 5 * MSS, 5, RCV_NXT, 0, 20)).toBe(3);
    expect(compression.dueNow(2500, 2500 + 5 * MSS, 5, RCV_NXT + MSS, 0.1, 20)).toBe(3);
  });
});
