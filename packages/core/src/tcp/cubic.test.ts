import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CUBIC_ALPHA, CUBIC_BETA, CUBIC_C, CubicCongestionControl } from './cubic.js';

const SMSS = 1000;

/** Slow start from IW (10 segments) to `segments`, then a loss with that much in flight. */
const afterLossAt = (segments: number, now = 0): CubicCongestionControl => {
  const cc = new CubicCongestionControl(SMSS, 0);
  for (let i = 10; i < segments; i++) cc.onAck(SMSS, now, undefined);
  expect(cc.cwnd).toBe(segments * SMSS);
  cc.onEnterRecovery(segments * SMSS, now);
  cc.onExitRecovery(segments * SMSS, now);
  return cc;
};

/**
 * One round trip: the current window acknowledged one segment per ACK, the
 * ACKs spread evenly over `rtt` ms. Returns the time at the end of the round.
 */
const ackRound = (cc: CubicCongestionControl, now: number, rtt: number): number => {
  const acks = Math.ceil(cc.cwnd / SMSS);
  for (let i = 0; i < acks; i++) {
    now += rtt / acks;
    cc.onAck(SMSS, now, rtt);
    expect(cc.cwnd).toBeGreaterThanOrEqual(Math.floor(cc.wEst));
  }
  return now;
};

