import { type TcpSegment, TcpFlag } from '../wire/tcp-types.js';
import { seqInWindow } from './seq.js';

/** SEG.LEN: the sequence space a segment occupies, counting SYN and FIN (RFC 9293 §3.4). */
export const segmentLength = (seg: TcpSegment): number =>
  seg.payload.length + (seg.flags & TcpFlag.SYN ? 1 : 0) + (seg.flags & TcpFlag.FIN ? 1 : 0);

/**
 * The segment acceptability test of RFC 9293 §3.10.7.4 (the four-case table):
 *
 * | SEG.LEN | RCV.WND | test                                                          |
 * |---------|---------|---------------------------------------------------------------|
 * | 0       | 0       | SEG.SEQ = RCV.NXT                                             |
 * | 0       | >0      | RCV.NXT ≤ SEG.SEQ < RCV.NXT+RCV.WND                           |
 * | >0      | 0       | not acceptable                                                |
 * | >0      | >0      | the first or the last octet lies in [RCV.NXT, RCV.NXT+RCV.WND) |
 */
export function isAcceptableSegment(seq: number, length: number, rcvNxt: number, rcvWnd: number): boolean {
  if (length === 0) return rcvWnd === 0 ? seq === rcvNxt : seqInWindow(seq, rcvNxt, rcvWnd);
  if (rcvWnd === 0) return false;
  return seqInWindow(seq, rcvNxt, rcvWnd) || seqInWindow((seq + length - 1) >>> 0, rcvNxt, rcvWnd);
}
