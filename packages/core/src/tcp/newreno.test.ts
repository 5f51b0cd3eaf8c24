import { describe, expect, it } from 'vitest';
import { initialCongestionWindow, MAX_CONGESTION_WINDOW, NewRenoCongestionControl } from './newreno.js';

const SMSS = 1460;

/** One round trip of ACKs: the whole current window acknowledged in `perAck`-byte ACKs. */
const ackOneWindow = (cc: NewRenoCongestionControl, perAck: number, now = 0): void => {
  let left = cc.cwnd;
  while (left > 0) {
    const acked = Math.min(perAck, left);
    cc.onAck(acked, now, 100);
    left -= acked;
  }
};

/** A controller brought into congestion avoidance with cwnd = ssthresh = `segments`·SMSS. */
const inCongestionAvoidance = (segments: number): NewRenoCongestionControl => {
  const cc = new NewRenoCongestionControl(SMSS, 0);
  cc.onEnterRecovery(2 * segments * SMSS, 0);
  cc.onExitRecovery(2 * segments * SMSS, 0);
  expect(cc.cwnd).toBe(segments * SMSS);
  expect(cc.ssthresh).toBe(segments * SMSS);
  return cc;
};

describe('NewReno window arithmetic', () => {
  it('starts with the RFC 6928 initial window and an unbounded ssthresh', () => {
    expect(initialCongestionWindow(1460)).toBe(14_600);
    expect(initialCongestionWindow(536)).toBe(5_360);
    expect(initialCongestionWindow(4000)).toBe(14_600);
    expect(initialCongestionWindow(9000)).toBe(18_000);
    const cc = new NewRenoCongestionControl(SMSS, 0);
    expect(cc.name).toBe('newreno');
    expect(cc.cwnd).toBe(14_600);
    expect(cc.ssthresh).toBeGreaterThanOrEqual(MAX_CONGESTION_WINDOW);
  });

  it('doubles cwnd per round trip in slow start, with one ACK per segment or per two', () => {
    for (const perAck of [SMSS, 2 * SMSS]) {
      const cc = new NewRenoCongestionControl(SMSS, 0);
      ackOneWindow(cc, perAck);
      expect(cc.cwnd).toBe(20 * SMSS);
      ackOneWindow(cc, perAck);
      expect(cc.cwnd).toBe(40 * SMSS);
      ackOneWindow(cc, perAck);
      expect(cc.cwnd).toBe(80 * SMSS);
    }
  });

  it('grows at most 2·SMSS per ACK in slow start (RFC 3465, L = 2·SMSS)', () => {
    const cc = new NewRenoCongestionControl(SMSS, 0);
    cc.onAck(6 * SMSS, 0, undefined);
    expect(cc.cwnd).toBe(12 * SMSS);
    cc.onAck(100, 0, undefined);
    expect(cc.cwnd).toBe(12 * SMSS + 100);
  });

  it('grows about one SMSS per window of ACKs in congestion avoidance', () => {
    const cc = inCongestionAvoidance(50);
    ackOneWindow(cc, SMSS);
    expect(cc.cwnd).toBe(51 * SMSS);
    for (let round = 0; round < 9; round++) ackOneWindow(cc, 2 * SMSS);
    expect(cc.cwnd).toBe(60 * SMSS);
    // Less than a window of ACKs: no growth yet.
    cc.onAck(59 * SMSS, 0, undefined);
    expect(cc.cwnd).toBe(60 * SMSS);
    cc.onAck(SMSS, 0, undefined);
    expect(cc.cwnd).toBe(61 * SMSS);
  });

  it('ends slow start at ssthresh and counts the rest toward congestion avoidance', () => {
    const cc = new NewRenoCongestionControl(SMSS, 0);
    cc.onRetransmissionTimeout(20 * SMSS, 0); // ssthresh 10 SMSS, cwnd 1 SMSS
    for (let i = 0; i < 9; i++) cc.onAck(SMSS, 0, undefined);
    expect(cc.cwnd).toBe(10 * SMSS);
    cc.onAck(SMSS, 0, undefined); // now in congestion avoidance: 1 of 10 SMSS counted
    expect(cc.cwnd).toBe(10 * SMSS);
    for (let i = 0; i < 9; i++) cc.onAck(SMSS, 0, undefined);
    expect(cc.cwnd).toBe(11 * SMSS);
  });

  it('halves on loss, inflates per duplicate ACK and deflates on exit (RFC 5681 §3.2, RFC 6582)', () => {
    const cc = inCongestionAvoidance(40);
    cc.onEnterRecovery(40 * SMSS, 0);
    expect(cc.ssthresh).toBe(20 * SMSS);
    expect(cc.cwnd).toBe(23 * SMSS);
    cc.onRecoveryDuplicateAck();
    cc.onRecoveryDuplicateAck();
    expect(cc.cwnd).toBe(25 * SMSS);
    // A partial ACK of 5 segments: deflate by 5, add back one.
    cc.onPartialAck(5 * SMSS);
    expect(cc.cwnd).toBe(21 * SMSS);
    // Exactly one SMSS: deflated and added back.
    cc.onPartialAck(SMSS);
    expect(cc.cwnd).toBe(21 * SMSS);
    // Less than one SMSS acknowledged: no add-back.
    cc.onPartialAck(100);
    expect(cc.cwnd).toBe(21 * SMSS - 100);
    cc.onExitRecovery(30 * SMSS, 0);
    expect(cc.cwnd).toBe(20 * SMSS);
    expect(cc.ssthresh).toBe(20 * SMSS);
  });

  it('exits recovery with FlightSize + SMSS when little is in flight (RFC 6582 §3.2 step 6)', () => {
    const cc = inCongestionAvoidance(40);
    cc.onEnterRecovery(40 * SMSS, 0);
    cc.onExitRecovery(3 * SMSS, 0);
    expect(cc.cwnd).toBe(4 * SMSS);
    cc.onEnterRecovery(0, 0);
    cc.onExitRecovery(0, 0);
    expect(cc.cwnd).toBe(2 * SMSS);
  });

  it('never lets a partial ACK take cwnd below one SMSS', () => {
    const cc = new NewRenoCongestionControl(SMSS, 0);
    cc.onEnterRecovery(4 * SMSS, 0);
    cc.onPartialAck(100 * SMSS);
    expect(cc.cwnd).toBe(SMSS);
  });

  it('drops to the loss window on a retransmission timeout (RFC 5681 §3.1)', () => {
    const cc = inCongestionAvoidance(40);
    cc.onRetransmissionTimeout(30 * SMSS, 0);
    expect(cc.cwnd).toBe(SMSS);
    expect(cc.ssthresh).toBe(15 * SMSS);
    // A second timeout of the same segment keeps ssthresh.
    cc.onRetransmissionTimeout(SMSS, 0, true);
    expect(cc.ssthresh).toBe(15 * SMSS);
    expect(cc.cwnd).toBe(SMSS);
    // A new timeout with little in flight: ssthresh floors at 2·SMSS.
    cc.onRetransmissionTimeout(SMSS, 0);
    expect(cc.ssthresh).toBe(2 * SMSS);
  });

  it('restarts from min(IW, cwnd) after idling (RFC 5681 §4.1)', () => {
    const big = inCongestionAvoidance(40);
    big.onIdleRestart(0);
    expect(big.cwnd).toBe(10 * SMSS);
    expect(big.ssthresh).toBe(40 * SMSS);
    const small = new NewRenoCongestionControl(SMSS, 0);
    small.onRetransmissionTimeout(10 * SMSS, 0);
    small.onIdleRestart(0);
    expect(small.cwnd).toBe(SMSS);
  });

  it('ignores empty ACKs and rejects a nonsensical SMSS', () => {
    const cc = new NewRenoCongestionControl(SMSS, 0);
    cc.onAck(0, 0, undefined);
    cc.onAck(-5, 0, undefined);
    expect(cc.cwnd).toBe(10 * SMSS);
    expect(() => new NewRenoCongestionControl(0, 0)).toThrow(RangeError);
  });
});
