import type { InspectionEvent } from 'xstate';
import type { CongestionAlgorithm } from '../tcp/congestion.js';
import type { TcpConfig } from '../tcp/config.js';
import type { TcpSegment } from '../wire/tcp-types.js';

/** Handle of a connection (or listener) inside one `Host`. */
export type SocketId = number;

/** Why a connection failed, as the application sees it. */
export type ConnectionError =
  /** RST in answer to our SYN (RFC 9293 §3.10.7.3). */
  | 'refused'
  /** RST on a synchronized connection. */
  | 'reset'
  /** Retransmissions exhausted (RFC 9293 §3.8.3). */
  | 'timed-out'
  /** The next hop never answered ARP. */
  | 'unreachable'
  /** Timed out after the path reported the destination unreachable by ICMP (RFC 9293 §3.9.2.2). */
  | 'path-unreachable';

export interface HostConfig {
  /** Our Ethernet address, as a 48-bit integer. */
  readonly mac: number;
  /** Our IPv4 address, as a 32-bit unsigned integer. */
  readonly ip: number;
  /** On-link prefix; destinations outside it go through `gateway`. */
  readonly prefixLength: number;
  readonly gateway?: number;
  /** Link MTU (IPv4 packet size), default 1500. */
  readonly mtu?: number;
  /** Secret for RFC 6528 initial sequence numbers: an input, so runs replay. */
  readonly isnSecret: Uint8Array;
  /** First ephemeral port tried for active opens; by default one in 49152–65535 derived from the secret (RFC 6056). */
  readonly ephemeralPortStart?: number;
  readonly tcp?: Partial<TcpConfig>;
  /**
   * Half-open connections (a SYN answered, its handshake not done) a listener
   * keeps, 1024 by default. A SYN past it takes the place of the oldest, which
   * is forgotten (RFC 4987 §3.4, recycling the oldest half-open TCB): a SYN
   * flood costs bounded memory, and a handshake that completes within the
   * turnover still succeeds.
   */
  readonly maxHalfOpen?: number;
  /** How long a learned ARP entry is trusted, ms; 10 minutes by default (RFC 1122 §2.3.2.1). */
  readonly arpCacheLifetime?: number;
  /** Emit `segment` events for every segment sent and received (for -v and traces). */
  readonly traceSegments?: boolean;
  /**
   * Transmit checksum offload: the device finishes the TCP checksum of every
   * IPv4 TCP frame it sends, so the host writes only the pseudo-header sum into
   * the checksum field (what Linux calls CHECKSUM_PARTIAL) and does not sum the
   * segment. Default false: frames leave the host complete.
   */
  readonly transmitChecksumOffload?: boolean;
  /** Congestion control of new connections; the same as `tcp.congestion`, which it overrides. */
  readonly congestion?: CongestionAlgorithm;
  /** Observes every connection's machine actor: pass the XState inspector's `inspect` here. */
  readonly inspect?: (event: InspectionEvent) => void;
}

