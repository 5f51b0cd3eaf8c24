import { seqAdd, seqDiff } from './seq.js';

/**
 * The urgent mechanism's arithmetic (RFC 9293 §3.8.5). Urgent data stays in
 * line (RFC 6093 §5 recommends so): the pointer only tells the receiver where
 * the urgent data ends.
 */

/** The largest value of the 16-bit urgent pointer field. */
export const MAX_URGENT_POINTER = 0xffff;

/**
 * The urgent pointer field of a segment that starts at `seq` while SND.UP is
 * `sndUp`: SND.UP − SEG.SEQ, the offset of the octet following the urgent data
 * (MUST-62). A point further ahead than the field can say is sent as 65535, so
 * the receiver still learns that urgent data is coming (RFC 6093 §4). 0 means
 * the segment starts at or after SND.UP and carries no URG.
 */
export const urgentPointerFor = (sndUp: number, seq: number): number => {
  const ahead = seqDiff(sndUp, seq);
  return ahead <= 0 ? 0 : Math.min(ahead, MAX_URGENT_POINTER);
};

/**
 * Where the urgent data a received segment points to ends, as a stream offset
 * (bytes since the SYN): SEG.SEQ + SEG.UP (§3.10.7.4, sixth step) measured
 * from RCV.NXT, whose offset is `deliveredBytes`. Offsets do not wrap as
 * sequence numbers do, so RCV.UP kept as one is comparable for the whole life
 * of the connection.
 */
export const urgentEndOffset = (segSeq: number, segUp: number, rcvNxt: number, deliveredBytes: number): number =>
  deliveredBytes + seqDiff(seqAdd(segSeq, segUp), rcvNxt);
