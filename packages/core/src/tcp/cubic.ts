import type { RecoveryStyle } from './congestion.js';
/**
 * CUBIC congestion control, RFC 9438. Slow start and the fast recovery steps
 * are Reno's (RFC 9438 §4.10 allows standard slow start; fast recovery is not
 * changed by CUBIC), so this extends the NewReno window arithmetic and
 * replaces congestion avoidance and the multiplicative decrease.
 *
 * The RFC counts windows in segments and time in seconds; here windows stay
 * in bytes (a segment count times SMSS) and `now` is in milliseconds.
 */
import { MAX_CONGESTION_WINDOW, NewRenoCongestionControl } from './newreno.js';

/** §5.1: C = 0.4 (segments / s³). */
export const CUBIC_C = 0.4;
/** §4.6: β_cubic = 0.7. */
export const CUBIC_BETA = 0.7;
/** §4.3: α_cubic = 3·(1 − β) / (1 + β), Reno's average rate at the same β. */
export const CUBIC_ALPHA = (3 * (1 - CUBIC_BETA)) / (1 + CUBIC_BETA);
/** §4.2: the target is at most 1.5 × cwnd, so growth stays below slow start's. */
const MAX_TARGET_RATIO = 1.5;

export class CubicCongestionControl extends NewRenoCongestionControl {
  override readonly name: 'newreno' | 'cubic' = 'cubic';
  /** W_max in bytes: the window just before the last reduction (after fast convergence). */
  private windowMax: number | undefined;
  /** cwnd_prior in bytes: cwnd when ssthresh was last set (§4.3, §4.6). */
  private windowPrior = 0;
  /** Start of the current congestion avoidance stage (ms), undefined until its first ACK. */
  private epochStart: number | undefined;
  /** K in seconds (§4.2, Figure 2). */
  private periodK = 0;
  /** W_est in bytes (§4.3). */
  private renoEstimate = 0;
  /** §4.8: the next congestion avoidance stage follows a timeout. */
  private afterTimeout = false;

  /** W_max in bytes, undefined before the first congestion event. */
  get wMax(): number | undefined {
    return this.windowMax;
  }

  /** K in seconds: when W_cubic returns to W_max. */
  get k(): number {
    return this.periodK;
  }

  /** W_est in bytes: what Reno's window would be in this epoch. */
  get wEst(): number {
    return this.renoEstimate;
  }

  /** W_cubic(t) in bytes for t seconds into the current epoch (§4.2, Figure 1). */
  cubicWindow(t: number): number {
    const offset = t - this.periodK;
    return CUBIC_C * offset * offset * offset * this.smss + (this.windowMax ?? this.window);
  }

  override onEnterRecovery(flightSize: number, now: number, recovery?: RecoveryStyle): void {
    this.recordCongestionEvent();
    super.onEnterRecovery(flightSize, now, recovery);
  }

  override onRetransmissionTimeout(flightSize: number, now: number, repeated = false): void {
    if (!repeated || !Number.isFinite(this.threshold)) this.windowPrior = this.window;
    // §4.8: the next epoch restarts the curve from where congestion avoidance begins.
    this.afterTimeout = true;
    this.epochStart = undefined;
    super.onRetransmissionTimeout(flightSize, now, repeated);
  }

  override onIdleRestart(now: number): void {
    // t counts from the start of congestion avoidance; an idle period must not
    // count as growth time (§5.8), so the curve restarts on the next ACK.
    this.epochStart = undefined;
    super.onIdleRestart(now);
  }

  /**
   * §4.6 with §4.8: ssthresh = max(FlightSize × β_cubic, 2·SMSS), in whole bytes. The product
   * itself can fall a hair short of one (83,220 × 0.7 is 58,253.999…), and a window that near a
   * whole byte gains one when a later sum rounds (an inflation by SMSS that grew cwnd by SMSS + 1).
   */
  protected override reducedThreshold(flightSize: number): number {
    return Math.max(Math.floor(Math.max(flightSize, 0) * CUBIC_BETA), 2 * this.smss);
  }

  protected override congestionAvoidance(acked: number, now: number, srtt: number | undefined): void {
    if (this.epochStart === undefined) this.startEpoch(now);
    const window = this.window;
    const t = (now - (this.epochStart as number)) / 1000;
    const rtt = (srtt ?? 0) / 1000;

    // §4.3: Reno's window grows by α_cubic segments per window of ACKs, and by
    // one once it has regained cwnd_prior.
    const alpha = this.renoEstimate >= this.windowPrior ? 1 : CUBIC_ALPHA;
    this.renoEstimate += (alpha * acked * this.smss) / window;

    let next: number;
    if (this.cubicWindow(t) < this.renoEstimate) {
      // §4.3: the Reno-friendly region.
      next = this.renoEstimate;
    } else {
      // §4.4, §4.5: move toward W_cubic one RTT ahead, (target − cwnd)/cwnd
      // per segment acknowledged.
      const target = Math.min(Math.max(this.cubicWindow(t + rtt), window), MAX_TARGET_RATIO * window);
      next = window + ((target - window) * acked) / window;
    }
    // Never below what Reno would have reached, never shrinking on an ACK.
    this.window = Math.min(Math.max(next, this.renoEstimate, window), MAX_CONGESTION_WINDOW);
  }

  /** §4.6 and §4.7: remember the window before the reduction. */
  private recordCongestionEvent(): void {
    const window = this.window;
    this.windowPrior = window;
    // Fast convergence: a flow that loses before regaining its previous W_max
    // releases bandwidth by aiming lower.
    this.windowMax =
      this.windowMax !== undefined && window < this.windowMax ? (window * (1 + CUBIC_BETA)) / 2 : window;
    this.epochStart = undefined;
    this.afterTimeout = false;
  }

  /** §4.2: a new congestion avoidance stage begins with cwnd_epoch = cwnd. */
  private startEpoch(now: number): void {
    const windowEpoch = this.window;
    this.epochStart = now;
    this.renoEstimate = windowEpoch;
    if (this.windowMax === undefined || this.afterTimeout) {
      // §4.8: after a timeout (or with no congestion event yet), W_max is the
      // window at the start of congestion avoidance and K = 0.
      this.windowMax = windowEpoch;
      this.periodK = 0;
      this.afterTimeout = false;
    } else {
      // Figure 2: K = ∛((W_max − cwnd_epoch) / C), in segments.
      this.periodK = Math.cbrt((this.windowMax - windowEpoch) / this.smss / CUBIC_C);
    }
  }
}
