import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { seqAdd, seqDiff, seqGe, seqGt, seqInWindow, seqLe, seqLt } from './seq.js';

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const distance = fc.integer({ min: -(2 ** 31) + 1, max: 2 ** 31 - 1 });

describe('sequence arithmetic (RFC 9293 §3.4)', () => {
  it('wraps around 2^32', () => {
    expect(seqAdd(0xffffffff, 1)).toBe(0);
    expect(seqAdd(0xfffffff0, 0x20)).toBe(0x10);
    expect(seqLt(0xfffffff0, 0x10)).toBe(true);
    expect(seqGt(0x10, 0xfffffff0)).toBe(true);
  });

  it('orders numbers by their signed distance', () => {
    fc.assert(
      fc.property(u32, distance, (a, d) => {
        const b = seqAdd(a, d);
        expect(seqDiff(b, a)).toBe(d);
        expect(seqLt(a, b)).toBe(d > 0);
        expect(seqGt(a, b)).toBe(d < 0);
        expect(seqLe(a, b)).toBe(d >= 0);
        expect(seqGe(a, b)).toBe(d <= 0);
      }),
    );
  });

  it('tests window membership across the wrap', () => {
    fc.assert(
      fc.property(u32, fc.integer({ min: 1, max: 2 ** 30 }), fc.integer({ min: -(2 ** 30), max: 2 ** 31 }), (left, size, d) => {
        expect(seqInWindow(seqAdd(left, d), left, size)).toBe(d >= 0 && d < size);
      }),
    );
  });
});
