import { describe, expect, it } from 'vitest';
import type { TcpConfig } from './config.js';
import { seqDiff } from './seq.js';
import { Drill, MSS, OUR_ISS, type RelativeBlock, type Sent } from './testing/drill.js';

/**
 * RACK-TLP (RFC 8985) as exact scripts. The handshake measures an RTT of
 * 100 ms, so the probe timeout is 2·SRTT = 200 ms and RACK's reordering
 * window, outside recovery and before any reordering, a quarter of the
 * minimum RTT: 25 ms. No timestamps, so every full segment carries MSS bytes.
 */

const segmentStart = (i: number): number => 1 + i * MSS;
const blockOfSegments = (first: number, last: number): RelativeBlock => [segmentStart(first), segmentStart(last + 1)];

const established = (config: Partial<TcpConfig> = {}): Drill =>
  new Drill('passive', { timestamps: false, ...config }).passiveHandshake({ synOptions: { sackPermitted: true } });

/** `count` full segments sent at 200 ms. */
const flight = (count: number, config: Partial<TcpConfig> = {}): Drill => {
  const drill = established(config).at(200).user.send(count * MSS);
  for (let i = 0; i < count; i++) drill.expectSent({ flags: 'A', seq: segmentStart(i), len: MSS, at: 200 });
  return drill.expectNothingSent();
};

describe('tail loss probe (RFC 8985 §7)', () => {
  it('probes a lost tail two RTTs after the last ACK, and RACK then repairs the rest of the tail, with no timeout', () => {
    // Segments 8 and 9 are lost: no duplicate ACK can come, only the probe brings news.
    const drill = flight(10)
      .at(300)
      .peerSends({ flags: 'A', seq: 1, ack: segmentStart(8) })
      .expectNothingSent()
      .at(499)
      .expectNothingSent()
      // §7.3: no new data to send, so the last segment goes again.
      .at(500)
      .expectSent({ flags: 'A', seq: segmentStart(9), len: MSS, at: 500 })
      .expectNothingSent()
      // The probe arrives and is SACKed: segment 8, sent before it, is lost by RACK (§6.2).
      .at(600)
      .peerSends({ flags: 'A', seq: 1, ack: segmentStart(8), sack: [blockOfSegments(9, 9)] })
      .expectSent({ flags: 'A', seq: segmentStart(8), len: MSS, at: 600 })
      .expectNothingSent()
      .at(700)
      .peerSends({ flags: 'A', seq: 1, ack: segmentStart(10) })
      .expectNothingSent();
    expect(drill.connection.stats).toMatchObject({ tailLossProbes: 1, timeouts: 0, fastRetransmits: 1, retransmissions: 2 });
    expect(drill.connection.flightSize).toBe(0);
  });

  it('without RACK-TLP the same tail waits for the retransmission timer', () => {
    const drill = flight(10, { rackTlp: false })
      .at(300)
      .peerSends({ flags: 'A', seq: 1, ack: segmentStart(8) })
      .at(599)
      .expectNothingSent();
    const rto = drill.connection.nextDeadline()!;
    expect(rto).toBeGreaterThan(500);
    drill.at(rto).expectSent({ flags: 'A', seq: segmentStart(8), len: MSS, at: rto });
    expect(drill.connection.stats).toMatchObject({ tailLossProbes: 0, timeouts: 1 });
  });

  it("sends new data as the probe when the peer's window allows it, whatever cwnd says (§7.3)", () => {
    // The initial window is out and nothing comes back; one more segment waits for cwnd.
    const drill = flight(10)
      .user.send(MSS)
      .expectNothingSent()
      .at(399)
      .expectNothingSent()
      .at(400)
      .expectSent({ flags: 'AP', seq: segmentStart(10), len: MSS, at: 400 })
      .expectNothingSent();
    expect(drill.connection.stats).toMatchObject({ tailLossProbes: 1, retransmissions: 0 });
  });

  it('keeps cwnd when a D-SACK shows the resent probe was not needed, and reduces it when none does (§7.4)', () => {
    const probeAndAnswer = (dsack: boolean): Drill =>
      flight(10)
        .at(300)
        .peerSends({ flags: 'A', seq: 1, ack: segmentStart(8) })
        .at(500)
        .expectSent({ flags: 'A', seq: segmentStart(9), len: MSS, at: 500 })
        .at(600)
        .peerSends({
          flags: 'A',
          seq: 1,
          ack: segmentStart(10),
          ...(dsack ? { sack: [blockOfSegments(9, 9)] } : {}),
        });
    const spurious = probeAndAnswer(true);
    expect(spurious.connection.slowStartThreshold).toBe(Infinity);
    const repaired = probeAndAnswer(false);
    expect(repaired.connection.slowStartThreshold).toBeLessThan(Infinity);
    expect(repaired.connection.congestionWindow).toBeLessThan(spurious.connection.congestionWindow);
  });
});