export type HostEvent =
  | { readonly type: 'connected'; readonly socket: SocketId }
  | {
      readonly type: 'accepted';
      readonly listener: SocketId;
      readonly socket: SocketId;
      readonly remoteIp: number;
      readonly remotePort: number;
    }
  /**
   * Bytes delivered in order. The application calls `consume` once it has processed them.
   * The view stays valid after delivery: it is a copy, which the host never writes to
   * again unless the application `release`s it. Text of several segments comes as one
   * event when nothing else came between.
   */
  | { readonly type: 'data'; readonly socket: SocketId; readonly data: Uint8Array }
  /**
   * The peer's urgent pointer arrived or advanced (RFC 9293 §3.8.5, MUST-31): its urgent
   * data ends at stream offset `end`, the count of bytes from the first one after the SYN.
   * Urgent data is delivered in line with the rest (RFC 6093 §5), in `data` events as
   * usual: `end` minus the bytes the application has read is how much of it is still to
   * read (MUST-32). Reported once per advance of the pointer, never for an old segment.
   */
  | { readonly type: 'urgent'; readonly socket: SocketId; readonly end: number }
  /** The send buffer has room again after `send` accepted less than offered. */
  | { readonly type: 'writable'; readonly socket: SocketId }
  /** The peer's FIN arrived: no more data will come. */
  | { readonly type: 'peer-closed'; readonly socket: SocketId }
  /** The connection reached CLOSED and its control block is gone. */
  | { readonly type: 'closed'; readonly socket: SocketId }
  | { readonly type: 'error'; readonly socket: SocketId; readonly error: ConnectionError }
  /**
   * The path reported an error about one of the connection's segments (RFC 9293 §3.9.2.2:
   * made available to the application, SHLD-25). A soft one changes nothing else; a hard
   * one during the open is followed by an `error`, `refused`.
   */
  | {
      readonly type: 'icmp-error';
      readonly socket: SocketId;
      /** Who sent it: the peer, or a router on the way. */
      readonly from: number;
      readonly icmpType: number;
      readonly code: number;
      /** For "fragmentation needed": the next hop's MTU, which the connection's segments now fit (RFC 1191). */
      readonly mtu?: number;
    }
  /** No ACK for the connection's full-sized segments, timeout after timeout: they now fit `pathMtu` (RFC 4821 §7.7). */
  | { readonly type: 'black-hole'; readonly socket: SocketId; readonly pathMtu: number }
  /** Ten minutes after they shrank, the connection's segments are tried at `pathMtu` again (RFC 1191 §6.3). */
  | { readonly type: 'path-mtu-raised'; readonly socket: SocketId; readonly pathMtu: number }
  | { readonly type: 'state'; readonly socket: SocketId; readonly from: string; readonly to: string; readonly at: number }
  /** With `traceSegments`: the sender's congestion state changed (for -v and traces). */
  | {
      readonly type: 'congestion';
      readonly socket: SocketId;
      readonly cwnd: number;
      readonly ssthresh: number;
      readonly srtt: number | undefined;
      readonly rto: number;
      readonly at: number;
    }
  | {
      readonly type: 'segment';
      readonly socket: SocketId;
      readonly direction: 'in' | 'out';
      readonly segment: TcpSegment;
      readonly at: number;
    };

/** How `send` queues its bytes. */
export interface SendOptions {
  /**
   * The bytes are urgent (RFC 9293 §3.9.1.2, the URGENT flag of SEND): the urgent
   * pointer moves to the end of what `send` accepted, and every segment that starts
   * before it carries URG until the peer acknowledges it. The bytes stay in line.
   */
  readonly urgent?: boolean;
}

/**
 * What the device already verified of a received frame, as a NIC's receive
 * checksum offload does: the host trusts it instead of checking again (Linux
 * trusts CHECKSUM_UNNECESSARY the same way). Flags are or-ed together.
 */
export const FrameCheck = {
  none: 0,
  /**
   * The frame holds an unfragmented IPv4 TCP segment whose TCP checksum is right
   * (RFC 9293 §3.1). A device vouches only for frames it has summed; any other
   * frame comes without the flag and the host checks it itself.
   */
  tcpChecksum: 1,
} as const;

/** A set of `FrameCheck` flags. */
export type FrameChecks = number;

/** Counters of frames the host did not accept, by reason, and of what it answered. */
export interface HostStats {
  framesIn: number;
  framesOut: number;
  /** Reason (e.g. `ipv4.checksum: mismatch`, `not-for-us`, `no-socket`) → count. */
  readonly dropped: Map<string, number>;
  arpRepliesSent: number;
  echoRepliesSent: number;
  /** ICMP Time Exceeded sent for datagrams whose reassembly timed out (RFC 1122 §3.3.2). */
  timeExceededSent: number;
  resetsSent: number;
}

