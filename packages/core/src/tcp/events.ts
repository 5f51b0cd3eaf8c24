import type { TcpSegment } from '../wire/tcp-types.js';
import type { TcpState } from './machine.js';

/** Why a connection ended badly, as its user sees it (RFC 9293 §3.10 error messages). */
export type ConnectionFailure =
  | 'refused'
  | 'reset'
  | 'timed-out'
  /** Timed out after the path reported the destination unreachable (an ICMP soft error, RFC 9293 §3.9.2.2). */
  | 'path-unreachable';

/** What a connection tells its user. */
export type ConnectionEvent =
  | { readonly type: 'state'; readonly from: TcpState; readonly to: TcpState }
  | { readonly type: 'connected' }
  /**
   * In-order bytes. The view stays valid (the connection never writes into
   * received frames), but for a connection made with `takesDataAtOnce`: there
   * bytes that waited for a hole to fill are valid until its next input.
   */
  | { readonly type: 'data'; readonly data: Uint8Array }
  /**
   * The peer's urgent pointer arrived or advanced (RFC 9293 §3.10.7.4, sixth step; MUST-31):
   * its urgent data ends at stream offset `end`, counted in bytes from the first after the SYN.
   * The data stays in line; what is left to read of it is `end` minus the bytes read (MUST-32).
   */
  | { readonly type: 'urgent'; readonly end: number }
  /** `send` accepted less than offered earlier, and the send buffer has room again. */
  | { readonly type: 'writable' }
  /** The peer's FIN: no more data will arrive (§3.10.7.4, eighth step: "connection closing"). */
  | { readonly type: 'peer-closed' }
  /** Timeouts in a row suggest a black hole on the path: segments now fit a path MTU of `pathMtu` (RFC 4821 §7.7). */
  | { readonly type: 'black-hole'; readonly pathMtu: number }
  /** A path MTU estimate below the first hop's is tried upward again: segments now fit `pathMtu` (RFC 1191 §6.3). */
  | { readonly type: 'path-mtu-raised'; readonly pathMtu: number }
  /** The control block is deleted. */
  | { readonly type: 'closed' }
  | { readonly type: 'error'; readonly error: ConnectionFailure };

/** Everything a connection reacts to. Time is an input like any other. */
export type ConnectionInput =
  | { readonly type: 'open'; readonly mode: 'active' | 'passive'; readonly now: number }
  | { readonly type: 'send'; readonly data: Uint8Array; readonly now: number; readonly urgent?: boolean }
  | { readonly type: 'consume'; readonly bytes: number; readonly now: number }
  | { readonly type: 'close'; readonly now: number }
  | { readonly type: 'abort'; readonly now: number }
  /** `segmentSize`: of the segments a device merged into this one (see `NetworkHost.receiveFrame`). */
  | { readonly type: 'segment'; readonly segment: TcpSegment; readonly now: number; readonly segmentSize?: number }
  | { readonly type: 'tick'; readonly now: number };

/** Everything a connection produces. */
export type ConnectionOutput =
  | { readonly type: 'transmit'; readonly segment: TcpSegment }
  | { readonly type: 'event'; readonly event: ConnectionEvent }
  | { readonly type: 'accepted'; readonly bytes: number }
  | { readonly type: 'deadline'; readonly at: number | undefined };
