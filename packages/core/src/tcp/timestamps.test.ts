import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TCP_HEADER_LENGTH, tcpSegmentLength } from '../wire/tcp.js';
import { type TcpTimestamps, TcpFlag } from '../wire/tcp-types.js';
import type { TcpConfig } from './config.js';
import { Drill, MSS } from './testing/drill.js';

/**
 * Timestamps (RFC 7323): negotiation, which timestamp is echoed (§4.3), PAWS
 * (§5), the option's cost in every segment, and RTT samples from echoes (§4).
 * The peer's clock is the script's: its TSvals are written out; ours are read
 * from what the connection sends.
 */

/** RFC 7323 §3.2: the option takes 10 bytes, 12 with the padding that aligns it. */
const TIMESTAMPS_SPACE = 12;
const IPV4_HEADER = 20;
const MTU = 1500;
/** The peer's TSval at 0 ms; its clock ticks once a millisecond like ours. */
const PEER_CLOCK = 7_000_000;
const peerTs = (at: number, echo: number): TcpTimestamps => ({ value: PEER_CLOCK + at, echo });

interface TsDrill {
  readonly drill: Drill;
  /** Our TSval in the SYN,ACK, sent at 0 ms. */
  readonly ourClock: number;
}

/** Passive open where both SYNs carry TSopt; the peer's ACK at 100 ms echoes our SYN,ACK. */
const tsHandshake = (config: Partial<TcpConfig> = {}): TsDrill => {
  const drill = new Drill('passive', config).user.open().peerSends({ flags: 'S', seq: 0, options: { mss: MSS }, ts: peerTs(0, 0) });
  const synAck = drill.takeSent('expected the SYN,ACK').segment;
  const ts = synAck.options.timestamps;
  if (ts === undefined) drill.fail('the SYN,ACK carries no timestamps');
  expect(ts!.echo).toBe(PEER_CLOCK);
  drill
    .at(100)
    .peerSends({ flags: 'A', seq: 1, ack: 1, ts: peerTs(100, ts!.value) })
    .expectNothingSent()
    .expectState('ESTABLISHED')
    .expectEvents(['connected']);
  return { drill, ourClock: ts!.value };
};

const ourTsVal = (drill: Drill): number => {
  const ts = drill.takeSent().segment.options.timestamps;
  if (ts === undefined) drill.fail('a segment without timestamps');
  return ts!.value;
};

