import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type TcpSegment, TcpFlag } from '../wire/tcp-types.js';
import { defaultTcpConfig } from './config.js';
import { Connection } from './connection.js';
import { resetFor } from './reset.js';
import { seqDiff } from './seq.js';
import { Drill, LOCAL_PORT, MSS, OUR_ISS, PEER_ISS, PEER_PORT } from './testing/drill.js';

describe('scripted scenarios', () => {
  it('retransmits exactly the first unacknowledged segment on the third duplicate ACK (RFC 5681 §3.2)', () => {
    const drill = new Drill('passive').passiveHandshake();
    drill
      .at(200)
      .user.send(4 * MSS)
      .expectSent({ flags: 'A', seq: 1, len: MSS })
      .expectSent({ flags: 'A', seq: 1 + MSS, len: MSS })
      .expectSent({ flags: 'A', seq: 1 + 2 * MSS, len: MSS })
      .expectSent({ flags: 'A', seq: 1 + 3 * MSS, len: MSS })
      .expectNothingSent()
      // The first segment arrives, the second is lost: every later one draws the same ACK.
      .at(300)
      .peerSends({ flags: 'A', seq: 1, ack: 1 + MSS })
      .expectNothingSent()
      .peerSends({ flags: 'A', seq: 1, ack: 1 + MSS })
      .expectNothingSent()
      .peerSends({ flags: 'A', seq: 1, ack: 1 + MSS })
      .expectNothingSent()
      .at(301)
      .peerSends({ flags: 'A', seq: 1, ack: 1 + MSS })
      .expectSent({ flags: 'A', seq: 1 + MSS, len: MSS, at: 301 })
      .expectNothingSent();
    expect(drill.connection.stats.fastRetransmits).toBe(1);
  });

  it('resends SND.UNA on a retransmission timeout and doubles the next timeout (RFC 6298 §5.4, §5.5)', () => {
    const drill = new Drill('passive').passiveHandshake({ rtt: 100 });
    // One RTT sample of 100 ms: RTO = SRTT + 4·RTTVAR = 100 + 4·50 (§2.2), above the 200 ms floor.
    const rto = drill.connection.retransmissionTimeout;
    expect(rto).toBe(300);
    drill.at(200).user.send(500).expectSent({ flags: 'A', seq: 1, len: 500, at: 200 });
    drill
      .at(200 + rto - 1)
      .expectNothingSent()
      .at(200 + rto)
      .expectSent({ flags: 'A', seq: 1, len: 500, at: 200 + rto });
    expect(drill.connection.retransmissionTimeout).toBe(2 * rto);
    drill
      .at(200 + 3 * rto - 1)
      .expectNothingSent()
      .at(200 + 3 * rto)
      .expectSent({ flags: 'A', seq: 1, len: 500, at: 200 + 3 * rto })
      .at(200 + 7 * rto)
      .expectSent({ flags: 'A', seq: 1, len: 500, at: 200 + 7 * rto })
      .expectNothingSent();
    // An ACK of new data ends the backoff (§5.7 keeps the backed-off value until a new sample).
    drill.at(200 + 7 * rto + 100).peerSends({ flags: 'A', seq: 1, ack: 501 }).expectNothingSent();
    expect(drill.connection.flightSize).toBe(0);
  });

  it('acknowledges one full segment after the delayed-ACK timeout, two at once (RFC 9293 §3.8.6.3, RFC 5681 §4.2)', () => {
    const delay = defaultTcpConfig.delayedAckTimeout;
    const drill = new Drill('passive').passiveHandshake();
    drill
      .at(200)
      .peerSends({ flags: 'A', seq: 1, ack: 1, len: MSS })
      .expectNothingSent()
      .at(200 + delay - 1)
      .expectNothingSent()
      .at(200 + delay)
      .expectSent({ flags: 'A', seq: 1, ack: 1 + MSS, at: 200 + delay })
      .at(400)
      .peerSends({ flags: 'A', seq: 1 + MSS, ack: 1, len: MSS })
      .expectNothingSent()
      .peerSends({ flags: 'A', seq: 1 + 2 * MSS, ack: 1, len: MSS })
      .expectSent({ flags: 'A', seq: 1, ack: 1 + 3 * MSS, at: 400 })
      .at(400 + 2 * delay)
      .expectNothingSent();
    expect(drill.takeEvents()).toEqual([`data:${MSS}`, `data:${MSS}`, `data:${MSS}`]);
  });

  it('acknowledges a batch when it is processed: one ACK per eight of its segments, up to 16 ACKs a batch', () => {
    const batch = (drill: Drill, first: number, count: number): Drill =>
      drill.peerSendsTogether(Array.from({ length: count }, (_, i) => ({ flags: 'A', seq: first + i * MSS, ack: 1, len: MSS })));
    // Window scaling on both sides, so that a batch may hold more than 64 KiB.
    const drill = new Drill('passive').passiveHandshake({ synOptions: { windowScale: 7 } }).at(200);
    // Six segments in one batch: one ACK for all of them, at once (RFC 5681 §4.2 asks for one by the second).
    const small = batch(drill, 1, 6).takeAllSent();
    expect(small.map((s) => seqDiff(s.segment.ack, PEER_ISS))).toEqual([1 + 6 * MSS]);
    // Twenty: ACKs at the eighth and sixteenth, and the last for everything.
    drill.at(250);
    const medium = batch(drill, 1 + 6 * MSS, 20).takeAllSent();
    expect(medium.map((s) => seqDiff(s.segment.ack, PEER_ISS))).toEqual([1 + 14 * MSS, 1 + 22 * MSS, 1 + 26 * MSS]);
    // Two hundred (a receiver that fell far behind): sixteen ACKs, for the first fifteen
    // eights and the last for everything.
    drill.at(300);
    const large = batch(drill, 1 + 26 * MSS, 200).takeAllSent();
    expect(large.map((s) => seqDiff(s.segment.ack, PEER_ISS))).toEqual([
      ...Array.from({ length: 15 }, (_, i) => 1 + (26 + 8 * (i + 1)) * MSS),
      1 + 226 * MSS,
    ]);
    expect(large.every((s) => s.at === 300)).toBe(true);
    drill.at(400).expectNothingSent();
  });

  it('still acknowledges every second segment that arrives on its own', () => {
    const drill = new Drill('passive').passiveHandshake().at(200);
    for (let i = 0; i < 6; i++) drill.peerSends({ flags: 'A', seq: 1 + i * MSS, ack: 1, len: MSS });
    expect(drill.takeAllSent().map((s) => seqDiff(s.segment.ack, PEER_ISS))).toEqual([1 + 2 * MSS, 1 + 4 * MSS, 1 + 6 * MSS]);
  });

  it('does not delay the ACK of a pushed segment: the sender may be waiting for it', () => {
    const drill = new Drill('passive').passiveHandshake();
    drill
      .at(200)
      .peerSends({ flags: 'A', seq: 1, ack: 1, len: MSS })
      .peerSends({ flags: 'A', seq: 1 + MSS, ack: 1, len: MSS })
      .expectSent({ flags: 'A', seq: 1, ack: 1 + 2 * MSS, at: 200 })
      // The third segment, odd and pushed, is acknowledged at once instead of after the timer.
      .at(210)
      .peerSends({ flags: 'AP', seq: 1 + 2 * MSS, ack: 1, len: 100 })
      .expectSent({ flags: 'A', seq: 1, ack: 1 + 2 * MSS + 100, at: 210 })
      .expectNothingSent();
  });

  it('stops at a zero window, probes it after the persist timeout, resumes on a window update (§3.8.6.1)', () => {
    const drill = new Drill('passive').passiveHandshake();
    const rto = drill.connection.retransmissionTimeout;
    drill
      .at(200)
      .peerSends({ flags: 'A', seq: 1, ack: 1, win: 0 })
      .user.send(3000)
      .expectNothingSent()
      .at(200 + rto - 1)
      .expectNothingSent();
    const firstProbe = drill.runUntilSent(200 + 10 * rto);
    expect(firstProbe).toBe(200 + rto);
    drill.expectSent({ flags: 'A', maxLen: 1 });
    // The window stays shut: the next probe comes later, and after a longer wait.
    drill.peerSends({ flags: 'A', seq: 1, ack: 1, win: 0 });
    const secondProbe = drill.runUntilSent(firstProbe + 100 * rto);
    expect(secondProbe - firstProbe).toBeGreaterThan(firstProbe - 200);
    drill.expectSent({ flags: 'A', maxLen: 1 }).expectState('ESTABLISHED');
    // The peer's reader caught up: the update releases everything queued, in order from SND.UNA.
    drill
      .at(secondProbe + 10)
      .peerSends({ flags: 'A', seq: 1, ack: 1, win: 65_535 })
      .expectSent({ flags: 'A', seq: 1, len: MSS })
      .expectSent({ flags: 'A', seq: 1 + MSS, len: MSS })
      // Nagle (§3.7.4): the small rest waits while full segments are unacknowledged.
      .expectNothingSent()
      .peerSends({ flags: 'A', seq: 1, ack: 1 + 2 * MSS })
      .expectSent({ flags: 'A', seq: 1 + 2 * MSS, len: 3000 - 2 * MSS })
      .expectNothingSent()
      .peerSends({ flags: 'A', seq: 1, ack: 3001 });
    expect(drill.connection.flightSize).toBe(0);
    expect(drill.connection.sendQueueLength).toBe(0);
  });

  it('holds a FIN that arrives ahead of missing data until the data arrives (§3.10.7.4, eighth step)', () => {
    const drill = new Drill('passive').passiveHandshake();
    drill
      .at(200)
      .peerSends({ flags: 'FA', seq: 1001, ack: 1, len: 1000 })
      // Out of order: an immediate duplicate ACK for the hole (RFC 5681 §4.2), no FIN acknowledged.
      .expectSent({ flags: 'A', seq: 1, ack: 1 })
      .expectState('ESTABLISHED');
    expect(drill.takeEvents()).toEqual([]);
    drill
      .at(210)
      .peerSends({ flags: 'A', seq: 1, ack: 1, len: 1000 })
      .expectSent({ flags: 'A', seq: 1, ack: 2002 })
      .expectState('CLOSE-WAIT');
    const events = drill.takeEvents();
    expect(events.filter((event) => event.startsWith('data:')).reduce((sum, e) => sum + Number(e.slice(5)), 0)).toBe(2000);
    expect(events.at(-1)).toBe('peer-closed');
  });

  it('answers an ACK of data never sent with an ACK and drops the segment, text included (RFC 5961 §5.2)', () => {
    const drill = new Drill('passive').passiveHandshake();
    drill
      .at(200)
      .user.send(100)
      .expectSent({ flags: 'A', seq: 1, len: 100 })
      .at(210)
      .peerSends({ flags: 'PA', seq: 1, ack: 101 + 5000, len: 50 })
      .expectSent({ flags: 'A', seq: 101, ack: 1, len: 0 })
      .expectNothingSent()
      .expectState('ESTABLISHED');
    expect(drill.takeEvents()).toEqual([]);
    expect(drill.connection.flightSize).toBe(100);
    // The same text with a believable ACK is taken.
    drill.at(220).peerSends({ flags: 'PA', seq: 1, ack: 101, len: 50 });
    expect(drill.takeEvents()).toEqual(['data:50']);
    expect(drill.connection.flightSize).toBe(0);
  });

  it('answers a SYN in ESTABLISHED with a challenge ACK and stays established (RFC 5961 §4.2)', () => {
    const drill = new Drill('passive').passiveHandshake();
    drill
      .at(200)
      .peerSends({ flags: 'S', seq: 1, options: { mss: MSS } })
      .expectSent({ flags: 'A', seq: 1, ack: 1, len: 0 })
      .expectNothingSent()
      .expectState('ESTABLISHED')
      .at(300)
      .peerSends({ flags: 'S', seq: 40_000, options: { mss: MSS } })
      .expectSent({ flags: 'A', seq: 1, ack: 1, len: 0 })
      .expectState('ESTABLISHED');
    expect(drill.takeEvents()).toEqual([]);
  });

  it('after a retransmission timeout, a bare ACK carries the highest sequence number sent, which the peer accepts', () => {
    // The peer received all three segments but its ACKs were lost; its next segment still acknowledges
    // nothing new. Our ACK of its data must not carry an old sequence number: below the peer's RCV.NXT
    // it fails the acceptability test (§3.10.7.4, first step) and the peer drops it.
    const drill = new Drill('passive').passiveHandshake();
    const rto = drill.connection.retransmissionTimeout;
    drill
      .at(200)
      .user.send(3 * MSS)
      .expectSent({ flags: 'A', seq: 1, len: MSS })
      .expectSent({ flags: 'A', seq: 1 + MSS, len: MSS })
      .expectSent({ flags: 'A', seq: 1 + 2 * MSS, len: MSS })
      .at(200 + rto)
      .expectSent({ flags: 'A', seq: 1, len: MSS })
      .at(200 + rto + 10)
      .peerSends({ flags: 'PA', seq: 1, ack: 1, len: 100 })
      .at(200 + rto + 10 + defaultTcpConfig.delayedAckTimeout)
      .expectSent({ flags: 'A', seq: 1 + 3 * MSS, ack: 101, len: 0 });
  });
});

