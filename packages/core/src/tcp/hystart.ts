import { seqGe } from './seq.js';

/**
 * HyStart++ (RFC 9406): ends slow start when the RTT starts to grow, before
 * the window overshoots the path's queue and a whole window's worth of losses
 * follows. Per round trip it takes the minimum RTT of the first samples; a
 * rise of more than an eighth (4–16 ms) moves to Conservative Slow Start,
 * which grows a quarter as fast, and after five rounds of it slow start ends.
 * An RTT back below the baseline resumes slow start: the rise was noise.
 *
 * Only the first slow start uses it (§4.2: after a loss the window already
 * knows the path); the congestion control asks `phase` on every ACK there.
 */

/** §4.3 constants. */
const MIN_RTT_THRESH = 4;
const MAX_RTT_THRESH = 16;
const MIN_RTT_DIVISOR = 8;
const N_RTT_SAMPLE = 8;
const CSS_GROWTH_DIVISOR = 4;
const CSS_ROUNDS = 5;

export type SlowStartPhase = 'slow-start' | 'conservative' | 'done';

export interface SlowStartAck {
  /** An RTT sample taken from this ACK, ms, if there was one. */
  readonly rtt: number | undefined;
  /** The ACK number and SND.NXT when it arrived: a round ends when the ACK passes the SND.NXT of its start. */
  readonly ack: number;
  readonly sndNxt: number;
}

export class HyStartPlusPlus {
  private phaseValue: SlowStartPhase = 'slow-start';
  private windowEnd: number | undefined;
  private lastRoundMinRtt = Number.POSITIVE_INFINITY;
  private currentRoundMinRtt = Number.POSITIVE_INFINITY;
  private rttSampleCount = 0;
  private cssBaselineMinRtt = Number.POSITIVE_INFINITY;
  private cssRounds = 0;

  get phase(): SlowStartPhase {
    return this.phaseValue;
  }

  /** How much slower than standard slow start the window grows now. */
  get growthDivisor(): number {
    return this.phaseValue === 'conservative' ? CSS_GROWTH_DIVISOR : 1;
  }

  /** A loss (or a timeout) ends slow start for good, whatever HyStart++ thought (§4.2). */
  stop(): void {
    this.phaseValue = 'done';
  }

  /** One ACK of new data during slow start; returns the phase after it. */
  onAck({ rtt, ack, sndNxt }: SlowStartAck): SlowStartPhase {
    if (this.phaseValue === 'done') return 'done';
    if (this.windowEnd === undefined || seqGe(ack, this.windowEnd)) {
      // §4.2: a new round starts.
      if (this.windowEnd !== undefined && this.phaseValue === 'conservative' && ++this.cssRounds >= CSS_ROUNDS) {
        this.phaseValue = 'done';
        return 'done';
      }
      this.windowEnd = sndNxt;
      this.lastRoundMinRtt = this.currentRoundMinRtt;
      this.currentRoundMinRtt = Number.POSITIVE_INFINITY;
      this.rttSampleCount = 0;
    }
    if (rtt === undefined) return this.phaseValue;
    this.currentRoundMinRtt = Math.min(this.currentRoundMinRtt, rtt);
    this.rttSampleCount++;
    if (this.rttSampleCount < N_RTT_SAMPLE) return this.phaseValue;
    if (this.phaseValue === 'slow-start') {
      if (!Number.isFinite(this.currentRoundMinRtt) || !Number.isFinite(this.lastRoundMinRtt)) return this.phaseValue;
      const threshold = Math.max(MIN_RTT_THRESH, Math.min(this.lastRoundMinRtt / MIN_RTT_DIVISOR, MAX_RTT_THRESH));
      if (this.currentRoundMinRtt >= this.lastRoundMinRtt + threshold) {
        this.cssBaselineMinRtt = this.currentRoundMinRtt;
        this.cssRounds = 0;
        this.phaseValue = 'conservative';
      }
    } else if (this.currentRoundMinRtt < this.cssBaselineMinRtt) {
      // §4.2: the RTT came back down: the rise was not the queue filling.
      this.cssBaselineMinRtt = Number.POSITIVE_INFINITY;
      this.phaseValue = 'slow-start';
    }
    return this.phaseValue;
  }
}