describe('RACK loss detection (RFC 8985 §6)', () => {
  it('finds a loss with a single SACKed segment once the reordering window has passed (§6.3 timer)', () => {
    // Two segments, the first lost: one duplicate ACK is all there will ever be.
    flight(2)
      .at(300)
      .peerSends({ flags: 'A', seq: 1, ack: 1, sack: [blockOfSegments(1, 1)] })
      .expectNothingSent()
      .at(324)
      .expectNothingSent()
      // Sent at 200, RTT 100, reordering window 25: lost at 325.
      .at(325)
      .expectSent({ flags: 'A', seq: segmentStart(0), len: MSS, at: 325 })
      .expectNothingSent();
  });

  it('resends a retransmission that was lost too, once something sent after it is delivered', () => {
    // Segment 0 is lost, and so is its retransmission; everything else arrives.
    const drill = flight(10).user.send(4 * MSS);
    const relative = (seq: number): number => seqDiff(seq, OUR_ISS);
    const sent: Sent[] = [];
    for (let i = 1; i <= 9; i++) {
      drill.at(299 + i).peerSends({ flags: 'A', seq: 1, ack: 1, sack: [blockOfSegments(1, i)] });
      sent.push(...drill.takeAllSent());
    }
    // The third duplicate started the recovery: segment 0 went again at 302.
    const resends = sent.filter((s) => relative(s.segment.seq) === segmentStart(0));
    expect(resends.map((s) => s.at)).toEqual([302]);
    // New data went out (limited transmit, then the recovery), some of it after that retransmission.
    const newData = sent.filter((s) => relative(s.segment.seq) >= segmentStart(10));
    expect(newData.filter((s) => s.at > 302).length).toBeGreaterThan(0);
    const highest = Math.max(...newData.map((s) => relative(s.segment.seq) + s.segment.payload.length));
    // The new data is SACKed a round trip later: the retransmission sent before it is lost.
    drill
      .at(420)
      .peerSends({ flags: 'A', seq: 1, ack: 1, sack: [[segmentStart(1), highest]] })
      .expectSent({ flags: 'A', seq: segmentStart(0), len: MSS, at: 420 });
    expect(drill.connection.stats.timeouts).toBe(0);
  });
});

describe('RACK timer in recovery (RFC 8985 §6.3)', () => {
  it('resends a retransmission lost at the end of a flight when its reordering window runs out, not at the RTO', () => {
    // A first flight shows reordering (segment 2 SACKed before 0 and 1 arrive), so RACK keeps a
    // reordering window of a quarter of the minimum RTT in recovery too (§6.2 step 4).
    const drill = flight(10)
      .at(300)
      .peerSends({ flags: 'A', seq: 1, ack: 1, sack: [blockOfSegments(2, 2)] })
      .at(301)
      .peerSends({ flags: 'A', seq: 1, ack: segmentStart(10) });
    drill.takeAllSent();
    // The second flight: twelve segments leave at 400 (cwnd is 12), the rest wait. Its first
    // segment is lost, and so is the retransmission of it.
    drill.at(400).user.send(24 * MSS);
    const relative = (seq: number): number => seqDiff(seq, OUR_ISS);
    const sent: Sent[] = [...drill.takeAllSent()];
    const second = (i: number): number => segmentStart(10 + i);
    // The peer SACKs the rest of the flight as it arrives, a round trip after it left.
    for (let i = 1; i <= 11; i++) {
      drill.at(499 + i).peerSends({ flags: 'A', seq: 1, ack: second(0), sack: [[second(1), second(i + 1)]] });
      sent.push(...drill.takeAllSent());
    }
    const resends = sent.filter((s) => relative(s.segment.seq) === second(0) && s.at > 400);
    expect(resends.map((s) => s.at)).toEqual([502]);
    // New data left during the recovery, after that retransmission.
    const later = sent.filter((s) => relative(s.segment.seq) >= second(14));
    expect(Math.min(...later.map((s) => s.at))).toBeGreaterThan(502);
    expect(later.length).toBeGreaterThan(0);
    const highest = Math.max(...later.map((s) => relative(s.segment.seq) + s.segment.payload.length));
    const lastSentAt = Math.max(...later.map((s) => s.at));
    // Everything else is SACKed 60 ms after the last of it left: RACK's RTT and the minimum RTT
    // are 60 ms, so the resend counts as lost at 502 + 60 + 15, after this ACK, and no ACK follows.
    drill.at(lastSentAt + 60).peerSends({ flags: 'A', seq: 1, ack: second(0), sack: [[second(1), highest]] });
    expect(drill.takeAllSent().filter((s) => relative(s.segment.seq) === second(0))).toEqual([]);
    // The retransmission timer would fire at 651.
    drill.at(640);
    const again = drill.takeAllSent().filter((s) => relative(s.segment.seq) === second(0));
    expect(again.map((s) => s.at)).toEqual([502 + 60 + 15]);
    expect(drill.connection.stats.timeouts).toBe(0);
  });
});

