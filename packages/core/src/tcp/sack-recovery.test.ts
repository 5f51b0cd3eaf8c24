import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TcpSegment } from '../wire/tcp-types.js';
import { defaultTcpConfig, type TcpConfig } from './config.js';
import { seqDiff } from './seq.js';
import { Drill, MSS, OUR_ISS, type RelativeBlock } from './testing/drill.js';

/**
 * Selective acknowledgments (RFC 2018) and the loss recovery built on them
 * (RFC 6675), as exact scripts: which segment leaves, and when. No timestamps
 * here, so every full segment carries MSS bytes.
 */

/** Our data: segment i of a flight covers [1 + i·MSS, 1 + (i+1)·MSS), relative to our ISN. */
const segmentStart = (i: number): number => 1 + i * MSS;
const blockOfSegments = (first: number, last: number): RelativeBlock => [segmentStart(first), segmentStart(last + 1)];
/** The peer's data, relative to its ISN, laid out the same way. */
const peerStart = segmentStart;
const peerBlock = blockOfSegments;

/** The passive handshake of scenario.test.ts, with the peer offering SACK (RFC 2018 §2). */
const sackDrill = (config: Partial<TcpConfig> = {}, peerOffersSack = true): Drill => {
  const drill = new Drill('passive', { timestamps: false, ...config }).user
    .open()
    .peerSends({ flags: 'S', seq: 0, options: { mss: MSS, ...(peerOffersSack ? { sackPermitted: true } : {}) } });
  const synAck = drill.takeSent('expected the SYN,ACK');
  const expectOffer = peerOffersSack && config.sack !== false;
  if ((synAck.segment.options.sackPermitted === true) !== expectOffer) {
    drill.fail(`SYN,ACK sackPermitted ${synAck.segment.options.sackPermitted}, expected ${expectOffer}`);
  }
  return drill
    .at(100)
    .peerSends({ flags: 'A', seq: 1, ack: 1 })
    .expectNothingSent()
    .expectState('ESTABLISHED')
    .expectEvents(['connected']);
};

/** A duplicate ACK of our data carrying `sack`. */
const dupAck = (ack: number, sack: readonly RelativeBlock[]) => ({ flags: 'A', seq: 1, ack, sack }) as const;

describe('SACK negotiation (RFC 2018 §2)', () => {
  it('offers sackOK in its SYN and answers an offer in the SYN,ACK; not when switched off', () => {
    const active = new Drill('active', { timestamps: false }).user.open();
    expect(active.takeSent().segment.options.sackPermitted).toBe(true);
    // sackDrill checks the SYN,ACK: with an offer, without one, and with SACK switched off.
    sackDrill();
    sackDrill({}, false);
    sackDrill({ sack: false });
  });

  it('sends no SACK blocks when the peer did not offer SACK', () => {
    sackDrill({}, false)
      .at(200)
      .peerSends({ flags: 'A', seq: peerStart(1), ack: 1, len: MSS })
      .expectSent({ flags: 'A', seq: 1, ack: 1, sack: [] });
  });

  it('sends no SACK blocks when the SYN,ACK of an active open carried no sackOK', () => {
    const drill = new Drill('active', { timestamps: false }).user.open();
    drill.takeSent('expected the SYN');
    drill
      .at(100)
      .peerSends({ flags: 'SA', seq: 0, ack: 1, options: { mss: MSS } })
      .expectSent({ flags: 'A', seq: 1, ack: 1 })
      .expectState('ESTABLISHED')
      .at(200)
      .peerSends({ flags: 'A', seq: peerStart(1), ack: 1, len: MSS })
      .expectSent({ flags: 'A', seq: 1, ack: 1, sack: [] });
  });

  it('does not act on SACK blocks when SACK was not negotiated', () => {
    // Were the block believed, three segments held above SND.UNA would mark it lost (RFC 6675 §4).
    const drill = sackDrill({}, false).at(200).user.send(10 * MSS);
    for (let i = 0; i < 10; i++) drill.expectSent({ flags: 'A', seq: segmentStart(i), len: MSS });
    drill
      .at(300)
      .peerSends(dupAck(1, [blockOfSegments(1, 4)]))
      .expectNothingSent();
    expect(drill.connection.stats.fastRetransmits).toBe(0);
  });
});

