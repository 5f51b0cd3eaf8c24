import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RttEstimator } from './rtt.js';

const linuxLike = { initialRto: 1000, minRto: 200, maxRto: 60_000 };

describe('RttEstimator (RFC 6298)', () => {
  it('starts at the initial RTO with no estimate (§2.1)', () => {
    const estimator = new RttEstimator(linuxLike);
    expect(estimator.rto).toBe(1000);
    expect(estimator.srtt).toBeUndefined();
    expect(estimator.rttvar).toBeUndefined();
    expect(estimator.backoffCount).toBe(0);
  });

  it('takes the first sample as SRTT = R, RTTVAR = R/2 (§2.2)', () => {
    const estimator = new RttEstimator(linuxLike);
    estimator.sample(100);
    expect(estimator.srtt).toBe(100);
    expect(estimator.rttvar).toBe(50);
    // RTO = 100 + max(G = 1, 4 × 50) = 300
    expect(estimator.rto).toBe(300);
  });

  it('smooths later samples with alpha 1/8 and beta 1/4, RTTVAR from the old SRTT (§2.3)', () => {
    const estimator = new RttEstimator(linuxLike);
    estimator.sample(100);
    estimator.sample(200);
    // RTTVAR = 3/4 × 50 + 1/4 × |100 − 200| = 37.5 + 25 = 62.5
    // SRTT   = 7/8 × 100 + 1/8 × 200 = 87.5 + 25 = 112.5
    // RTO    = 112.5 + 4 × 62.5 = 362.5
    expect(estimator.rttvar).toBe(62.5);
    expect(estimator.srtt).toBe(112.5);
    expect(estimator.rto).toBe(362.5);
    estimator.sample(112.5);
    // RTTVAR = 3/4 × 62.5 = 46.875; SRTT unchanged; RTO = 112.5 + 187.5 = 300
    expect(estimator.rttvar).toBe(46.875);
    expect(estimator.srtt).toBe(112.5);
    expect(estimator.rto).toBe(300);
  });

  it('uses the clock granularity when 4·RTTVAR is smaller (§2.2, §2.3)', () => {
    const estimator = new RttEstimator({ initialRto: 1000, minRto: 0, maxRto: 60_000, granularity: 100 });
    estimator.sample(40);
    // RTO = 40 + max(100, 4 × 20 = 80) = 140
    expect(estimator.rto).toBe(140);
  });

  it('rounds a small RTO up to the minimum (§2.4) and a large one down to the maximum (§2.5)', () => {
    const small = new RttEstimator(linuxLike);
    small.sample(10); // 10 + 20 = 30
    expect(small.rto).toBe(200);
    const large = new RttEstimator(linuxLike);
    large.sample(50_000); // 50 000 + 100 000
    expect(large.rto).toBe(60_000);
  });

  it('doubles the RTO on each backoff up to the maximum (§5.5), and a sample clears it', () => {
    const estimator = new RttEstimator(linuxLike);
    estimator.sample(100); // RTO 300
    estimator.backoff();
    expect(estimator.rto).toBe(600);
    estimator.backoff();
    expect(estimator.rto).toBe(1200);
    expect(estimator.backoffCount).toBe(2);
    for (let i = 0; i < 20; i++) estimator.backoff();
    expect(estimator.rto).toBe(60_000);
    expect(estimator.backoffCount).toBe(22);

    estimator.sample(100);
    // RTTVAR = 3/4 × 50 = 37.5; SRTT = 100; RTO = 100 + 150 = 250, no backoff
    expect(estimator.backoffCount).toBe(0);
    expect(estimator.rto).toBe(250);
  });

  it('restores the computed RTO on resetBackoff', () => {
    const estimator = new RttEstimator(linuxLike);
    estimator.backoff();
    expect(estimator.rto).toBe(2000);
    estimator.resetBackoff();
    expect(estimator.rto).toBe(1000);
    expect(estimator.backoffCount).toBe(0);
  });

  it('keeps the RTO within [minRto, maxRto] and equal to min(base × 2^n, maxRto) for any history', () => {
    const step = fc.oneof(
      fc.integer({ min: 0, max: 120_000 }).map((rtt) => ({ kind: 'sample' as const, rtt })),
      fc.constant({ kind: 'backoff' as const }),
      fc.constant({ kind: 'reset' as const }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const estimator = new RttEstimator(linuxLike);
        let base = 1000;
        let backoffs = 0;
        for (const s of steps) {
          if (s.kind === 'sample') {
            estimator.sample(s.rtt);
            const srtt = estimator.srtt as number;
            const rttvar = estimator.rttvar as number;
            base = Math.min(Math.max(srtt + Math.max(1, 4 * rttvar), 200), 60_000);
            backoffs = 0;
          } else if (s.kind === 'backoff') {
            estimator.backoff();
            backoffs++;
          } else {
            estimator.resetBackoff();
            backoffs = 0;
          }
          expect(estimator.rto).toBeGreaterThanOrEqual(200);
          expect(estimator.rto).toBeLessThanOrEqual(60_000);
          expect(estimator.rto).toBeCloseTo(Math.min(base * 2 ** backoffs, 60_000), 6);
          expect(estimator.backoffCount).toBe(backoffs);
        }
      }),
    );
  });

  it('rejects invalid samples and bounds', () => {
    const estimator = new RttEstimator(linuxLike);
    expect(() => estimator.sample(-1)).toThrow(RangeError);
    expect(() => estimator.sample(Number.NaN)).toThrow(RangeError);
    expect(() => new RttEstimator({ initialRto: 1000, minRto: 500, maxRto: 100 })).toThrow(RangeError);
  });
});
