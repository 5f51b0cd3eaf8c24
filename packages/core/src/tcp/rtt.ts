/**
 * Retransmission timeout from round-trip samples, RFC 6298. Times are in
 * milliseconds.
 *
 * Karn's rule (RFC 6298 §3) is the caller's: never pass a sample measured on
 * a segment that was retransmitted (unless timestamps tell the copies apart,
 * RFC 7323 §4), since its ACK may answer either transmission.
 */
export interface RttEstimatorConfig {
  /** RTO before the first sample (§2.1: 1 s). */
  readonly initialRto: number;
  /** Floor of the RTO (§2.4). */
  readonly minRto: number;
  /** Ceiling of the RTO (§2.5), also the ceiling of backoff. */
  readonly maxRto: number;
  /** Clock granularity G (§2); defaults to 1 ms, the unit of `now`. */
  readonly granularity?: number;
}

/** §2.3: alpha = 1/8, beta = 1/4, K = 4. */
const ALPHA = 1 / 8;
const BETA = 1 / 4;
const K = 4;

export class RttEstimator {
  private readonly minRto: number;
  private readonly maxRto: number;
  private readonly granularity: number;
  private smoothed: number | undefined;
  private variation: number | undefined;
  /** RTO before backoff, already clamped to [minRto, maxRto]. */
  private baseRto: number;
  private backoffs = 0;
  private current: number;

  constructor(config: RttEstimatorConfig) {
    const { initialRto, minRto, maxRto } = config;
    if (!(minRto >= 0 && maxRto >= minRto && initialRto >= 0)) {
      throw new RangeError(`invalid RTO bounds: initial ${initialRto}, min ${minRto}, max ${maxRto}`);
    }
    this.minRto = minRto;
    this.maxRto = maxRto;
    this.granularity = config.granularity ?? 1;
    this.baseRto = this.clamp(initialRto);
    this.current = this.baseRto;
  }

  /** The retransmission timeout to arm now, backoff included. */
  get rto(): number {
    return this.current;
  }

  /** SRTT, undefined until the first sample. */
  get srtt(): number | undefined {
    return this.smoothed;
  }

  /** RTTVAR, undefined until the first sample. */
  get rttvar(): number | undefined {
    return this.variation;
  }

  /** How many times the RTO was doubled since the last sample or reset. */
  get backoffCount(): number {
    return this.backoffs;
  }

  /** A round-trip measurement R, in milliseconds (Karn's rule applied by the caller). */
  sample(rtt: number): void {
    if (!(rtt >= 0) || !Number.isFinite(rtt)) {
      throw new RangeError(`RTT sample must be a finite non-negative number, got ${rtt}`);
    }
    if (this.smoothed === undefined || this.variation === undefined) {
      // §2.2: the first measurement.
      this.smoothed = rtt;
      this.variation = rtt / 2;
    } else {
      // §2.3: RTTVAR first, from the SRTT before this sample.
      this.variation = (1 - BETA) * this.variation + BETA * Math.abs(this.smoothed - rtt);
      this.smoothed = (1 - ALPHA) * this.smoothed + ALPHA * rtt;
    }
    this.baseRto = this.clamp(this.smoothed + Math.max(this.granularity, K * this.variation));
    // A new measurement replaces the backed-off value: RFC 6298 §5 (the note
    // after rule 5.7) lets the RTO collapse back after exponential backoff.
    this.backoffs = 0;
    this.current = this.baseRto;
  }

  /** §5.5: the retransmission timer expired, double the RTO (up to maxRto). */
  backoff(): void {
    this.backoffs++;
    this.current = Math.min(this.current * 2, this.maxRto);
  }

  /**
   * §5.7: the timer expired awaiting the ACK of a SYN, so data starts with an
   * RTO of at least `rto` (3 s), backoff dropped, until a measurement says otherwise.
   */
  afterSynTimeout(rto: number): void {
    this.baseRto = this.clamp(Math.max(this.baseRto, rto));
    this.backoffs = 0;
    this.current = this.baseRto;
  }

  /** Drops the backoff, keeping the estimate (e.g. when new data is acknowledged). */
  resetBackoff(): void {
    this.backoffs = 0;
    this.current = this.baseRto;
  }

  /** §2.4 floor and §2.5 ceiling. */
  private clamp(rto: number): number {
    return Math.min(Math.max(rto, this.minRto), this.maxRto);
  }
}