describe('SACK-based loss recovery, sender side (RFC 6675)', () => {
  /** Ten full segments in flight at 200 ms: the initial window of RFC 6928 (10·SMSS = 14 600 bytes). */
  const tenInFlight = (config: Partial<TcpConfig> = {}): Drill => {
    const drill = sackDrill(config).at(200).user.send(10 * MSS);
    for (let i = 0; i < 10; i++) drill.expectSent({ flags: 'A', seq: segmentStart(i), len: MSS, at: 200 });
    return drill.expectNothingSent();
  };

  it('repairs two holes, first the first, then the second, before any timeout, resending nothing SACKed', () => {
    // Segments 0 and 3 are lost; the peer SACKs everything else as it arrives.
    const drill = tenInFlight();
    const rto = drill.connection.retransmissionTimeout;
    drill
      .at(300)
      .peerSends(dupAck(1, [blockOfSegments(1, 1)]))
      .expectNothingSent()
      .at(301)
      .peerSends(dupAck(1, [blockOfSegments(1, 2)]))
      .expectNothingSent()
      // The third duplicate ACK, and three segments held above the first hole (RFC 6675 §5, IsLost):
      // the first hole goes out at once.
      .at(302)
      .peerSends(dupAck(1, [blockOfSegments(4, 4), blockOfSegments(1, 2)]))
      .expectSent({ flags: 'A', seq: segmentStart(0), len: MSS, at: 302 })
      .expectNothingSent()
      // Only two segments are held above the second hole: not yet lost.
      .at(303)
      .peerSends(dupAck(1, [blockOfSegments(4, 5), blockOfSegments(1, 2)]))
      .expectNothingSent()
      // Three: the second hole is lost and goes out, and nothing else.
      .at(304)
      .peerSends(dupAck(1, [blockOfSegments(4, 6), blockOfSegments(1, 2)]))
      .expectSent({ flags: 'A', seq: segmentStart(3), len: MSS, at: 304 })
      .expectNothingSent();
    // The rest arrives: every byte not yet acknowledged is SACKed or resent, so nothing more leaves.
    for (let i = 7; i <= 9; i++) {
      drill
        .at(298 + i)
        .peerSends(dupAck(1, [blockOfSegments(4, i), blockOfSegments(1, 2)]))
        .expectNothingSent();
    }
    expect(304).toBeLessThan(200 + rto);
    expect(drill.connection.stats).toMatchObject({ timeouts: 0, fastRetransmits: 1, retransmissions: 2 });
    // RFC 5681 eq. (4): ssthresh = max(FlightSize / 2, 2·SMSS), FlightSize being the ten segments.
    expect(drill.connection.slowStartThreshold).toBe(5 * MSS);
    const cwndInRecovery = drill.connection.congestionWindow;

    // The first repair arrives: a partial ACK, short of the recovery point. Recovery goes on, and the
    // repaired second hole is not sent again (RFC 6675 §5: no retransmission below HighRxt).
    drill
      .at(402)
      .peerSends(dupAck(segmentStart(3), [blockOfSegments(4, 9)]))
      .expectNothingSent();
    expect(drill.connection.congestionWindow).toBe(cwndInRecovery);
    expect(drill.connection.slowStartThreshold).toBe(5 * MSS);

    // The ACK of the recovery point (everything sent before recovery began) ends recovery: the window
    // is no larger than ssthresh from here on, and only the window limits new data.
    drill.at(404).peerSends({ flags: 'A', seq: 1, ack: segmentStart(10) }).expectNothingSent();
    expect(drill.connection.flightSize).toBe(0);
    expect(drill.connection.slowStartThreshold).toBe(5 * MSS);
    const cwndAfter = drill.connection.congestionWindow;
    expect(cwndAfter).toBeLessThanOrEqual(drill.connection.slowStartThreshold);
    expect(cwndAfter).toBeGreaterThanOrEqual(MSS);
    drill.at(500).user.send(10 * MSS);
    const allowed = Math.floor(cwndAfter / MSS);
    for (let i = 0; i < allowed; i++) drill.expectSent({ flags: 'A', seq: segmentStart(10 + i), len: MSS, at: 500 });
    drill.expectNothingSent();
    expect(drill.connection.stats).toMatchObject({ timeouts: 0, fastRetransmits: 1, retransmissions: 2 });
  });

  it('enters recovery with cwnd = ssthresh = FlightSize / 2 (RFC 6675 §5, step 4.2)', () => {
    // The pipe already leaves out what the peer SACKed; Reno's inflation by three segments
    // (RFC 5681 §3.2 step 3) would count those segments a second time.
    const drill = tenInFlight()
      .at(300)
      .peerSends(dupAck(1, [blockOfSegments(1, 1)]))
      .peerSends(dupAck(1, [blockOfSegments(1, 2)]))
      .peerSends(dupAck(1, [blockOfSegments(1, 3)]))
      .expectSent({ flags: 'A', seq: segmentStart(0), len: MSS, at: 300 });
    expect(drill.connection.slowStartThreshold).toBe(5 * MSS);
    expect(drill.connection.congestionWindow).toBe(5 * MSS);
  });

  it('counts SACKs of new octets as duplicates even when each announces another window (RFC 6675 §2)', () => {
    // The receiver's application reads between segments, so every ACK carries a new window.
    const drill = tenInFlight({ rackTlp: false })
      .at(300)
      .peerSends({ ...dupAck(1, [blockOfSegments(1, 1)]), win: 60_000 })
      .peerSends({ ...dupAck(1, [blockOfSegments(1, 2)]), win: 61_000 })
      .expectNothingSent()
      .peerSends({ ...dupAck(1, [blockOfSegments(1, 3)]), win: 62_000 })
      .expectSent({ flags: 'A', seq: segmentStart(0), len: MSS, at: 300 });
    expect(drill.connection.stats).toMatchObject({ timeouts: 0, fastRetransmits: 1 });
  });

  it('counts no duplicate for a window update that reports nothing new (RFC 5681 §2)', () => {
    const drill = tenInFlight({ rackTlp: false })
      .at(300)
      .peerSends({ ...dupAck(1, [blockOfSegments(1, 1)]), win: 60_000 })
      .peerSends({ ...dupAck(1, [blockOfSegments(1, 1)]), win: 61_000 })
      .peerSends({ ...dupAck(1, [blockOfSegments(1, 1)]), win: 62_000 })
      .peerSends({ ...dupAck(1, [blockOfSegments(1, 1)]), win: 63_000 })
      .expectNothingSent();
    expect(drill.connection.stats.fastRetransmits).toBe(0);
  });

  it('sends new data in recovery as far as the pipe allows (RFC 6675 §5, NextSeg rule 2)', () => {
    // Twenty segments queued, ten in flight; segment 0 is lost.
    const drill = sackDrill().at(200).user.send(20 * MSS);
    for (let i = 0; i < 10; i++) drill.expectSent({ flags: 'A', seq: segmentStart(i), len: MSS });
    drill
      .expectNothingSent()
      // Three segments SACKed above SND.UNA: lost at the first duplicate (RFC 6675 §5, IsLost(HighACK + 1)).
      .at(300)
      .peerSends(dupAck(1, [blockOfSegments(1, 3)]))
      .expectSent({ flags: 'A', seq: segmentStart(0), len: MSS, at: 300 });
    const cwnd = drill.connection.congestionWindow;
    const sentBefore = drill.sentLog.length;
    // Segments 4–9 arrive too. What is in the network is the one repair (SetPipe: the lost
    // segment counts once, as retransmitted), and rule 2 sends new data while cwnd − pipe ≥ SMSS.
    drill.at(301).peerSends(dupAck(1, [blockOfSegments(1, 9)]));
    const newSegments = Math.floor((cwnd - MSS) / MSS);
    for (let i = 0; i < newSegments; i++) drill.expectSent({ flags: 'A', seq: segmentStart(10 + i), len: MSS, at: 301 });
    drill.expectNothingSent();
    expect(drill.sentLog.length - sentBefore).toBe(newSegments);
  });

  it('ignores SACK blocks outside SND.UNA..SND.MAX, and blocks that are empty', () => {
    const drill = tenInFlight();
    drill.at(300).peerSends({ flags: 'A', seq: 1, ack: segmentStart(2) }).expectNothingSent();
    // Each block names three segments: believed, it would make SND.UNA lost at once (RFC 6675 §4, IsLost).
    drill
      .at(301)
      // Above SND.MAX: data never sent.
      .peerSends(dupAck(segmentStart(2), [blockOfSegments(12, 14)]))
      .expectNothingSent()
      // Below SND.UNA, already acknowledged; and a block whose right edge is not past its left.
      .at(302)
      .peerSends(dupAck(segmentStart(2), [[segmentStart(-1), segmentStart(2)], [segmentStart(9), segmentStart(6)]]))
      .expectNothingSent();
    expect(drill.connection.stats.fastRetransmits).toBe(0);
    // The scoreboard is untouched: the third duplicate with a real block starts recovery by the
    // duplicate count (RFC 5681 §3.2), and only SND.UNA's segment is lost.
    drill
      .at(303)
      .peerSends(dupAck(segmentStart(2), [blockOfSegments(3, 3)]))
      .expectSent({ flags: 'A', seq: segmentStart(2), len: MSS, at: 303 })
      .expectNothingSent();
    expect(drill.connection.stats.fastRetransmits).toBe(1);
  });
});

