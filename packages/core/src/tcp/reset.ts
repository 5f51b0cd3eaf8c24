import { type TcpSegment, TcpFlag } from '../wire/tcp-types.js';
import { segmentLength } from './acceptability.js';

const EMPTY = new Uint8Array(0);

/**
 * The reset sent for a segment that reaches no connection, or a listener with
 * ACK set (RFC 9293 §3.10.7.1, §3.10.7.2). A RST is never answered.
 */
export function resetFor(seg: TcpSegment): TcpSegment | undefined {
  if (seg.flags & TcpFlag.RST) return undefined;
  const base = {
    srcPort: seg.dstPort,
    dstPort: seg.srcPort,
    window: 0,
    urgent: 0,
    options: {},
    payload: EMPTY,
  };
  if (seg.flags & TcpFlag.ACK) return { ...base, seq: seg.ack, ack: 0, flags: TcpFlag.RST };
  return { ...base, seq: 0, ack: (seg.seq + segmentLength(seg)) >>> 0, flags: TcpFlag.RST | TcpFlag.ACK };
}