/** Counters at zero, for a new host (or a stand-in in tests). */
export const emptyHostStats = (): HostStats => ({
  framesIn: 0,
  framesOut: 0,
  dropped: new Map(),
  arpRepliesSent: 0,
  echoRepliesSent: 0,
  timeExceededSent: 0,
  resetsSent: 0,
});

/** Misuse of the host's API by the application (not a network event). */
export class StackError extends Error {
  constructor(
    readonly code: 'unknown-socket' | 'port-in-use' | 'no-ephemeral-port' | 'invalid-state' | 'invalid-argument',
    message: string,
  ) {
    super(message);
    this.name = 'StackError';
  }
}

/**
 * A whole IPv4 host (Ethernet, ARP, IPv4, ICMP echo, TCP) as a pure, sans-I/O
 * object: frames and time go in, frames, events and the next deadline come out.
 * Adapters (io-mock, io-pcap) only move frames and read clocks.
 */
export interface NetworkHost {
  /**
   * Takes one received frame. The host keeps nothing of `frame`: the caller may reuse the buffer as soon as this returns.
   * `checked` says what the device already verified (`FrameCheck` flags; default none).
   * `segmentSize`, when not 0, says the device merged consecutive segments of one flow
   * into this frame (receive coalescing, as Linux's GRO; see `coalesceTcpFrames`), each
   * of that many bytes of data but the last: the frame may then exceed the MTU, and the
   * host acknowledges the segments as if they had come one by one.
   */
  receiveFrame(frame: Uint8Array, now: number, checked?: FrameChecks, segmentSize?: number): void;
  /** Runs every timer whose deadline is ≤ now. */
  advanceTime(now: number): void;
  /** Next Ethernet frame to put on the wire, if any. */
  pollFrame(): Uint8Array | undefined;
  /**
   * As `pollFrame`, written into `buffer` at `offset` instead (a device's transmit
   * slot, say): the frame `pollFrame` would have given, and the same state after.
   * `buffer` needs room for a frame of the MTU from `offset`. Returns its length,
   * 0 when there is nothing to send.
   */
  pollFrameInto?(buffer: Uint8Array, offset?: number): number;
  pollEvent(): HostEvent | undefined;
  /**
   * The application is done with the bytes of a `data` event (all of them, or
   * a part): the host may reuse that memory for later data, as lwIP reuses a
   * freed pbuf. Calling it is optional (bytes never released are left to the
   * garbage collector); releasing bytes that are still in use, or twice,
   * corrupts later data.
   */
  release(data: Uint8Array): void;
  /** Earliest time at which `advanceTime` has work to do. */
  nextDeadline(): number | undefined;
  connect(remoteIp: number, remotePort: number, now: number, localPort?: number): SocketId;
  listen(port: number, now: number): SocketId;
  /** Queues bytes for sending; returns how many were accepted (0 when the send buffer is full). */
  send(socket: SocketId, data: Uint8Array, now: number, options?: SendOptions): number;
  /** The application has processed `bytes` of delivered data: reopens the receive window. */
  consume(socket: SocketId, bytes: number, now: number): void;
  /** Graceful close: FIN after queued data (RFC 9293 §3.10.4). */
  close(socket: SocketId, now: number): void;
  /** Abort: RST, drop queued data (RFC 9293 §3.10.5). */
  abort(socket: SocketId, now: number): void;
  /** The RFC 9293 state name of a socket, or undefined once it is gone. */
  socketState(socket: SocketId): string | undefined;
  /** Our port of a connection (ephemeral for active opens), or undefined once it is gone. */
  localPort?(socket: SocketId): number | undefined;
  readonly stats: HostStats;
}

/** `host.pollFrameInto`, or `pollFrame` and one copy for a host without it. */
export const pollFrameInto = (host: NetworkHost, buffer: Uint8Array, offset = 0): number => {
  if (host.pollFrameInto !== undefined) return host.pollFrameInto(buffer, offset);
  const frame = host.pollFrame();
  if (frame === undefined) return 0;
  buffer.set(frame, offset);
  return frame.length;
};