/**
 * The peer of the property below: holds what arrived as byte ranges (relative
 * to our ISN), acknowledges every arrival at once with its cumulative ACK and
 * up to four SACK blocks, the one just touched first (RFC 2018 §4).
 */
class SackingPeer {
  private readonly runs: Array<{ start: number; end: number; touched: number }> = [];
  private arrivals = 0;
  cumulative = 1;

  receive(start: number, end: number): void {
    this.arrivals++;
    if (end <= this.cumulative) return;
    start = Math.max(start, this.cumulative);
    let merged = { start, end, touched: this.arrivals };
    for (const run of [...this.runs]) {
      if (run.end < merged.start || run.start > merged.end) continue;
      merged = { start: Math.min(run.start, merged.start), end: Math.max(run.end, merged.end), touched: this.arrivals };
      this.runs.splice(this.runs.indexOf(run), 1);
    }
    if (merged.start === this.cumulative) this.cumulative = merged.end;
    else this.runs.push(merged);
  }

  blocks(): RelativeBlock[] {
    return [...this.runs]
      .sort((a, b) => b.touched - a.touched)
      .slice(0, 4)
      .map((run) => [run.start, run.end] as const);
  }
}

describe('SACK-based loss recovery over any loss of a flight (property)', () => {
  const FLIGHT = 10;
  /** One-way delay of the scripted path, ms: RTT 100, as in the handshake. */
  const ONE_WAY = 50;

  it.each([
    { rackTlp: false, what: 'times out only for a tail loss (RFC 6675 alone)' },
    { rackTlp: true, what: 'never times out: RACK-TLP probes a lost tail (RFC 8985)' },
  ])('resends exactly the lost segments, holes in order, never SACKed bytes, and $what', ({ rackTlp }) => {
    const lostSets = fc.uniqueArray(fc.integer({ min: 0, max: FLIGHT - 1 }), { minLength: 1, maxLength: FLIGHT - 1 });
    fc.assert(
      fc.property(lostSets, (lostList) => {
        const lost = new Set(lostList);
        const drill = sackDrill({ rackTlp }).at(200).user.send(FLIGHT * MSS);
        let probesSeen = 0;
        const peer = new SackingPeer();
        /** What the peer reported held, in relative numbers: never sent again. */
        const sacked: RelativeBlock[] = [];
        const transmissions = new Map<number, number>();
        const arrivals: Array<{ at: number; start: number; end: number }> = [];
        const acks: Array<{ at: number; ack: number; sack: RelativeBlock[] }> = [];
        let read = 0;
        let highestResentInRecovery = 0;

        const takeNewlySent = (): void => {
          for (; read < drill.sentLog.length; read++) {
            const { segment, at } = drill.sentLog[read]!;
            if (segment.payload.length === 0) continue;
            const start = seqDiff(segment.seq, OUR_ISS);
            const end = start + segment.payload.length;
            const index = (start - 1) / MSS;
            const count = (transmissions.get(index) ?? 0) + 1;
            transmissions.set(index, count);
            if (count > 1) {
              for (const [left, right] of sacked) {
                if (start < right && left < end) drill.fail(`resent ${start}-${end}, SACKed as ${left}-${right}`);
              }
              // A tail loss probe resends the last segment before any recovery (RFC 8985 §7.3).
              const isProbe = drill.connection.stats.tailLossProbes > probesSeen && end === 1 + FLIGHT * MSS;
              if (isProbe) probesSeen++;
              // Within one recovery, holes go out from the lowest up (RFC 6675 §5, NextSeg rule 1).
              else if (drill.connection.stats.timeouts === 0) {
                if (start < highestResentInRecovery) drill.fail(`resent ${start} after ${highestResentInRecovery}`);
                highestResentInRecovery = start;
              }
            }
            if (count === 1 && lost.has(index)) continue;
            arrivals.push({ at: at + ONE_WAY, start, end });
          }
        };

        for (let round = 0; round < 1000 && drill.connection.flightSize > 0; round++) {
          takeNewlySent();
          const next = Math.min(
            arrivals[0]?.at ?? Infinity,
            acks[0]?.at ?? Infinity,
            drill.connection.nextDeadline() ?? Infinity,
          );
          if (next === Infinity || next > 60_000) drill.fail('stalled');
          drill.at(next);
          takeNewlySent();
          while (arrivals[0] !== undefined && arrivals[0].at <= drill.now) {
            const { start, end } = arrivals.shift()!;
            peer.receive(start, end);
            acks.push({ at: drill.now + ONE_WAY, ack: peer.cumulative, sack: peer.blocks() });
          }
          while (acks[0] !== undefined && acks[0].at <= drill.now) {
            const { ack, sack } = acks.shift()!;
            sacked.push(...sack);
            drill.peerSends({ flags: 'A', seq: 1, ack, sack });
          }
        }
        expect(drill.connection.flightSize).toBe(0);
        for (let i = 0; i < FLIGHT; i++) expect(transmissions.get(i), `transmissions of segment ${i}`).toBe(lost.has(i) ? 2 : 1);
        // A loss with three segments delivered above it is found by SACK; only a tail loss,
        // with fewer above it, waits for the retransmission timer.
        const lastLost = Math.max(...lost);
        if (rackTlp || FLIGHT - 1 - lastLost >= 3) expect(drill.connection.stats.timeouts).toBe(0);
        expect(drill.connection.stats.retransmissions).toBe(lost.size);
      }),
      { numRuns: 150 },
    );
  });
});