describe('D-SACK, receiver side (RFC 2883)', () => {
  /** The peer's first segment received and acknowledged (a delayed ACK). */
  const firstSegmentAcknowledged = (): Drill =>
    established()
      .at(200)
      .peerSends({ flags: 'A', seq: 1, ack: 1, len: MSS })
      .at(240)
      .expectSent({ flags: 'A', ack: 1 + MSS, sack: [] });

  it('reports a segment received twice in the first SACK block, once', () => {
    firstSegmentAcknowledged()
      .at(300)
      .peerSends({ flags: 'A', seq: 1, ack: 1, len: MSS })
      .expectSent({ flags: 'A', ack: 1 + MSS, sack: [[1, 1 + MSS]], at: 300 })
      .at(400)
      .peerSends({ flags: 'A', seq: 1 + MSS, ack: 1, len: MSS })
      .at(440)
      .expectSent({ flags: 'A', ack: 1 + 2 * MSS, sack: [] });
  });

  it('reports held out-of-order data received twice first, then the block holding it (RFC 2883 §4.2)', () => {
    const block = (segment: number): [number, number] => [1 + segment * MSS, 1 + (segment + 1) * MSS];
    established()
      .at(200)
      .peerSends({ flags: 'A', seq: block(1)[0], ack: 1, len: MSS })
      .expectSent({ flags: 'A', ack: 1, sack: [block(1)], at: 200 })
      .at(300)
      .peerSends({ flags: 'A', seq: block(1)[0], ack: 1, len: MSS })
      .expectSent({ flags: 'A', ack: 1, sack: [block(1), block(1)], at: 300 })
      // Reported once: a new arrival's ACK carries SACK blocks alone.
      .at(301)
      .peerSends({ flags: 'A', seq: block(3)[0], ack: 1, len: MSS })
      .expectSent({ flags: 'A', ack: 1, sack: [block(3), block(1)], at: 301 });
  });

  it('reports each segment of a batch received twice below RCV.NXT in an ACK of its own', () => {
    const block = (segment: number): [number, number] => [1 + segment * MSS, 1 + (segment + 1) * MSS];
    const segment = (n: number) => ({ flags: 'A', seq: block(n)[0], ack: 1, len: MSS });
    established()
      .at(200)
      .peerSendsTogether([segment(0), segment(1)])
      .expectSent({ flags: 'A', ack: block(2)[0], sack: [] })
      .at(300)
      .peerSendsTogether([segment(0), segment(1)])
      .expectSent({ flags: 'A', ack: block(2)[0], sack: [block(0)] })
      .expectSent({ flags: 'A', ack: block(2)[0], sack: [block(1)] })
      .expectNothingSent();
  });

  it('reports the part of a segment it had before when the segment brings new data too (§4)', () => {
    // A sender may resend two segments as one, and a coalescing device merges them.
    firstSegmentAcknowledged()
      .at(300)
      .peerSends({ flags: 'A', seq: 1, ack: 1, len: 2 * MSS })
      .expectSent({ flags: 'A', ack: 1 + 2 * MSS, sack: [[1, 1 + MSS]], at: 300 })
      .expectNothingSent();
  });

  /** Segment 2 arrives early and is held; then `resent` (bytes from `seq`) arrives, and `answer` is its ACK. */
  const heldThenResent = (resent: { seq: number; len: number }, answer: { ack: number; sack: Array<[number, number]> }): void => {
    const held: [number, number] = [1 + 2 * MSS, 1 + 3 * MSS];
    established()
      .at(200)
      .peerSends({ flags: 'A', seq: held[0], ack: 1, len: MSS })
      .expectSent({ flags: 'A', ack: 1, sack: [held], at: 200 })
      .at(300)
      .peerSends({ flags: 'A', ack: 1, ...resent })
      .expectSent({ flags: 'A', ...answer, at: 300 })
      .expectNothingSent();
  };

  it('reports held bytes that an in-order segment brings again, below the ACK that follows', () => {
    // The lost segments and the held one after them, resent as one: the held one is a duplicate.
    heldThenResent({ seq: 1, len: 3 * MSS }, { ack: 1 + 3 * MSS, sack: [[1 + 2 * MSS, 1 + 3 * MSS]] });
  });

  it('reports held bytes that an out-of-order segment brings again first, then the run now holding them', () => {
    heldThenResent({ seq: 1 + MSS, len: 2 * MSS }, { ack: 1, sack: [[1 + 2 * MSS, 1 + 3 * MSS], [1 + MSS, 1 + 3 * MSS]] });
  });

  it('gives a held duplicate of another run than the arrival\'s an ACK of its own, whose next block holds it (§4)', () => {
    const block = (first: number, last = first): [number, number] => [1 + first * MSS, 1 + (last + 1) * MSS];
    const segment = (n: number, count = 1) => ({ flags: 'A', seq: block(n)[0], ack: 1, len: count * MSS });
    established()
      .at(200)
      .peerSends(segment(2))
      .expectSent({ flags: 'A', ack: 1, sack: [block(2)], at: 200 })
      .peerSends(segment(4))
      .expectSent({ flags: 'A', ack: 1, sack: [block(4), block(2)], at: 200 })
      // One resend of segments 1–4 brings both held ones again; segment 7 comes in the same batch.
      .at(300)
      .peerSendsTogether([segment(1, 4), segment(7)])
      .expectSent({ flags: 'A', ack: 1, sack: [block(2), block(1, 4)] })
      .expectSent({ flags: 'A', ack: 1, sack: [block(7), block(1, 4)] })
      // Not in segment 7's ACK, where the block after it would be segment 7's run.
      .expectSent({ flags: 'A', ack: 1, sack: [block(4), block(1, 4), block(7)] })
      .expectNothingSent();
  });

  it('reports each duplicate of a batch in the ACK that answers it, as one by one', () => {
    const block = (segment: number): [number, number] => [1 + segment * MSS, 1 + (segment + 1) * MSS];
    const segment = (n: number) => ({ flags: 'A', seq: block(n)[0], ack: 1, len: MSS });
    established()
      .at(200)
      .peerSendsTogether([segment(1), segment(1), segment(3), segment(3)])
      .expectSent({ flags: 'A', ack: 1, sack: [block(1)] })
      .expectSent({ flags: 'A', ack: 1, sack: [block(1), block(1)] })
      .expectSent({ flags: 'A', ack: 1, sack: [block(3), block(1)] })
      .expectSent({ flags: 'A', ack: 1, sack: [block(3), block(3), block(1)] })
      .expectNothingSent();
  });
});