describe('negotiation (RFC 7323 §3.2)', () => {
  it('uses timestamps when both SYNs carry the option: passive open', () => {
    const { drill } = tsHandshake();
    drill.at(200).peerSends({ flags: 'A', seq: 1, ack: 1, len: 100, ts: peerTs(200, 0) });
    drill.at(300).expectSent({ flags: 'A', ack: 101, timestamps: true, tsEcho: PEER_CLOCK + 200 });
  });

  it('does not when the peer’s SYN has none: the SYN,ACK and every later segment go without', () => {
    const drill = new Drill('passive').user.open().peerSends({ flags: 'S', seq: 0, options: { mss: MSS } });
    drill.expectSent({ flags: 'SA', timestamps: false });
    drill
      .at(100)
      .peerSends({ flags: 'A', seq: 1, ack: 1 })
      .at(200)
      .user.send(2 * MSS)
      .expectSent({ flags: 'A', len: MSS, timestamps: false })
      .expectSent({ flags: 'A', len: MSS, timestamps: false });
  });

  it('offers timestamps in an active SYN and keeps them only if the SYN,ACK carries them', () => {
    const offered = new Drill('active').user.open();
    const syn = offered.takeSent().segment;
    expect(syn.options.timestamps?.echo).toBe(0);
    const ourSynTs = syn.options.timestamps!.value;
    offered
      .at(100)
      .peerSends({ flags: 'SA', seq: 0, ack: 1, options: { mss: MSS }, ts: peerTs(100, ourSynTs) })
      .expectSent({ flags: 'A', seq: 1, ack: 1, tsEcho: PEER_CLOCK + 100 })
      .expectState('ESTABLISHED');

    const refused = new Drill('active').user.open();
    refused.takeSent();
    refused
      .at(100)
      .peerSends({ flags: 'SA', seq: 0, ack: 1, options: { mss: MSS } })
      .expectSent({ flags: 'A', seq: 1, ack: 1, timestamps: false })
      .at(200)
      .user.send(MSS)
      .expectSent({ flags: 'A', len: MSS, timestamps: false });
  });

  it('neither offers nor accepts timestamps when switched off', () => {
    const active = new Drill('active', { timestamps: false }).user.open();
    expect(active.takeSent().segment.options.timestamps).toBeUndefined();
    new Drill('passive', { timestamps: false }).user
      .open()
      .peerSends({ flags: 'S', seq: 0, options: { mss: MSS }, ts: peerTs(0, 0) })
      .expectSent({ flags: 'SA', timestamps: false });
  });

  it('carries TSval and TSecr in every later segment, with a clock of 1 ms to 1 s per tick (§3.2, §5.4)', () => {
    const { drill, ourClock } = tsHandshake();
    const rto = drill.connection.retransmissionTimeout;
    drill
      .at(200)
      .user.send(3000)
      .at(300)
      .peerSends({ flags: 'A', seq: 1, ack: 1 + 2 * (MSS - TIMESTAMPS_SPACE), ts: peerTs(300, 0) })
      // Peer data: a delayed ACK; then the tail of ours is lost and resent by the timer.
      .at(310)
      .peerSends({ flags: 'A', seq: 1, ack: 1 + 2 * (MSS - TIMESTAMPS_SPACE), len: 500, ts: peerTs(310, 0) })
      .at(300 + 2 * rto)
      // Out-of-order data: an immediate duplicate ACK.
      .peerSends({ flags: 'A', seq: 2001, ack: 3001, len: 100, ts: peerTs(900, 0) })
      // A closed window, probed by the persist timer, then the user closes.
      .peerSends({ flags: 'A', seq: 2101, ack: 3001, win: 0, ts: peerTs(901, 0) })
      .user.send(10)
      .at(300 + 2 * rto + 5000)
      .peerSends({ flags: 'A', seq: 2101, ack: 3001, ts: peerTs(5000, 0) })
      .user.close();
    const kinds = new Set<string>();
    let previous = ourClock;
    for (const { segment, at } of drill.sentLog) {
      if (segment.payload.length > 0) kinds.add('data');
      if (segment.flags & TcpFlag.FIN) kinds.add('fin');
      if (segment.payload.length === 0 && !(segment.flags & TcpFlag.FIN)) kinds.add('ack');
      const ts = segment.options.timestamps;
      if (ts === undefined) drill.fail(`segment sent at ${at} ms has no timestamps`);
      if (ts!.value < previous) drill.fail(`TSval went back at ${at} ms`);
      previous = ts!.value;
      const ticks = ts!.value - ourClock;
      expect(ticks).toBeGreaterThanOrEqual(Math.floor(at / 1000));
      expect(ticks).toBeLessThanOrEqual(at);
    }
    // The script made the connection send data, a retransmission, pure and duplicate ACKs, probes and a FIN.
    expect(drill.connection.stats.retransmissions).toBeGreaterThan(0);
    expect([...kinds].sort()).toEqual(['ack', 'data', 'fin']);
    expect(drill.sentLog.length).toBeGreaterThanOrEqual(8);
  });
});

describe('which timestamp is echoed (RFC 7323 §4.3)', () => {
  it('a delayed ACK of two segments echoes the earlier one; a lone one its own', () => {
    const { drill } = tsHandshake();
    drill
      .at(200)
      .peerSends({ flags: 'A', seq: 1, ack: 1, len: MSS - TIMESTAMPS_SPACE, ts: peerTs(200, 0) })
      .expectNothingSent()
      .at(205)
      .peerSends({ flags: 'A', seq: 1 + (MSS - TIMESTAMPS_SPACE), ack: 1, len: MSS - TIMESTAMPS_SPACE, ts: peerTs(205, 0) })
      .expectSent({ flags: 'A', ack: 1 + 2 * (MSS - TIMESTAMPS_SPACE), at: 205, tsEcho: PEER_CLOCK + 200 })
      .at(300)
      .peerSends({ flags: 'A', seq: 1 + 2 * (MSS - TIMESTAMPS_SPACE), ack: 1, len: 100, ts: peerTs(300, 0) })
      .expectNothingSent()
      .at(400)
      .expectSent({ flags: 'A', ack: 1 + 2 * (MSS - TIMESTAMPS_SPACE) + 100, tsEcho: PEER_CLOCK + 300 });
  });

  it('out-of-order data does not update TS.Recent; the segment that fills the hole does', () => {
    const { drill } = tsHandshake();
    drill
      .at(200)
      .peerSends({ flags: 'A', seq: 1, ack: 1, len: 1000, ts: peerTs(200, 0) })
      .at(300)
      .expectSent({ flags: 'A', ack: 1001, tsEcho: PEER_CLOCK + 200 })
      // 1001–2000 is lost; what follows echoes the segment that last moved the window's left edge.
      .at(310)
      .peerSends({ flags: 'A', seq: 2001, ack: 1, len: 1000, ts: peerTs(310, 0) })
      .expectSent({ flags: 'A', ack: 1001, tsEcho: PEER_CLOCK + 200 })
      .at(320)
      .peerSends({ flags: 'A', seq: 3001, ack: 1, len: 1000, ts: peerTs(320, 0) })
      .expectSent({ flags: 'A', ack: 1001, tsEcho: PEER_CLOCK + 200 })
      // The repair, sent later, fills the hole: its TSval is echoed.
      .at(400)
      .peerSends({ flags: 'A', seq: 1001, ack: 1, len: 1000, ts: peerTs(400, 0) })
      .expectSent({ flags: 'A', ack: 4001, at: 400, tsEcho: PEER_CLOCK + 400 });
  });
});

