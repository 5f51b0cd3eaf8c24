/**
 * SACK compression, the receiver's side: fewer duplicate ACKs once they no
 * longer start anything, as Linux's receiver sends them (`__tcp_ack_snd_check`
 * in tcp_input.c, since Linux 4.18; sysctls `tcp_comp_sack_nr`,
 * `tcp_comp_sack_delay_ns`).
 *
 * RFC 5681 §4.2 asks for a duplicate ACK at once for every out-of-order
 * segment, so that the sender counts to its fast-retransmit threshold (§3.2,
 * three). With SACK each further one only brings the sender's scoreboard up to
 * date, and at a loss rate of 1% most segments arrive out of order: an ACK for
 * each costs both ends more than the data does. So, for one RCV.NXT, the first
 * three duplicates go at once; later ones are folded into one ACK, sent when
 * 44 segments were folded or when a short timer runs out (a twentieth of the
 * RTT, at most 1 ms), which carries the latest SACK blocks. Data that fills
 * the hole is acknowledged at once as ever, and that ACK ends the fold.
 *
 * Unlike Linux, a segment that starts a new run (beyond another hole) has its
 * ACK at once, which ends the fold: it names that run first and the others
 * after it. A fold thus only ever extends one run, and one ACK reports it. A
 * batch here may bring hundreds of segments with several holes among them;
 * folded across runs, the SACK option's three blocks could not name them all,
 * and a sender takes a run never named for lost.
 */

/** Duplicate ACKs sent at once for one RCV.NXT: the sender's fast-retransmit threshold (RFC 5681 §3.2). */
const IMMEDIATE_DUPLICATES = 3;
/** Segments folded into one ACK at most (Linux's `tcp_comp_sack_nr`). */
const MAX_FOLDED = 44;
/** The fold's timer: a twentieth of the RTT, at most this (Linux's `tcp_comp_sack_delay_ns`), ms. */
const MAX_DELAY = 1;
const RTT_FRACTION = 1 / 20;

export class SackCompression {
  /** The RCV.NXT the counts below are for. */
  private rcvNxt: number | undefined;
  /** Duplicate ACKs sent at once for `rcvNxt`. */
  private immediate = 0;
  /** Out-of-order segments whose duplicate ACK is folded, waiting for one ACK. */
  private folded = 0;
  /** Where the latest out-of-order arrival ended: an arrival there continues its run. */
  private lastEnd: number | undefined;
  /** When the folded ACK is due, if segments are folded. */
  deadline: number | undefined;

  /**
   * `segments` out-of-order segments arrived, [start, end) in sequence space,
   * while RCV.NXT is `rcvNxt`: how many duplicate ACKs are due for them now
   * (the rest are folded, see `expire`). `srtt` (ms) sets the timer; unknown,
   * it is the longest.
   */
  dueNow(start: number, end: number, segments: number, rcvNxt: number, now: number, srtt: number | undefined): number {
    if (rcvNxt !== this.rcvNxt) {
      // The hole moved: a new count to the fast-retransmit threshold, and nothing left folded for the old one.
      this.rcvNxt = rcvNxt;
      this.immediate = 0;
      this.folded = 0;
      this.deadline = undefined;
    }
    const newRun = start !== this.lastEnd;
    this.lastEnd = end;
    let immediate = Math.min(segments, Math.max(IMMEDIATE_DUPLICATES - this.immediate, 0));
    if (newRun && immediate === 0) {
      // Its own ACK reports what the fold held as well: the fold starts again behind it.
      immediate = 1;
      this.folded = 0;
      this.deadline = undefined;
    }
    this.immediate += immediate;
    this.folded += segments - immediate;
    let due = immediate;
    if (this.folded >= MAX_FOLDED) {
      // A full fold goes as an ACK now; what is left over starts the next one.
      due += Math.floor(this.folded / MAX_FOLDED);
      this.folded %= MAX_FOLDED;
      this.deadline = undefined;
    }
    if (this.folded > 0 && this.deadline === undefined) {
      this.deadline = now + (srtt === undefined ? MAX_DELAY : Math.min(MAX_DELAY, srtt * RTT_FRACTION));
    }
    return due;
  }

  /** Whether, at `now`, the timer ran out on a fold that still stands (RCV.NXT has not moved): one ACK is due. */
  expire(now: number, rcvNxt: number): boolean {
    if (this.deadline === undefined || now < this.deadline) return false;
    const due = this.folded > 0 && rcvNxt === this.rcvNxt;
    this.folded = 0;
    this.deadline = undefined;
    return due;
  }
}
