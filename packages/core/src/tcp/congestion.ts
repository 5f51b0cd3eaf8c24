/**
 * Congestion window arithmetic shared by the algorithms. Loss detection,
 * retransmission choice and recovery bookkeeping (RecoveryPoint, FlightSize)
 * stay in the connection, which tells the algorithm what happened.
 */
import { CubicCongestionControl } from './cubic.js';
import type { SlowStartAck } from './hystart.js';
import { NewRenoCongestionControl } from './newreno.js';

export interface CongestionControl {
  readonly name: 'newreno' | 'cubic';
  /** Congestion window and slow-start threshold, in bytes. */
  readonly cwnd: number;
  readonly ssthresh: number;
  /**
   * `acked` bytes of new data were cumulatively acknowledged while not in
   * recovery. `slowStart` carries what HyStart++ needs (the ACK's RTT sample,
   * the ACK number and SND.NXT), when it is enabled.
   */
  onAck(acked: number, now: number, srtt: number | undefined, slowStart?: SlowStartAck): void;
  /** Loss detected by duplicate ACKs or SACK: RFC 5681 §3.2 step 2 (ssthresh from flight size) and cwnd for recovery. */
  onEnterRecovery(flightSize: number, now: number, recovery?: RecoveryStyle): void;
  /** One more duplicate ACK during fast recovery (RFC 5681 §3.2 step 4: inflate by SMSS). */
  onRecoveryDuplicateAck(): void;
  /** Partial ACK in NewReno recovery (RFC 6582 §3.2 step 5): deflate by the amount acked, add back SMSS if ≥ SMSS. */
  onPartialAck(acked: number): void;
  /** Recovery ends (RFC 6582 §3.2 step 6: cwnd = min(ssthresh, flightSize + SMSS) or ssthresh). */
  onExitRecovery(flightSize: number, now: number): void;
  /**
   * Retransmission timeout: RFC 5681 §3.1 eq. (4), cwnd = 1 SMSS (loss window).
   * Pass `repeated` when the segment that timed out had already been resent
   * by the retransmission timer: ssthresh is then left as it is (RFC 5681
   * §3.1 lowers it only for the first timeout of a segment).
   */
  onRetransmissionTimeout(flightSize: number, now: number, repeated?: boolean): void;
  /** After an idle period longer than the RTO, RFC 5681 §4.1 restart window. */
  onIdleRestart(now: number): void;
  /**
   * Segments got smaller (path MTU discovery, RFC 1191; black-hole detection, RFC 4821): growth and floors count in the
   * new SMSS from now on; the windows, in bytes, stay as they are (no sign of congestion).
   */
  onSmssChange(smss: number): void;
}

export type CongestionAlgorithm = 'newreno' | 'cubic';

/**
 * How the sender recovers: NewReno's fast recovery inflates cwnd by three
 * segments and one per duplicate (RFC 5681 §3.2); SACK recovery counts the
 * pipe instead and starts with cwnd = ssthresh (RFC 6675 §5, step 4.2).
 */
export type RecoveryStyle = 'newreno' | 'sack';

export interface CongestionOptions {
  /** End the first slow start with HyStart++ (RFC 9406) when the RTT grows. */
  readonly hystart?: boolean;
}

export function createCongestionControl(
  algorithm: CongestionAlgorithm,
  smss: number,
  now: number,
  options: CongestionOptions = {},
): CongestionControl {
  switch (algorithm) {
    case 'newreno':
      return new NewRenoCongestionControl(smss, now, options);
    case 'cubic':
      return new CubicCongestionControl(smss, now, options);
  }
}