describe('segments to a closed port (§3.10.7.1)', () => {
  const segment = (flags: number, seq: number, ack: number, length: number): TcpSegment => ({
    srcPort: PEER_PORT,
    dstPort: LOCAL_PORT,
    seq,
    ack,
    flags,
    window: 1000,
    urgent: 0,
    options: {},
    payload: new Uint8Array(length),
  });

  it('answers a SYN with <SEQ=0><ACK=SEG.SEQ+1><CTL=RST,ACK> and an ACK with <SEQ=SEG.ACK><CTL=RST>', () => {
    expect(resetFor(segment(TcpFlag.SYN, 0xffff_ffff, 0, 0))).toMatchObject({
      srcPort: LOCAL_PORT,
      dstPort: PEER_PORT,
      seq: 0,
      ack: 0,
      flags: TcpFlag.RST | TcpFlag.ACK,
      payload: new Uint8Array(0),
    });
    expect(resetFor(segment(TcpFlag.ACK | TcpFlag.PSH, 10, 777, 100))).toMatchObject({
      seq: 777,
      flags: TcpFlag.RST,
    });
    expect(resetFor(segment(TcpFlag.FIN, 10, 0, 100))).toMatchObject({ seq: 0, ack: 111, flags: TcpFlag.RST | TcpFlag.ACK });
    expect(resetFor(segment(TcpFlag.RST | TcpFlag.ACK, 10, 777, 0))).toBeUndefined();
  });

  it('for any segment: never answers a RST, and otherwise builds the reset of the RFC', () => {
    const anySegment = fc.record({
      flags: fc.integer({ min: 0, max: 0xff }),
      seq: fc.nat({ max: 0xffff_ffff }),
      ack: fc.nat({ max: 0xffff_ffff }),
      length: fc.integer({ min: 0, max: 1500 }),
    });
    fc.assert(
      fc.property(anySegment, ({ flags, seq, ack, length }) => {
        const incoming = segment(flags, seq, ack, length);
        const reset = resetFor(incoming);
        if (flags & TcpFlag.RST) {
          expect(reset).toBeUndefined();
          return;
        }
        expect(reset).toBeDefined();
        expect({ srcPort: reset!.srcPort, dstPort: reset!.dstPort, payload: reset!.payload.length }).toEqual({
          srcPort: LOCAL_PORT,
          dstPort: PEER_PORT,
          payload: 0,
        });
        if (flags & TcpFlag.ACK) {
          expect({ seq: reset!.seq, flags: reset!.flags }).toEqual({ seq: ack, flags: TcpFlag.RST });
        } else {
          // SEG.LEN counts SYN and FIN (§3.4).
          const segmentLength = length + (flags & TcpFlag.SYN ? 1 : 0) + (flags & TcpFlag.FIN ? 1 : 0);
          expect({ seq: reset!.seq, ack: reset!.ack, flags: reset!.flags }).toEqual({
            seq: 0,
            ack: (seq + segmentLength) >>> 0,
            flags: TcpFlag.RST | TcpFlag.ACK,
          });
        }
      }),
      { numRuns: 300 },
    );
  });

  it('leaves segments to a CLOSED connection unanswered: the host sends the reset, not the connection', () => {
    const connection = new Connection({ localPort: LOCAL_PORT, remotePort: PEER_PORT, iss: OUR_ISS, config: defaultTcpConfig });
    connection.handleSegment(segment(TcpFlag.SYN, 5, 0, 0), 0);
    expect(connection.state).toBe('CLOSED');
    expect(connection.pollSegment(0)).toBeUndefined();
  });
});
