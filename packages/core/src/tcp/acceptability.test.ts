import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isAcceptableSegment } from './acceptability.js';
import { seqAdd } from './seq.js';

describe('segment acceptability (RFC 9293 §3.10.7.4, the four-case table)', () => {
  const rcvNxt = 1000;
  it('length 0, window 0: only SEG.SEQ = RCV.NXT', () => {
    expect(isAcceptableSegment(1000, 0, rcvNxt, 0)).toBe(true);
    expect(isAcceptableSegment(999, 0, rcvNxt, 0)).toBe(false);
    expect(isAcceptableSegment(1001, 0, rcvNxt, 0)).toBe(false);
  });
  it('length 0, window > 0: RCV.NXT ≤ SEG.SEQ < RCV.NXT + RCV.WND', () => {
    expect(isAcceptableSegment(1000, 0, rcvNxt, 10)).toBe(true);
    expect(isAcceptableSegment(1009, 0, rcvNxt, 10)).toBe(true);
    expect(isAcceptableSegment(1010, 0, rcvNxt, 10)).toBe(false);
    expect(isAcceptableSegment(999, 0, rcvNxt, 10)).toBe(false);
  });
  it('length > 0, window 0: never', () => {
    expect(isAcceptableSegment(1000, 1, rcvNxt, 0)).toBe(false);
    expect(isAcceptableSegment(999, 5, rcvNxt, 0)).toBe(false);
  });
  it('length > 0, window > 0: the first or the last octet in the window', () => {
    expect(isAcceptableSegment(990, 11, rcvNxt, 10)).toBe(true); // last octet is RCV.NXT
    expect(isAcceptableSegment(990, 10, rcvNxt, 10)).toBe(false); // entirely old
    expect(isAcceptableSegment(1009, 100, rcvNxt, 10)).toBe(true); // first octet at the right edge
    expect(isAcceptableSegment(1010, 100, rcvNxt, 10)).toBe(false); // entirely beyond
  });
  it('agrees with a direct reading of the table across the 2^32 wrap', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: -5000, max: 5000 }),
        fc.integer({ min: 0, max: 3000 }),
        fc.integer({ min: 0, max: 3000 }),
        (next, offset, length, window) => {
          const seq = seqAdd(next, offset);
          const inWindow = (o: number) => o >= 0 && o < window;
          const expected =
            length === 0
              ? window === 0
                ? offset === 0
                : inWindow(offset)
              : window > 0 && (inWindow(offset) || inWindow(offset + length - 1));
          expect(isAcceptableSegment(seq, length, next, window)).toBe(expected);
        },
      ),
    );
  });
});
