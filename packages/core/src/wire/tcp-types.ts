/** TCP control bits (RFC 9293 §3.1), as a bit mask in header order. */
export const TcpFlag = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
  ECE: 0x40,
  CWR: 0x80,
} as const;

/** A SACK block (RFC 2018): the left edge and the right edge (exclusive) of a received run. */
export interface SackBlock {
  readonly left: number;
  readonly right: number;
}

export interface TcpTimestamps {
  /** TSval (RFC 7323 §3). */
  readonly value: number;
  /** TSecr. */
  readonly echo: number;
}

/** The options this stack understands; others are skipped by their length on decode. */
export interface TcpOptions {
  readonly mss?: number;
  readonly windowScale?: number;
  readonly sackPermitted?: boolean;
  readonly sack?: readonly SackBlock[];
  readonly timestamps?: TcpTimestamps;
}

/** A TCP segment as plain data: what the connection consumes and produces. */
export interface TcpSegment {
  readonly srcPort: number;
  readonly dstPort: number;
  /** Sequence number, unsigned 32-bit. */
  readonly seq: number;
  /** Acknowledgment number, unsigned 32-bit (meaningful when ACK is set). */
  readonly ack: number;
  /** Control bits, a mask of `TcpFlag`. */
  readonly flags: number;
  /** The raw 16-bit window field, before any window scaling. */
  readonly window: number;
  readonly urgent: number;
  readonly options: TcpOptions;
  readonly payload: Uint8Array;
}
