/**
 * Reno congestion control (RFC 5681) with the NewReno fast recovery of
 * RFC 6582, byte-counted (RFC 3465). Windows are in bytes.
 */
import type { CongestionControl, CongestionOptions, RecoveryStyle } from './congestion.js';
import { HyStartPlusPlus, type SlowStartAck } from './hystart.js';

/**
 * The largest window a peer can ever offer (RFC 7323 §2.3: 2^30 bytes with
 * the maximum shift of 14); a congestion window beyond it could not be used.
 */
export const MAX_CONGESTION_WINDOW = 2 ** 30;

/** RFC 6928 §2: IW = min(10·SMSS, max(2·SMSS, 14600)). */
export const initialCongestionWindow = (smss: number): number => Math.min(10 * smss, Math.max(2 * smss, 14_600));

export class NewRenoCongestionControl implements CongestionControl {
  readonly name: 'newreno' | 'cubic' = 'newreno';
  /** Sender MSS: what growth and floors count in (RFC 5681 §2); smaller after path MTU discovery. */
  private segmentSize: number;
  readonly initialWindow: number;
  /** cwnd in bytes; may be fractional in subclasses, reported rounded down. */
  protected window: number;
  /** RFC 5681 §3.1: the initial ssthresh may be arbitrarily high. */
  protected threshold = Number.POSITIVE_INFINITY;
  /** RFC 3465 §2.1: bytes acknowledged in congestion avoidance not yet turned into growth. */
  protected bytesAcked = 0;
  /** Ends the first slow start on a rising RTT instead of a loss, when enabled. */
  private readonly slowStartExit: HyStartPlusPlus | undefined;

  constructor(smss: number, _now: number, options: CongestionOptions = {}) {
    if (!Number.isInteger(smss) || smss <= 0) {
      throw new RangeError(`SMSS must be a positive integer, got ${smss}`);
    }
    this.segmentSize = smss;
    this.initialWindow = initialCongestionWindow(smss);
    this.window = this.initialWindow;
    this.slowStartExit = options.hystart === true ? new HyStartPlusPlus() : undefined;
  }


  get cwnd(): number {
    return Math.floor(this.window);
  }

  get smss(): number {
    return this.segmentSize;
  }

  onSmssChange(smss: number): void {
    if (!Number.isInteger(smss) || smss <= 0) throw new RangeError(`SMSS must be a positive integer, got ${smss}`);
    this.segmentSize = smss;
  }

  get ssthresh(): number {
    return Math.floor(this.threshold);
  }

  onAck(acked: number, now: number, srtt: number | undefined, slowStartAck?: SlowStartAck): void {
    if (!(acked > 0)) return;
    let remaining = acked;
    let divisor = 1;
    if (this.window < this.threshold && this.slowStartExit !== undefined && slowStartAck !== undefined) {
      // RFC 9406 §4.2: the first slow start ends once the RTT has grown for CSS_ROUNDS rounds.
      if (this.slowStartExit.onAck(slowStartAck) === 'done' && !Number.isFinite(this.threshold)) this.threshold = this.window;
      divisor = this.slowStartExit.growthDivisor;
    }
    if (this.window < this.threshold) {
      // Slow start with appropriate byte counting (RFC 3465 §2.2, L = 2·SMSS):
      // grow by the bytes acknowledged, at most 2·SMSS per ACK, up to ssthresh;
      // bytes acknowledged past ssthresh count toward congestion avoidance.
      // Conservative Slow Start (RFC 9406 §4.2) grows by a quarter of that.
      const slowStartBytes = Math.min(remaining, this.threshold - this.window);
      const growth = Math.min(slowStartBytes, 2 * this.smss) / divisor;
      this.window = Math.min(this.window + growth, MAX_CONGESTION_WINDOW);
      remaining -= slowStartBytes;
    }
    if (remaining > 0 && this.window >= this.threshold) {
      this.congestionAvoidance(remaining, now, srtt);
    }
  }

  onEnterRecovery(flightSize: number, _now: number, recovery: RecoveryStyle = 'newreno'): void {
    this.slowStartExit?.stop();
    this.threshold = this.reducedThreshold(flightSize);
    // RFC 5681 §3.2 step 3: inflate by the three segments that left the network;
    // RFC 6675 §5 step 4.2: SACK recovery measures the pipe instead, from cwnd = ssthresh.
    const inflation = recovery === 'sack' ? 0 : 3 * this.smss;
    this.window = Math.min(this.threshold + inflation, MAX_CONGESTION_WINDOW);
    this.bytesAcked = 0;
  }

  onRecoveryDuplicateAck(): void {
    this.window = Math.min(this.window + this.smss, MAX_CONGESTION_WINDOW);
  }

  onPartialAck(acked: number): void {
    let window = this.window - Math.max(acked, 0);
    if (acked >= this.smss) window += this.smss;
    this.window = Math.max(window, this.smss);
  }

  onExitRecovery(flightSize: number, _now: number): void {
    // RFC 6582 §3.2 step 6, option (1): avoids a burst when little is in flight.
    this.window = Math.min(this.threshold, Math.max(flightSize, this.smss) + this.smss);
    this.bytesAcked = 0;
  }

  onRetransmissionTimeout(flightSize: number, _now: number, repeated = false): void {
    this.slowStartExit?.stop();
    if (!repeated || !Number.isFinite(this.threshold)) {
      this.threshold = this.reducedThreshold(flightSize);
    }
    // RFC 5681 §3.1: the loss window is one full-sized segment.
    this.window = this.smss;
    this.bytesAcked = 0;
  }

  onIdleRestart(_now: number): void {
    // RFC 5681 §4.1: RW = min(IW, cwnd).
    this.window = Math.min(this.initialWindow, this.window);
    this.bytesAcked = 0;
  }

  /**
   * RFC 5681 §3.1 eq. (3) counted in bytes (RFC 3465 §2.1): one SMSS of growth
   * for every cwnd bytes acknowledged, i.e. about one SMSS per round trip.
   */
  protected congestionAvoidance(acked: number, _now: number, _srtt: number | undefined): void {
    this.bytesAcked += acked;
    // Each pass consumes at least one window of acknowledged bytes; a
    // cumulative ACK outside recovery covers at most about one window.
    while (this.bytesAcked >= this.window && this.window < MAX_CONGESTION_WINDOW) {
      this.bytesAcked -= this.window;
      this.window = Math.min(this.window + this.smss, MAX_CONGESTION_WINDOW);
    }
  }

  /** RFC 5681 §3.1 eq. (4): ssthresh = max(FlightSize / 2, 2·SMSS). */
  protected reducedThreshold(flightSize: number): number {
    return Math.max(Math.max(flightSize, 0) / 2, 2 * this.smss);
  }
}