describe('PAWS (RFC 7323 §5.3)', () => {
  /** TS.Recent = PEER_CLOCK + 200 after 1000 bytes from the peer, acknowledged at 240 ms. */
  const withRecent = (): Drill => {
    const { drill } = tsHandshake();
    return drill
      .at(200)
      .peerSends({ flags: 'A', seq: 1, ack: 1, len: 1000, ts: peerTs(200, 0) })
      .at(300)
      .expectSent({ flags: 'A', ack: 1001, tsEcho: PEER_CLOCK + 200 })
      .expectEvents(['data:1000']);
  };

  it('drops a segment with a TSval older than TS.Recent, answers it with an ACK, delivers nothing', () => {
    const drill = withRecent()
      .at(310)
      .peerSends({ flags: 'A', seq: 1001, ack: 1, len: 500, ts: peerTs(199, 0) })
      .expectSent({ flags: 'A', ack: 1001, at: 310, tsEcho: PEER_CLOCK + 200 })
      .expectNothingSent()
      .expectEvents([]);
    expect(drill.connection.stats.pawsDropped).toBe(1);
    // The same bytes with a current timestamp are taken.
    drill
      .at(320)
      .peerSends({ flags: 'A', seq: 1001, ack: 1, len: 500, ts: peerTs(320, 0) })
      .expectEvents(['data:500']);
  });

  it('does not process the ACK of a segment it drops', () => {
    const drill = withRecent().at(310).user.send(400);
    drill.takeSent();
    expect(drill.connection.flightSize).toBe(400);
    drill.at(320).peerSends({ flags: 'A', seq: 1001, ack: 401, ts: peerTs(150, 0) }).expectSent({ flags: 'A', ack: 1001 });
    expect(drill.connection.flightSize).toBe(400);
    drill.at(330).peerSends({ flags: 'A', seq: 1001, ack: 401, ts: peerTs(330, 0) });
    expect(drill.connection.flightSize).toBe(0);
  });

  it('compares timestamps modulo 2^32: a TSval past the wrap is newer', () => {
    const drill = new Drill('passive').user
      .open()
      .peerSends({ flags: 'S', seq: 0, options: { mss: MSS }, ts: { value: 0xffff_ff00, echo: 0 } });
    const ours = ourTsVal(drill);
    drill
      .at(100)
      .peerSends({ flags: 'A', seq: 1, ack: 1, ts: { value: 0xffff_ff64, echo: ours } })
      .expectEvents(['connected'])
      .at(200)
      .peerSends({ flags: 'A', seq: 1, ack: 1, len: 100, ts: { value: 0x0000_0010, echo: ours } })
      .expectEvents(['data:100'])
      .at(300)
      .expectSent({ flags: 'A', ack: 101, tsEcho: 0x0000_0010 })
      // And one from before the wrap is now old.
      .peerSends({ flags: 'A', seq: 101, ack: 1, len: 100, ts: { value: 0xffff_fff0, echo: ours } })
      .expectSent({ flags: 'A', ack: 101, tsEcho: 0x0000_0010 })
      .expectEvents([]);
  });

  it('exempts a RST: an old TSval does not stop a reset at RCV.NXT', () => {
    withRecent()
      .at(310)
      .peerSends({ flags: 'R', seq: 1001, ts: peerTs(100, 0) })
      .expectNothingSent()
      .expectState('CLOSED')
      .expectEvents(['error:reset', 'closed']);
  });
});

