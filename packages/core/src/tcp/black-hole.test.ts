import { describe, expect, it } from 'vitest';
import type { TcpConfig } from './config.js';
import { Drill, MSS } from './testing/drill.js';

/** Sizes of what the connection sends, `bytes` of data queued at once, until `until` with nothing acknowledged. */
const sizesWithoutAcks = (bytes: number, until: number, config: Partial<TcpConfig> = {}) => {
  const drill = new Drill('passive', config).passiveHandshake();
  drill.at(200).user.send(bytes);
  const first = drill.takeAllSent().map((sent) => sent.segment.payload.length);
  drill.at(until);
  const retransmissions = drill.takeAllSent().map((sent) => sent.segment.payload.length);
  return { drill, first, retransmissions };
};

// RFC 4821 §7.7: timeouts in a row with nothing acknowledged may be a black hole, a hop
// that drops big packets without an ICMP error. This connection has no timestamps: 40
// bytes of headers, so a 1024-byte path MTU carries 984 bytes of data and 576 carries 536.
describe('black-hole detection (RFC 4821 §7.7)', () => {
  it('fits 1024-byte packets at the third timeout in a row, 576 at the sixth, and no smaller after', () => {
    const { drill, first, retransmissions } = sizesWithoutAcks(3 * MSS, 300_000);
    expect(first).toEqual([MSS, MSS, MSS]);
    // One segment a timeout (the loss window), the earliest first (RFC 6298 §5.4).
    expect(retransmissions.slice(0, 9)).toEqual([MSS, MSS, 984, 984, 984, 536, 536, 536, 536]);
    expect(drill.connection.pathMtu).toBe(576);
    expect(drill.connection.stats.blackHoleReductions).toBe(2);
    // The user hears of each, as of an ICMP report; the connection lives on until its retransmissions run out.
    expect(drill.takeEvents().slice(0, 2)).toEqual(['black-hole:1024', 'black-hole:576']);
  });

  it('keeps the smaller size once data flows again, for every later segment', () => {
    const { drill } = sizesWithoutAcks(3 * MSS, 8000);
    expect(drill.connection.pathMtu).toBe(1024);
    drill.peerSends({ flags: 'A', seq: 1, ack: 1 + 984 }).takeAllSent();
    drill.at(drill.now + 10).peerSends({ flags: 'A', seq: 1, ack: 1 + 3 * MSS }).user.send(3000);
    // As many as the window, still small after the timeouts, lets go; all of the smaller size.
    const sizes = drill.takeAllSent().map((sent) => sent.segment.payload.length);
    expect(sizes.length).toBeGreaterThanOrEqual(2);
    expect(new Set(sizes)).toEqual(new Set([984]));
  });

  it('shrinks nothing when the segment timing out would fit the smaller size anyway', () => {
    const { drill, retransmissions } = sizesWithoutAcks(500, 300_000);
    expect(new Set(retransmissions)).toEqual(new Set([500]));
    expect(retransmissions.length).toBeGreaterThan(6);
    expect(drill.connection.stats.blackHoleReductions).toBe(0);
    expect(drill.connection.pathMtu).toBe(1500);
  });

  it('goes straight to 576 for a segment that 1024 would carry: the smaller hop is the one to suspect', () => {
    // A lone 700-byte segment (and FIN) through a 576-byte silent hop: 1024 would change nothing.
    const { drill, retransmissions } = sizesWithoutAcks(700, 300_000);
    // At the third timeout both pieces fit the loss window (one segment of the old size); later timeouts resend the first.
    expect(retransmissions.slice(0, 6)).toEqual([700, 700, 536, 164, 536, 536]);
    expect(drill.connection.pathMtu).toBe(576);
    expect(drill.connection.stats.blackHoleReductions).toBe(1);
    expect(drill.takeEvents()[0]).toBe('black-hole:576');
  });

  it('tries the full size again ten minutes later, and finds the hole again if it is still there', () => {
    const { drill } = sizesWithoutAcks(3 * MSS, 8000);
    expect(drill.connection.pathMtu).toBe(1024);
    drill.peerSends({ flags: 'A', seq: 1, ack: 1 + 3 * MSS }).takeAllSent();
    drill.takeEvents();
    drill.at(drill.now + 10 * 60_000);
    expect(drill.connection.pathMtu).toBe(1500);
    expect(drill.connection.stats.pathMtuRaises).toBe(1);
    expect(drill.takeEvents()).toEqual(['path-mtu-raised:1500']);
    // Nothing gets through at the full size: three timeouts later the segments fit 1024 again.
    drill.user.send(3 * MSS).takeAllSent();
    const retransmitted: number[] = [];
    for (let timeouts = 0; timeouts < 3; timeouts++) {
      drill.runUntilSent(drill.now + 120_000);
      retransmitted.push(...drill.takeAllSent().map((sent) => sent.segment.payload.length));
    }
    expect(retransmitted).toEqual([MSS, MSS, 984]);
    expect(drill.connection.pathMtu).toBe(1024);
    expect(drill.connection.stats.blackHoleReductions).toBe(2);
  });

  it('takes no evidence from two smaller segments acknowledged together (with SACK, each transmission is known)', () => {
    // Interactive writes first: two 800-byte segments, one ACK for both. Then bulk data into the hole.
    const drill = new Drill('passive', { noDelay: true }).passiveHandshake({ synOptions: { sackPermitted: true } });
    drill.at(200).user.send(800).user.send(800);
    expect(drill.takeAllSent().map((sent) => sent.segment.payload.length)).toEqual([800, 800]);
    drill.at(300).peerSends({ flags: 'A', seq: 1, ack: 1601 });
    drill.user.send(3 * MSS).takeAllSent();
    // A tail-loss probe (RFC 8985 §7) comes first, then the timeouts.
    const timeoutsBefore = drill.connection.stats.timeouts;
    const retransmitted: number[] = [];
    while (drill.connection.stats.timeouts < timeoutsBefore + 3) {
      drill.runUntilSent(drill.now + 120_000);
      retransmitted.push(...drill.takeAllSent().map((sent) => sent.segment.payload.length));
    }
    expect(retransmitted).toEqual([MSS, MSS, MSS, 984]);
    expect(drill.connection.stats.blackHoleReductions).toBe(1);
  });

  it('counts only timeouts in a row: an ACK between them starts the count again', () => {
    const drill = new Drill('passive').passiveHandshake();
    drill.at(200).user.send(4 * MSS).takeAllSent();
    const nextTimeout = (): number[] => {
      drill.runUntilSent(drill.now + 120_000);
      return drill.takeAllSent().map((sent) => sent.segment.payload.length);
    };
    expect([nextTimeout(), nextTimeout()]).toEqual([[MSS], [MSS]]);
    // Part of a segment acknowledged: the path works, but no packet of this size is shown to.
    drill.peerSends({ flags: 'A', seq: 1, ack: 501 }).takeAllSent();
    expect([nextTimeout(), nextTimeout()]).toEqual([[MSS], [MSS]]);
    expect(drill.connection.stats.blackHoleReductions).toBe(0);
    expect(nextTimeout()).toEqual([984]);
  });

  it('takes timeouts for losses once a segment\'s worth was acknowledged at once: packets of the size get through', () => {
    const drill = new Drill('passive').passiveHandshake();
    drill.at(200).user.send(4 * MSS).takeAllSent();
    drill.at(300).peerSends({ flags: 'A', seq: 1, ack: 1 + MSS }).takeAllSent();
    // The rest is lost again and again, as on a very lossy path.
    drill.at(300_000);
    expect(new Set(drill.takeAllSent().map((sent) => sent.segment.payload.length))).toEqual(new Set([MSS]));
    expect(drill.connection.stats.timeouts).toBeGreaterThan(6);
    expect(drill.connection.stats.blackHoleReductions).toBe(0);
  });

  it('is off with blackHoleDetection: false, as a stack without it would be', () => {
    const { drill, retransmissions } = sizesWithoutAcks(3 * MSS, 300_000, { blackHoleDetection: false });
    expect(new Set(retransmissions)).toEqual(new Set([MSS]));
    expect(drill.connection.pathMtu).toBe(1500);
  });
});
