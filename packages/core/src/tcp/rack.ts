import type { SendRecord } from './send-times.js';
import { seqGt, seqLt } from './seq.js';

/** §6.2 step 4: recoveries for which a widened reordering window stays. */
const REORDER_WINDOW_PERSIST = 16;

/**
 * RACK, Recent ACKnowledgment (RFC 8985 §6): loss detection by time instead of
 * by counting duplicates. Once a segment is delivered, every segment sent
 * before it is lost if it is still missing an RTT plus a reordering window
 * after it was sent. This catches what three duplicate ACKs cannot: losses at
 * the tail of a flight, in a small window, and of retransmissions.
 *
 * This class keeps RACK's state; the connection tells it what was delivered
 * and asks it whether (and when) a transmission counts as lost.
 */
export class Rack {
  /** RACK.xmit_ts and RACK.end_seq: the most recently sent transmission known delivered. */
  private xmitTs: number | undefined;
  private endSeq = 0;
  /** RACK.rtt: the RTT measured on that transmission. */
  private rtt = 0;
  private minRtt: number | undefined;
  /** RACK.fack: the highest sequence number delivered so far. */
  private fack: number | undefined;
  /** RACK.reordering_seen (§6.2 step 3). */
  private reorderingSeen = false;
  /** RACK.reo_wnd_mult and RACK.reo_wnd_persist (§6.2 step 4): D-SACKs widen the window for a while. */
  private reorderWindowMultiplier = 1;
  private recoveriesLeftWide = 0;
  /** When the multiplier last grew: at most once per round trip. */
  private widenedAt: number | undefined;

  get hasDelivery(): boolean {
    return this.xmitTs !== undefined;
  }

  /**
   * Steps 2 and 3 for one delivered (cumulatively acknowledged or SACKed)
   * transmission, `newly` meaning it was not known delivered before.
   */
  onDelivered(record: SendRecord, now: number): void {
    // Step 3: an original transmission delivered below what was already delivered came out of order.
    if (!record.retransmitted && this.fack !== undefined && seqLt(record.end, this.fack)) this.reorderingSeen = true;
    if (this.fack === undefined || seqGt(record.end, this.fack)) this.fack = record.end;

    const rtt = now - record.at;
    // Step 2: an ACK of a retransmission that comes sooner than any RTT acknowledges the original.
    if (record.retransmitted && this.minRtt !== undefined && rtt < this.minRtt) return;
    this.minRtt = this.minRtt === undefined ? rtt : Math.min(this.minRtt, rtt);
    if (this.sentAfterLatest(record.at, record.end)) {
      this.xmitTs = record.at;
      this.endSeq = record.end;
      this.rtt = rtt;
    }
  }

  /**
   * Step 4, RACK.reo_wnd: none while no reordering was seen and a loss is
   * plain (in recovery, or DupThresh segments SACKed), else a quarter of the
   * minimum RTT, bounded by the smoothed RTT.
   */
  reorderWindow(inRecovery: boolean, sackedSegments: number, srtt: number | undefined): number {
    if (!this.reorderingSeen && (inRecovery || sackedSegments >= 3)) return 0;
    const window = (this.reorderWindowMultiplier * (this.minRtt ?? 0)) / 4;
    return srtt === undefined ? window : Math.min(window, srtt);
  }

  /**
   * Step 4: a D-SACK says a retransmission was not needed, so the reordering
   * window was too small: widen it by a quarter RTT, at most once per round
   * trip, for the next 16 recoveries.
   */
  onDuplicateReported(now: number, srtt: number | undefined): void {
    if (this.widenedAt !== undefined && srtt !== undefined && now - this.widenedAt < srtt) return;
    this.widenedAt = now;
    this.reorderWindowMultiplier++;
    this.recoveriesLeftWide = REORDER_WINDOW_PERSIST;
  }

  /** Step 4: a loss recovery ended; after 16 without a D-SACK the window is back to a quarter RTT. */
  onRecoveryEnd(): void {
    if (this.recoveriesLeftWide > 0 && --this.recoveriesLeftWide === 0) this.reorderWindowMultiplier = 1;
  }

  /** RACK.reo_wnd_mult, for tests. */
  get reorderMultiplier(): number {
    return this.reorderWindowMultiplier;
  }

  /**
   * Step 5: the time from which `record` counts as lost, if it was sent before
   * the latest delivered transmission; undefined if it was not.
   */
  lostAt(record: SendRecord, reorderWindow: number): number | undefined {
    const latest = this.xmitTs;
    // RACK_sent_after(RACK.xmit_ts, RACK.end_seq, Segment.xmit_ts, Segment.end_seq).
    const sentBefore = latest !== undefined && (latest > record.at || (latest === record.at && seqGt(this.endSeq, record.end)));
    return sentBefore ? record.at + this.rtt + reorderWindow : undefined;
  }

  /** RACK_sent_after: later in time, or at the same time and later in sequence. */
  private sentAfterLatest(at: number, end: number): boolean {
    if (this.xmitTs === undefined) return true;
    return at > this.xmitTs || (at === this.xmitTs && seqGt(end, this.endSeq));
  }
}
