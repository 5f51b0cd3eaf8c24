import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SeededRng, normalizeSeed } from './rng.js';

const draw = (rng: SeededRng, count: number): number[] => Array.from({ length: count }, () => rng.nextUint32());

describe('SeededRng', () => {
  it('replays the same sequence for the same seed', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (seed) => {
        expect(draw(new SeededRng(seed), 20)).toEqual(draw(new SeededRng(seed), 20));
      }),
    );
  });

  it('gives different sequences for neighbouring seeds', () => {
    const sequences = new Set<string>();
    for (let seed = 0; seed < 200; seed++) sequences.add(draw(new SeededRng(seed), 4).join(','));
    expect(sequences.size).toBe(200);
  });

  it('keeps next() in [0, 1) and int(n) in [0, n)', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 1, max: 1000 }), (seed, n) => {
        const rng = new SeededRng(seed);
        for (let i = 0; i < 50; i++) {
          const x = rng.next();
          expect(x).toBeGreaterThanOrEqual(0);
          expect(x).toBeLessThan(1);
          const k = rng.int(n);
          expect(Number.isInteger(k) && k >= 0 && k < n).toBe(true);
        }
      }),
    );
  });

  it('spreads int(10) evenly over a fixed seed', () => {
    const rng = new SeededRng(12345);
    const counts = new Array<number>(10).fill(0);
    const draws = 100_000;
    for (let i = 0; i < draws; i++) counts[rng.int(10)]!++;
    // Each bucket expects 10 000 with a standard deviation of about 95.
    for (const count of counts) expect(Math.abs(count - draws / 10)).toBeLessThan(500);
  });

  it('rejects ranges it cannot draw from', () => {
    const rng = new SeededRng(1);
    expect(() => rng.int(0)).toThrow(RangeError);
    expect(() => rng.int(2.5)).toThrow(RangeError);
    expect(() => new SeededRng(Number.NaN)).toThrow(RangeError);
  });

  it('forks by label without consuming from the parent', () => {
    const parent = new SeededRng(99);
    const untouched = new SeededRng(99);
    const forkedEarly = draw(parent.fork('a→b'), 10);
    draw(parent, 1000);
    const forkedLate = draw(parent.fork('a→b'), 10);
    expect(forkedLate).toEqual(forkedEarly);
    expect(draw(parent.fork('b→a'), 10)).not.toEqual(forkedEarly);
    // The parent's own sequence is unaffected by forking.
    const fresh = new SeededRng(99);
    fresh.fork('x');
    expect(draw(fresh, 10)).toEqual(draw(untouched, 10));
  });

  it('folds any finite number into a 32-bit seed deterministically', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (seed) => {
        const folded = normalizeSeed(seed);
        expect(Number.isInteger(folded) && folded >= 0 && folded <= 0xffffffff).toBe(true);
        expect(normalizeSeed(seed)).toBe(folded);
      }),
    );
    expect(normalizeSeed(7)).toBe(7);
    expect(normalizeSeed(-1)).not.toBe(normalizeSeed(1));
  });
});