describe('CUBIC (RFC 9438)', () => {
  it('starts like Reno: same initial window and slow start', () => {
    const cc = new CubicCongestionControl(SMSS, 0);
    expect(cc.name).toBe('cubic');
    expect(cc.cwnd).toBe(10 * SMSS);
    for (let i = 0; i < 10; i++) cc.onAck(SMSS, 0, 50);
    expect(cc.cwnd).toBe(20 * SMSS);
  });

  it('reduces to β = 0.7 of the flight on loss and remembers W_max (§4.6)', () => {
    const cc = new CubicCongestionControl(SMSS, 0);
    for (let i = 10; i < 100; i++) cc.onAck(SMSS, 0, undefined);
    cc.onEnterRecovery(100 * SMSS, 0);
    expect(cc.ssthresh).toBe(70 * SMSS);
    expect(cc.cwnd).toBe(73 * SMSS);
    expect(cc.wMax).toBe(100 * SMSS);
    cc.onExitRecovery(90 * SMSS, 0);
    expect(cc.cwnd).toBe(70 * SMSS);
    // The first ACK in congestion avoidance starts the epoch: K = ∛((100 − 70) / 0.4).
    cc.onAck(SMSS, 1000, 100);
    expect(cc.k).toBeCloseTo(Math.cbrt(30 / CUBIC_C), 9);
    expect(cc.cubicWindow(cc.k)).toBeCloseTo(100 * SMSS, 6);
    expect(cc.cubicWindow(0)).toBeCloseTo(70 * SMSS, 6);
  });

  it('follows W_cubic(t) through the concave region up to the plateau at W_max', () => {
    const cc = afterLossAt(100);
    const start = 1000;
    let now = start;
    for (let round = 0; round < 50; round++) {
      now = ackRound(cc, now, 100);
      const t = (now - start) / 1000;
      // Within a quarter segment of the curve, and above the Reno estimate here.
      expect(Math.abs(cc.cwnd - cc.cubicWindow(t))).toBeLessThan(SMSS / 4);
      expect(cc.cubicWindow(t)).toBeGreaterThan(cc.wEst);
    }
    // At t ≈ K the window is back at W_max.
    expect(cc.k).toBeGreaterThan(4.1);
    expect(cc.k).toBeLessThan(4.3);
    const atK = afterLossAt(100);
    let t = ackRound(atK, start, 100); // the first ACK starts the epoch and sets K
    while ((t - start) / 1000 < atK.k - 0.05) t = ackRound(atK, t, 100);
    expect(Math.abs(atK.cwnd - 100 * SMSS)).toBeLessThan(SMSS);
  });

  it('grows like Reno in the Reno-friendly region (§4.3): α_cubic, then 1 segment per RTT past cwnd_prior', () => {
    const cc = afterLossAt(100);
    let now = 1000;
    now = ackRound(cc, now, 1); // 1 ms RTT: the cubic curve hardly moves
    const before = cc.wEst;
    now = ackRound(cc, now, 1);
    const perRound = (cc.wEst - before) / SMSS;
    expect(perRound).toBeGreaterThan(CUBIC_ALPHA * 0.97);
    expect(perRound).toBeLessThan(CUBIC_ALPHA * 1.03);
    expect(cc.cwnd).toBe(Math.floor(cc.wEst));
    expect(cc.cubicWindow((now - 1000) / 1000)).toBeLessThan(cc.wEst);

    while (cc.wEst < 100 * SMSS) now = ackRound(cc, now, 1);
    const past = cc.cwnd;
    now = ackRound(cc, now, 1);
    expect((cc.cwnd - past) / SMSS).toBeGreaterThan(0.95);
    expect((cc.cwnd - past) / SMSS).toBeLessThan(1.05);
  });

  it('lowers W_max when a loss comes before W_max was regained (fast convergence, §4.7)', () => {
    const cc = afterLossAt(100);
    let now = 1000;
    for (let round = 0; round < 10; round++) now = ackRound(cc, now, 100);
    const cwnd = cc.cwnd;
    expect(cwnd).toBeLessThan(100 * SMSS);
    cc.onEnterRecovery(cwnd, now);
    // cwnd reports whole bytes; the window behind it may hold a fraction more.
    expect(Math.abs((cc.wMax as number) - (cwnd * (1 + CUBIC_BETA)) / 2)).toBeLessThan(1);
    expect(cc.ssthresh).toBe(Math.floor(cwnd * CUBIC_BETA));
  });

  it('inflates by exactly SMSS per duplicate ACK of NewReno recovery, whatever β·FlightSize comes to (RFC 5681 §3.2 step 4)', () => {
    // 83,220 × 0.7 is 58,253.999… in floating point; near 65,536 the sums of such a window round up.
    const cc = new CubicCongestionControl(1460, 0);
    cc.onEnterRecovery(83_220, 0, 'newreno');
    expect(cc.ssthresh).toBe(58_253);
    let cwnd = cc.cwnd;
    expect(cwnd).toBe(58_253 + 3 * 1460);
    for (let i = 0; i < 8; i++) {
      cc.onRecoveryDuplicateAck();
      expect(cc.cwnd - cwnd).toBe(1460);
      cwnd = cc.cwnd;
    }
  });

  it('keeps W_max at the window when a loss comes after W_max was passed', () => {
    const cc = afterLossAt(40);
    let now = 1000;
    while (cc.cwnd <= 45 * SMSS) now = ackRound(cc, now, 100);
    const cwnd = cc.cwnd;
    cc.onEnterRecovery(cwnd, now);
    // The internal window may hold a fraction of a byte more than cwnd reports.
    expect(Math.floor(cc.wMax as number)).toBe(cwnd);
  });

  it('on a timeout drops to one segment, sets ssthresh by β, and restarts the curve with K = 0 (§4.8)', () => {
    const cc = afterLossAt(100);
    cc.onRetransmissionTimeout(80 * SMSS, 500);
    expect(cc.cwnd).toBe(SMSS);
    expect(cc.ssthresh).toBe(56 * SMSS);
    for (let i = 1; i < 56; i++) cc.onAck(SMSS, 600, 100);
    expect(cc.cwnd).toBe(56 * SMSS);
    cc.onAck(SMSS, 700, 100); // first congestion avoidance ACK
    expect(cc.k).toBe(0);
    expect(cc.wMax).toBe(56 * SMSS);
    expect(cc.wEst).toBeGreaterThanOrEqual(56 * SMSS);
    // Convex from the start: W_max + C·t³. With a 200 ms RTT the curve is
    // ahead of the Reno estimate after 4 s (20 rounds at α_cubic: ≈ 66.6 segments).
    let now = 700;
    while (now < 4700) now = ackRound(cc, now, 200);
    const t = (now - 700) / 1000;
    const curve = 56 * SMSS + CUBIC_C * t ** 3 * SMSS;
    expect(cc.cubicWindow(t)).toBeCloseTo(curve, 6);
    expect(curve).toBeGreaterThan(cc.wEst + SMSS);
    expect(Math.abs(cc.cwnd - curve)).toBeLessThan(SMSS);
    cc.onRetransmissionTimeout(2 * SMSS, now);
    expect(cc.ssthresh).toBe(2 * SMSS);
  });

  it('restarts the epoch after idling so the idle time does not count as growth', () => {
    const cc = afterLossAt(100);
    let now = 1000;
    for (let round = 0; round < 5; round++) now = ackRound(cc, now, 100);
    cc.onIdleRestart(now);
    expect(cc.cwnd).toBe(10 * SMSS);
    // Slow start back to ssthresh, then the first congestion avoidance ACK 100 s later.
    for (let i = 10; i < 70; i++) cc.onAck(SMSS, now, 100);
    cc.onAck(SMSS, now + 100_000, 100);
    expect(cc.cubicWindow(0)).toBeCloseTo(70 * SMSS, 6);
    expect(cc.cwnd).toBeLessThan(71 * SMSS);
  });

  it('stays at or above the Reno estimate for any ACK pattern', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 12, max: 300 }),
        fc.array(
          fc.record({ segments: fc.integer({ min: 1, max: 4 }), gap: fc.integer({ min: 0, max: 300 }) }),
          { maxLength: 300 },
        ),
        fc.integer({ min: 1, max: 400 }),
        (lossAt, acks, rtt) => {
          const cc = afterLossAt(lossAt);
          let now = 0;
          for (const ack of acks) {
            now += ack.gap;
            const before = cc.cwnd;
            cc.onAck(ack.segments * SMSS, now, rtt);
            expect(cc.cwnd).toBeGreaterThanOrEqual(Math.floor(cc.wEst));
            expect(cc.cwnd).toBeGreaterThanOrEqual(before);
            // The target is at most 1.5 × cwnd (§4.2): at most half of the bytes
            // acknowledged, unless the window steps up to the Reno estimate.
            expect(cc.cwnd - before).toBeLessThanOrEqual(Math.max((ack.segments * SMSS) / 2, cc.wEst - before) + 1);
          }
        },
      ),
    );
  });
});
