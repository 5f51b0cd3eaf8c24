import type { CongestionAlgorithm } from './congestion.js';

/**
 * Tunables of one connection. Defaults are chosen so that a fast path is not
 * window-limited: a 5 ms RTT at 10 Gbit/s needs ~6 MB in flight, so the receive
 * buffer is 8 MiB and window scaling (RFC 7323 §2) is on.
 */
export interface TcpConfig {
  /** MSS we advertise and use when the peer sends none larger (RFC 9293 §3.7.1). */
  readonly mss: number;
  /** Bytes the application may queue for sending before `send` accepts less. */
  readonly sendBufferSize: number;
  /** Bytes we are ready to hold for the application: the receive window's upper bound. */
  readonly receiveBufferSize: number;
  /** Offer window scaling (RFC 7323 §2). */
  readonly windowScaling: boolean;
  /** RFC 6298 §2: initial RTO, and its floor and ceiling (milliseconds). */
  readonly initialRto: number;
  readonly minRto: number;
  readonly maxRto: number;
  /** Maximum segment lifetime; TIME-WAIT lasts 2×MSL (RFC 9293 §3.4.2), milliseconds. */
  readonly msl: number;
  /** Give up after this many retransmissions of the same segment (RFC 9293 §3.8.3, R2). */
  readonly maxRetransmissions: number;
  /** Give up after this many SYN retransmissions (R2 for SYN). */
  readonly maxSynRetransmissions: number;
  /** Bound on the out-of-order data held for reassembly, in bytes. */
  readonly reassemblyLimit: number;
  /** Delay before a lone ACK is sent (RFC 9293 §3.8.6.3: less than 0.5 s), milliseconds. */
  readonly delayedAckTimeout: number;
  /**
   * SACK compression (see `sack-compression.ts`): with SACK, the duplicate ACKs
   * out-of-order data owes past the first three for one RCV.NXT are folded into
   * one ACK per 44 segments or per short timer, as Linux's receiver does. Off:
   * one for every segment (RFC 5681 §4.2).
   */
  readonly sackCompression: boolean;
  /** Disable Nagle's algorithm (RFC 9293 §3.7.4). */
  readonly noDelay: boolean;
  /** Offer selective acknowledgments (RFC 2018) and recover losses from them (RFC 6675). */
  readonly sack: boolean;
  /**
   * RACK-TLP (RFC 8985), when SACK is on: a segment is lost once one sent after
   * it was delivered and an RTT has passed, and a probe goes out before the
   * retransmission timer when the tail of a flight is lost. Off: RFC 6675's
   * duplicate threshold alone finds losses.
   */
  readonly rackTlp: boolean;
  /** Offer timestamps (RFC 7323 §3): RTT samples from every ACK, and PAWS. */
  readonly timestamps: boolean;
  /**
   * Keep-alive (RFC 9293 §3.8.4, RFC 1122 §4.2.3.6): off by default (0). When
   * set, an idle connection is probed after this many ms of silence, every
   * `keepAliveInterval` ms, and dropped after `keepAliveProbes` unanswered probes.
   */
  readonly keepAliveIdle: number;
  readonly keepAliveInterval: number;
  readonly keepAliveProbes: number;
  /**
   * FIN-WAIT-2 ends with a user timeout after this long without a segment from
   * the peer, ms; 0 (the default) waits as long as the user does, since after a
   * half-close the user may still be reading.
   */
  readonly finWait2Timeout: number;
  /** Congestion control: NewReno (RFC 5681, RFC 6582) or CUBIC (RFC 9438). */
  readonly congestion: CongestionAlgorithm;
  /**
   * HyStart++ (RFC 9406): the first slow start slows down, then ends, when the
   * RTT grows (a queue is filling) rather than only when segments are lost.
   */
  readonly hystart: boolean;
  /**
   * Black-hole detection (RFC 4821 §7.7): a router that drops packets too big
   * for its next hop without saying so (its ICMP filtered) looks like a dead
   * path. After three timeouts in a row, while no segment's worth of data has
   * been acknowledged at once, segments shrink to fit a 1024-byte path MTU,
   * then by half on each further three, not below 576.
   */
  readonly blackHoleDetection: boolean;
}

export const defaultTcpConfig: TcpConfig = {
  mss: 1460,
  sendBufferSize: 4 * 1024 * 1024,
  // 8 MiB: a kernel sender on a veth, behind a receiver that is sometimes busy for a few ms,
  // found 4 MiB closed for 2-6% of a 100 MB download (ss -i rwnd_limited); with 8 MiB, never.
  receiveBufferSize: 8 * 1024 * 1024,
  windowScaling: true,
  initialRto: 1000,
  minRto: 200,
  maxRto: 60_000,
  msl: 30_000,
  maxRetransmissions: 15,
  maxSynRetransmissions: 6,
  // As much as the window lets the peer send past RCV.NXT: out-of-order data beyond it would be
  // dropped, and sent again.
  reassemblyLimit: 8 * 1024 * 1024,
  delayedAckTimeout: 40,
  sackCompression: true,
  noDelay: false,
  sack: true,
  rackTlp: true,
  timestamps: true,
  keepAliveIdle: 0,
  keepAliveInterval: 75_000,
  keepAliveProbes: 9,
  finWait2Timeout: 0,
  congestion: 'newreno',
  hystart: true,
  blackHoleDetection: true,
};