describe('SACK, receiver side: a held FIN', () => {
  it('is inside the block of the run it ends, as Linux reports it, in SACK and D-SACK blocks alike', () => {
    established()
      .at(200)
      // The last segment, FIN and all, arrives; the one before it was lost.
      .peerSends({ flags: 'FA', seq: segmentStart(1), ack: 1, len: MSS })
      .expectSent({ flags: 'A', ack: 1, sack: [[segmentStart(1), segmentStart(2) + 1]], at: 200 })
      .expectState('ESTABLISHED')
      .at(201)
      // A duplicate of it: the D-SACK block holds the FIN as well, then the run that holds it.
      .peerSends({ flags: 'FA', seq: segmentStart(1), ack: 1, len: MSS })
      .expectSent({ flags: 'A', ack: 1, sack: [[segmentStart(1), segmentStart(2) + 1], [segmentStart(1), segmentStart(2) + 1]], at: 201 })
      .at(210)
      .peerSends({ flags: 'A', seq: 1, ack: 1, len: MSS })
      .expectSent({ flags: 'A', ack: segmentStart(2) + 1, sack: [] })
      .expectState('CLOSE-WAIT');
  });

  it('is not in a block that ends short of it', () => {
    established()
      .at(200)
      .peerSends({ flags: 'A', seq: segmentStart(1), ack: 1, len: MSS })
      .expectSent({ flags: 'A', ack: 1, sack: [blockOfSegments(1, 1)], at: 200 })
      .at(201)
      // The FIN beyond another hole: the first run's block stays as it was.
      .peerSends({ flags: 'FA', seq: segmentStart(3), ack: 1, len: MSS })
      .expectSent({ flags: 'A', ack: 1, sack: [[segmentStart(3), segmentStart(4) + 1], blockOfSegments(1, 1)], at: 201 });
  });
});
