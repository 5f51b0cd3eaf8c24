import { describe, expect, it } from 'vitest';
import { HyStartPlusPlus } from './hystart.js';
import { NewRenoCongestionControl } from './newreno.js';

/**
 * HyStart++ (RFC 9406 §4.2), round by round. A round is a window of data:
 * it ends when the ACK passes the SND.NXT at its start. Each round below
 * sends `acks` ACKs, each with an RTT sample.
 */
class Rounds {
  private sent = 0;
  readonly phases: string[] = [];

  constructor(readonly hystart = new HyStartPlusPlus()) {}

  /**
   * One round: `acks` segments of 100 bytes sent at its start, ACKed one by
   * one; its first ACK completes the round before. The phase after its last
   * ACK is recorded.
   */
  round(rtt: number, acks = 10): this {
    const start = this.sent;
    this.sent += acks * 100;
    let phase = '';
    for (let i = 0; i < acks; i++) phase = this.hystart.onAck({ rtt, ack: start + i * 100, sndNxt: this.sent });
    this.phases.push(phase);
    return this;
  }
}

describe('HyStart++ (RFC 9406)', () => {
  it('stays in slow start while the RTT holds', () => {
    const rounds = new Rounds();
    for (let i = 0; i < 6; i++) rounds.round(20);
    expect(rounds.phases.every((phase) => phase === 'slow-start')).toBe(true);
  });

  it('moves to Conservative Slow Start when a round\'s minimum RTT rises by an eighth, at least 4 ms, and ends slow start five rounds later', () => {
    // 40 ms → threshold max(4, min(40/8, 16)) = 5 ms: 4.9 ms more is not enough, 5 is.
    expect(new Rounds().round(40).round(44.9).phases.at(-1)).toBe('slow-start');
    const rounds = new Rounds().round(40).round(45);
    expect(rounds.phases.at(-1)).toBe('conservative');
    expect(rounds.hystart.growthDivisor).toBe(4);
    for (let i = 0; i < 4; i++) rounds.round(45);
    expect(rounds.phases.at(-1)).toBe('conservative');
    rounds.round(45);
    expect(rounds.phases.at(-1)).toBe('done');
  });

  it('goes back to slow start when the RTT falls below the baseline during CSS', () => {
    const rounds = new Rounds().round(20).round(30);
    expect(rounds.phases.at(-1)).toBe('conservative');
    rounds.round(25);
    expect(rounds.phases.at(-1)).toBe('slow-start');
  });

  it('needs eight samples in a round before judging it', () => {
    const rounds = new Rounds().round(20).round(40, 7);
    expect(rounds.phases.at(-1)).toBe('slow-start');
  });

  it('is done for good after a loss', () => {
    const hystart = new HyStartPlusPlus();
    hystart.stop();
    expect(hystart.onAck({ rtt: 10, ack: 1, sndNxt: 2 })).toBe('done');
  });

  it('slows the window to a quarter in CSS and sets ssthresh to cwnd when slow start ends', () => {
    const smss = 1000;
    const cc = new NewRenoCongestionControl(smss, 0, { hystart: true });
    let sndNxt = 0;
    const round = (rtt: number): number => {
      const before = cc.cwnd;
      const start = sndNxt;
      sndNxt += 10 * smss;
      for (let i = 0; i < 10; i++) cc.onAck(smss, 0, rtt, { rtt, ack: start + i * smss, sndNxt });
      return cc.cwnd - before;
    };
    expect(round(20)).toBe(10 * smss);
    expect(round(20)).toBe(10 * smss);
    // The round whose eighth sample shows the rise grows fully until then, a quarter after.
    round(30);
    expect(round(30)).toBe((10 * smss) / 4);
    // CSS began within the third round; the first ACK of the eighth ends its fifth round.
    for (let i = 0; i < 3; i++) round(30);
    expect(cc.ssthresh).toBe(Infinity);
    round(30);
    expect(cc.ssthresh).toBeLessThan(Infinity);
    expect(cc.ssthresh).toBeLessThanOrEqual(cc.cwnd);
  });
});