describe('the option’s cost in every segment (RFC 7323 §3.2, RFC 6691)', () => {
  it('sends MSS − 12 bytes of data per segment, and no packet exceeds the MTU', () => {
    const { drill } = tsHandshake();
    drill.at(200).user.send(5 * MSS);
    const sent = drill.sentLog.slice(-5);
    expect(sent.map(({ segment }) => segment.payload.length)).toEqual([1448, 1448, 1448, 1448, 1448]);
    for (const { segment } of sent) expect(IPV4_HEADER + tcpSegmentLength(segment)).toBe(MTU);
  });

  it('for any MSS the peer announces, with or without timestamps: data plus options fit in it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 1460 }), fc.boolean(), (peerMss, withTimestamps) => {
        const drill = new Drill('passive').user
          .open()
          .peerSends({ flags: 'S', seq: 0, options: { mss: peerMss }, ...(withTimestamps ? { ts: peerTs(0, 0) } : {}) });
        const echo = drill.takeSent().segment.options.timestamps?.value ?? 0;
        drill
          .at(100)
          .peerSends({ flags: 'A', seq: 1, ack: 1, ...(withTimestamps ? { ts: peerTs(100, echo) } : {}) })
          .at(200)
          .user.send(4 * peerMss);
        const dataSegments = drill.sentLog.filter(({ segment }) => segment.payload.length > 0);
        const expectedLength = peerMss - (withTimestamps ? TIMESTAMPS_SPACE : 0);
        expect(dataSegments.length).toBeGreaterThan(1);
        expect(dataSegments[0]!.segment.payload.length).toBe(expectedLength);
        for (const { segment } of dataSegments) {
          // RFC 6691: the MSS counts data only, so options come out of it.
          expect(tcpSegmentLength(segment) - TCP_HEADER_LENGTH).toBeLessThanOrEqual(peerMss);
          expect(IPV4_HEADER + tcpSegmentLength(segment)).toBeLessThanOrEqual(MTU);
        }
      }),
      { numRuns: 100 },
    );
  });
});

describe('RTT samples from echoes (RFC 7323 §4)', () => {
  it('measures the handshake, then each ACK of new data by its echo (RFC 6298 §2.3)', () => {
    const { drill } = tsHandshake();
    // The handshake's ACK echoed the SYN,ACK after 100 ms: SRTT 100, RTTVAR 50, RTO 300.
    expect(drill.connection.smoothedRtt).toBe(100);
    expect(drill.connection.retransmissionTimeout).toBe(300);
    drill.at(200).user.send(500);
    const sentTs = ourTsVal(drill);
    drill.at(260).peerSends({ flags: 'A', seq: 1, ack: 501, ts: peerTs(260, sentTs) });
    // R = 60: RTTVAR = ¾·50 + ¼·40 = 47.5, SRTT = ⅞·100 + ⅛·60 = 95, RTO = 95 + 4·47.5.
    expect(drill.connection.smoothedRtt).toBe(95);
    expect(drill.connection.retransmissionTimeout).toBe(285);
  });

  it('takes no sample from an ACK that acknowledges no new data', () => {
    const { drill } = tsHandshake();
    drill.at(200).user.send(500);
    const sentTs = ourTsVal(drill);
    drill.at(230).peerSends({ flags: 'A', seq: 1, ack: 1, ts: peerTs(230, sentTs) });
    expect(drill.connection.smoothedRtt).toBe(100);
  });

  it('measures a retransmitted segment by the echo of the copy that arrived, which Karn’s rule alone could not', () => {
    const { drill } = tsHandshake();
    const rto = drill.connection.retransmissionTimeout;
    drill.at(200).user.send(500);
    ourTsVal(drill);
    drill.at(200 + rto);
    const resentTs = ourTsVal(drill);
    expect(drill.connection.retransmissionTimeout).toBe(2 * rto);
    drill.at(200 + rto + 60).peerSends({ flags: 'A', seq: 1, ack: 501, ts: peerTs(560, resentTs) });
    expect(drill.connection.smoothedRtt).toBe(95);
    expect(drill.connection.retransmissionTimeout).toBe(285);
  });

  it('takes no sample from an echo of the first copy once the segment was resent: it may measure the timeout', () => {
    const { drill } = tsHandshake();
    const rto = drill.connection.retransmissionTimeout;
    drill.at(200).user.send(500);
    const firstTs = ourTsVal(drill);
    drill.at(200 + rto);
    ourTsVal(drill);
    drill.at(200 + rto + 60).peerSends({ flags: 'A', seq: 1, ack: 501, ts: peerTs(560, firstTs) });
    expect(drill.connection.smoothedRtt).toBe(100);
    expect(drill.connection.flightSize).toBe(0);
  });
});