describe('SACK blocks, receiver side (RFC 2018 §4, RFC 5681 §4.2)', () => {
  const receiving = (config: Partial<TcpConfig> = {}): Drill =>
    sackDrill(config)
      // In order: acknowledged by the delayed ACK.
      .at(200)
      .peerSends({ flags: 'A', seq: peerStart(0), ack: 1, len: MSS })
      .at(240)
      .expectSent({ flags: 'A', ack: peerStart(1), sack: [], at: 240 })
      .expectEvents([`data:${MSS}`]);

  it('answers each out-of-order segment at once with a duplicate ACK whose first block holds it', () => {
    receiving()
      .at(300)
      .peerSends({ flags: 'A', seq: peerStart(2), ack: 1, len: MSS })
      .expectSent({ flags: 'A', ack: peerStart(1), sack: [peerBlock(2, 2)], at: 300 })
      .at(301)
      .peerSends({ flags: 'A', seq: peerStart(4), ack: 1, len: MSS })
      .expectSent({ flags: 'A', ack: peerStart(1), sack: [peerBlock(4, 4), peerBlock(2, 2)], at: 301 })
      .at(302)
      .peerSends({ flags: 'A', seq: peerStart(6), ack: 1, len: MSS })
      .expectSent({ flags: 'A', ack: peerStart(1), sack: [peerBlock(6, 6), peerBlock(4, 4), peerBlock(2, 2)], at: 302 })
      // Filling the gap between two blocks: the merged block comes first, the others follow by recency.
      .at(303)
      .peerSends({ flags: 'A', seq: peerStart(3), ack: 1, len: MSS })
      .expectSent({ flags: 'A', ack: peerStart(1), sack: [peerBlock(2, 4), peerBlock(6, 6)], at: 303 })
      .expectNothingSent()
      .expectEvents([]);
  });

  it('holds and reports out-of-order data anywhere in the default window, however far past RCV.NXT', () => {
    // Window scaling on both sides, so that the whole 8 MiB receive buffer is the window.
    const drill = new Drill('passive', { timestamps: false }).user
      .open()
      .peerSends({ flags: 'S', seq: 0, options: { mss: MSS, sackPermitted: true, windowScale: 7 } });
    expect(drill.takeSent('expected the SYN,ACK').segment.options.windowScale).toBe(8);
    drill.at(100).peerSends({ flags: 'A', seq: 1, ack: 1 }).expectState('ESTABLISHED').expectEvents(['connected']);
    // A SYN's window is never scaled (RFC 7323 §2.2): the first ACK after it opens the whole window.
    drill
      .at(200)
      .peerSends({ flags: 'A', seq: 1, ack: 1, len: MSS })
      .at(240)
      .expectSent({ flags: 'A', ack: 1 + MSS, at: 240 })
      .expectEvents([`data:${MSS}`]);
    const far = 1 + defaultTcpConfig.receiveBufferSize - 4 * MSS;
    drill
      .at(300)
      .peerSends({ flags: 'A', seq: far, ack: 1, len: MSS })
      .expectSent({ flags: 'A', ack: 1 + MSS, sack: [[far, far + MSS]], at: 300 })
      .expectEvents([]);
  });

  it('reports nothing of data past its reassembly limit, which it does not keep: no SACK, no D-SACK', () => {
    // Within the 64 KiB window but past the 8 segments the reassembler may hold: a block for it
    // would tell the sender not to send it again, and it would wait for a timeout.
    sackDrill({ reassemblyLimit: 8 * MSS })
      .at(200)
      .peerSends({ flags: 'A', seq: peerStart(10), ack: 1, len: MSS })
      .expectSent({ flags: 'A', ack: peerStart(0), sack: [], at: 200 })
      .at(201)
      .peerSends({ flags: 'A', seq: peerStart(3), ack: 1, len: MSS })
      .expectSent({ flags: 'A', ack: peerStart(0), sack: [peerBlock(3, 3)], at: 201 })
      // Sent again, the held one is a duplicate (RFC 2883); the one past the limit still is not.
      .at(202)
      .peerSends({ flags: 'A', seq: peerStart(3), ack: 1, len: MSS })
      .expectSent({ flags: 'A', ack: peerStart(0), sack: [peerBlock(3, 3), peerBlock(3, 3)], at: 202 })
      .at(203)
      .peerSends({ flags: 'A', seq: peerStart(10), ack: 1, len: MSS })
      .expectSent({ flags: 'A', ack: peerStart(0), sack: [peerBlock(3, 3)], at: 203 })
      .expectNothingSent()
      .expectEvents([]);
  });

  it('acknowledges a filled hole at once, without SACK once nothing is held', () => {
    const drill = receiving()
      .at(300)
      .peerSends({ flags: 'A', seq: peerStart(2), ack: 1, len: MSS })
      .expectSent({ flags: 'A', ack: peerStart(1), sack: [peerBlock(2, 2)] })
      .peerSends({ flags: 'A', seq: peerStart(4), ack: 1, len: MSS })
      .expectSent({ flags: 'A', ack: peerStart(1), sack: [peerBlock(4, 4), peerBlock(2, 2)] })
      // The first hole is filled: the ACK moves, and still reports what lies beyond the second hole.
      .at(310)
      .peerSends({ flags: 'A', seq: peerStart(1), ack: 1, len: MSS })
      .expectSent({ flags: 'A', ack: peerStart(3), sack: [peerBlock(4, 4)], at: 310 })
      .expectNothingSent()
      // The last hole: one cumulative ACK, no SACK option.
      .at(320)
      .peerSends({ flags: 'A', seq: peerStart(3), ack: 1, len: MSS })
      .expectSent({ flags: 'A', ack: peerStart(5), sack: [], at: 320 })
      .expectNothingSent();
    const delivered = drill.takeEvents().reduce((sum, event) => sum + Number(event.slice('data:'.length)), 0);
    expect(delivered).toBe(4 * MSS);
  });

  it('sends one duplicate ACK per out-of-order segment even when they arrive in one batch', () => {
    const drill = receiving()
      .at(300)
      .peerSendsTogether([
        { flags: 'A', seq: peerStart(2), ack: 1, len: MSS },
        { flags: 'A', seq: peerStart(4), ack: 1, len: MSS },
        { flags: 'A', seq: peerStart(6), ack: 1, len: MSS },
      ]);
    for (let i = 0; i < 3; i++) {
      const { segment } = drill.takeSent(`expected duplicate ACK ${i + 1} of 3`);
      expect(segment.payload.length).toBe(0);
      expect(segment.options.sack?.length ?? 0).toBeGreaterThan(0);
    }
    drill.expectNothingSent();
  });

  /** The blocks an ACK for `segment` carries one by one: its own, then those of the earlier ones below it, at most four. */
  const asOneByOne = (segment: number, earlier: readonly number[]) =>
    [segment, ...earlier.filter((other) => other < segment).reverse()].slice(0, 4).map((s) => peerBlock(s, s));

  it('answers a batch of arrivals as one by one: each ACK names its own arrival first, and nothing that came later', () => {
    // Six runs arrive in one batch, more than one SACK option can name. Each heads an ACK of its own, and
    // no ACK reports data that arrived after its own: the sender would take what lies between for lost.
    const segments = [2, 4, 6, 8, 10, 12];
    const drill = receiving()
      .at(300)
      .peerSendsTogether(segments.map((segment) => ({ flags: 'A', seq: peerStart(segment), ack: 1, len: MSS })));
    for (const segment of segments) drill.expectSent({ flags: 'A', ack: peerStart(1), sack: asOneByOne(segment, segments) });
    drill.expectNothingSent();
  });

  it('puts SACK blocks in the ACKs for in-order data of a batch too, of what had arrived by then', () => {
    // RFC 2018 §4: every ACK carries SACK while data is held. The ACK for segments 1 to 8 (one per
    // eight of a batch) reports 10, which came before them, and not 12, which came after. The
    // batch's ACKs leave in the order of their segments: 10's duplicate ACK first.
    const drill = receiving()
      .at(300)
      .peerSendsTogether([10, 1, 2, 3, 4, 5, 6, 7, 8, 12].map((segment) => ({ flags: 'A', seq: peerStart(segment), ack: 1, len: MSS })));
    drill
      .expectSent({ flags: 'A', ack: peerStart(1), sack: [peerBlock(10, 10)] })
      .expectSent({ flags: 'A', ack: peerStart(9), sack: [peerBlock(10, 10)] })
      .expectSent({ flags: 'A', ack: peerStart(9), sack: [peerBlock(12, 12), peerBlock(10, 10)] })
      .expectNothingSent();
  });

  it('gives an ACK for in-order data of a batch the runs as they were then, also those a later arrival changed', () => {
    // 12 and 16 are held when 1 to 8 arrive; then 13 extends the run of 12, and 9 to 11 fill the
    // hole up to it. The ACK for 1 to 8 names both held runs: one that named 16 but not 12, sent
    // before 16, would have the sender take 12 for lost (RFC 8985 §6.2) and send it again.
    const drill = receiving()
      .at(300)
      .peerSendsTogether(
        [12, 16, 1, 2, 3, 4, 5, 6, 7, 8, 13, 9, 10, 11].map((segment) => ({ flags: 'A', seq: peerStart(segment), ack: 1, len: MSS })),
      );
    drill
      .expectSent({ flags: 'A', ack: peerStart(1), sack: [peerBlock(12, 12)] })
      .expectSent({ flags: 'A', ack: peerStart(1), sack: [peerBlock(16, 16), peerBlock(12, 12)] })
      .expectSent({ flags: 'A', ack: peerStart(9), sack: [peerBlock(16, 16), peerBlock(12, 12)] })
      // 13's duplicate ACK, of the number of then.
      .expectSent({ flags: 'A', ack: peerStart(9), sack: [peerBlock(12, 13), peerBlock(16, 16)] })
      // Then 1 to 13 acknowledged, with 16, the one run still held.
      .expectSent({ flags: 'A', ack: peerStart(14), sack: [peerBlock(16, 16)] })
      .expectNothingSent();
  });

  it('gives an out-of-order arrival of a batch the runs as they were when it came, also those a later arrival grew', () => {
    // 3 is held beyond the hole at 1 and 2. Then one batch: 5, the retransmission of 2 (joining the
    // run of 3), and 6, sent after it. The ACK for 5 must not name 6 without 2: the sender would
    // take the retransmission for lost (RFC 8985 §6.2) and send it once more. Nor may it leave out
    // the run of 3 because 2 grew it later: named with 5 but without 3, 3 would be taken for lost.
    const drill = receiving({ sackCompression: false })
      .at(300)
      .peerSends({ flags: 'A', seq: peerStart(3), ack: 1, len: MSS })
      .expectSent({ flags: 'A', ack: peerStart(1), sack: [peerBlock(3, 3)] })
      .at(301)
      .peerSendsTogether([5, 2, 6].map((segment) => ({ flags: 'A', seq: peerStart(segment), ack: 1, len: MSS })));
    drill
      .expectSent({ flags: 'A', ack: peerStart(1), sack: [peerBlock(5, 5), peerBlock(3, 3)] })
      .expectSent({ flags: 'A', ack: peerStart(1), sack: [peerBlock(2, 3), peerBlock(5, 5)] })
      .expectSent({ flags: 'A', ack: peerStart(1), sack: [peerBlock(5, 6), peerBlock(2, 3)] })
      .expectNothingSent();
  });

  it('hands out copies of what a filled hole delivered: later segments of the batch reuse the reassembly ring', () => {
    // 2 to 15 wait for 1; then a segment 32 KiB on lands where 2 was in the reassembler's ring
    // (as large as its limit, here 32 KiB). The events are read after the whole batch, as the drill
    // reads them: the bytes must be those that were sent. (A host, which copies each event's bytes
    // as soon as it is made, asks for views of the ring instead: `takesDataAtOnce`.)
    const payload = (segment: number) => new Uint8Array(MSS).fill(segment);
    const held = Array.from({ length: 14 }, (_, i) => i + 2);
    const drill = receiving({ reassemblyLimit: 32_768 }).peerSendsTogether([
      ...held.map((segment) => ({ flags: 'A', seq: peerStart(segment), ack: 1, payload: payload(segment) })),
      { flags: 'A', seq: peerStart(1), ack: 1, payload: payload(1) },
      { flags: 'A', seq: peerStart(2) + 32_768, ack: 1, payload: new Uint8Array(MSS).fill(0xee) },
    ]);
    const expected = [new Uint8Array(MSS).fill(0x62), payload(1), ...held.map(payload)];
    expect(Buffer.from(drill.receivedBytes()).equals(Buffer.concat(expected))).toBe(true);
  });

  it('answers a batch that ends by filling the hole as one by one: the duplicate ACKs, then the new number', () => {
    const drill = receiving()
      .at(300)
      .peerSendsTogether([
        ...[2, 4, 6, 8, 10].map((segment) => ({ flags: 'A', seq: peerStart(segment), ack: 1, len: MSS })),
        { flags: 'A', seq: peerStart(1), ack: 1, len: MSS },
      ]);
    // Each run's duplicate ACK as it would have left at once, of the number of then. An ACK of the
    // new number that named only some of the runs would have the sender take the others for lost:
    // they were sent before 1, which that ACK reports delivered (RFC 8985 §6.2).
    const runs = [2, 4, 6, 8, 10];
    for (const segment of runs) drill.expectSent({ flags: 'A', ack: peerStart(1), sack: asOneByOne(segment, runs) });
    // Segment 1 delivered 1 and 2: the runs beyond the next hole, the most recent first.
    drill.expectSent({ flags: 'A', ack: peerStart(3), sack: [10, 8, 6, 4].map((s) => peerBlock(s, s)) }).expectNothingSent();
  });

  /** Segments 2 to 9 arrive one by one beyond the hole at 1, a tenth of a millisecond apart, from 300 ms. */
  const runBeyondHole = (drill: Drill, check: (drill: Drill, segment: number) => void): Drill => {
    for (let segment = 2; segment <= 9; segment++) {
      drill.at(300 + (segment - 2) / 10).peerSends({ flags: 'A', seq: peerStart(segment), ack: 1, len: MSS });
      check(drill, segment);
    }
    return drill;
  };

  it('folds the duplicate ACKs of a run past the first three into one, sent when its timer runs out (SACK compression)', () => {
    // The handshake measured 100 ms: the timer is a twentieth of that, at most 1 ms, from the first segment folded (5).
    const drill = runBeyondHole(receiving(), (sent, segment) => {
      if (segment <= 4) sent.expectSent({ flags: 'A', ack: peerStart(1), sack: [peerBlock(2, segment)] });
    });
    drill
      .expectNothingSent()
      .at(302)
      .expectSent({ flags: 'A', ack: peerStart(1), sack: [peerBlock(2, 9)], at: 301.3 })
      .expectNothingSent()
      // The hole is filled: acknowledged at once, as ever.
      .at(303)
      .peerSends({ flags: 'A', seq: peerStart(1), ack: 1, len: MSS })
      .expectSent({ flags: 'A', ack: peerStart(10), sack: [], at: 303 })
      .expectNothingSent();
  });

  it('ends the fold when the hole is filled: that ACK reports everything, and no other follows', () => {
    const drill = runBeyondHole(receiving(), (sent, segment) => {
      if (segment <= 4) sent.takeSent();
    });
    drill
      .at(300.8)
      .peerSends({ flags: 'A', seq: peerStart(1), ack: 1, len: MSS })
      .expectSent({ flags: 'A', ack: peerStart(10), sack: [], at: 300.8 })
      .at(310)
      .expectNothingSent();
  });

  it('sends a duplicate ACK for every out-of-order segment without SACK compression', () => {
    const drill = runBeyondHole(
      sackDrill({ sackCompression: false })
        .at(200)
        .peerSends({ flags: 'A', seq: peerStart(0), ack: 1, len: MSS })
        .at(240)
        .expectSent({ flags: 'A', ack: peerStart(1), sack: [], at: 240 }),
      (sent, segment) => {
        sent.expectSent({ flags: 'A', ack: peerStart(1), sack: [peerBlock(2, segment)] });
      },
    );
    drill.at(310).expectNothingSent();
  });

  it('reports at most four blocks, the most recent ones (RFC 2018 §3, §4)', () => {
    const drill = receiving();
    for (const [i, segment] of [2, 4, 6, 8, 10].entries()) {
      drill.at(300 + i).peerSends({ flags: 'A', seq: peerStart(segment), ack: 1, len: MSS });
      drill.takeSent();
    }
    drill
      .at(310)
      .peerSends({ flags: 'A', seq: peerStart(12), ack: 1, len: MSS })
      .expectSent({
        flags: 'A',
        ack: peerStart(1),
        sack: [peerBlock(12, 12), peerBlock(10, 10), peerBlock(8, 8), peerBlock(6, 6)],
      });
  });
});
