import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TcpFlag } from '../wire/tcp-types.js';
import { seqDiff } from './seq.js';
import { Drill, MSS, OUR_ISS } from './testing/drill.js';

// RFC 9293 §3.9.2.2: ICMP errors, as the host hands them to the connection whose segment they quote.
describe('ICMP errors (RFC 9293 §3.9.2.2)', () => {
  it('ends an active open on a hard error quoting its SYN, as a reset would (SHLD-26)', () => {
    const drill = new Drill('active').user.open().expectSent({ flags: 'S', seq: 0 });
    drill.at(10).icmpError('hard', 0).expectState('CLOSED').expectNothingSent();
    expect(drill.takeEvents()).toEqual(['error:refused', 'closed']);
  });

  it('returns a passive open to LISTEN on a hard error quoting its SYN,ACK, as a reset would', () => {
    const drill = new Drill('passive').user
      .open()
      .peerSends({ flags: 'S', seq: 0, options: { mss: MSS } })
      .expectSent({ flags: 'SA', seq: 0, ack: 1 });
    drill.at(10).icmpError('hard', 0).expectState('LISTEN').expectNothingSent();
  });

  it('ignores an error that quotes no sequence number in flight, as a blind attacker\'s would (RFC 5927 §4.1)', () => {
    const drill = new Drill('active').user.open().expectSent({ flags: 'S', seq: 0 });
    drill.icmpError('hard', 1, false).icmpError('hard', -1, false).icmpError('hard', 0x4000_0000, false).expectState('SYN-SENT');
    expect(drill.connection.stats.icmpErrorsIgnored).toBe(3);
    expect(drill.takeEvents()).toEqual([]);
  });

  it('keeps opening through soft errors (MUST-56), and gives the path as the reason when the open times out (SHLD-25)', () => {
    const drill = new Drill('active', { maxSynRetransmissions: 2 }).user.open().expectSent({ flags: 'S', seq: 0 });
    drill.at(10).icmpError('soft', 0).expectState('SYN-SENT').expectNothingSent();
    // The SYN goes again at each timeout, as without the error; the open fails when they run out.
    drill.at(60_000);
    const resent = drill.takeAllSent();
    expect(resent.length).toBeGreaterThan(0);
    for (const sent of resent) expect(sent.segment.flags).toBe(TcpFlag.SYN);
    drill.expectState('CLOSED');
    expect(drill.takeEvents()).toEqual(['error:path-unreachable', 'closed']);
  });

  it('never ends a synchronized connection, whatever the error says and quotes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('soft' as const, 'hard' as const), fc.integer({ min: -2000, max: 2000 })), { maxLength: 20 }),
        (errors) => {
          const drill = new Drill('passive').passiveHandshake();
          drill.at(200).user.send(1000).takeAllSent();
          for (const [severity, seq] of errors) {
            // Taken exactly when it quotes a byte in flight: SND.UNA (1) up to SND.MAX (1001).
            drill.icmpError(severity, seq, seq >= 1 && seq < 1001);
          }
          drill.expectState('ESTABLISHED').expectNothingSent();
          expect(drill.takeEvents()).toEqual([]);
        },
      ),
    );
  });

  it('takes a hard error on a synchronized connection as soft (RFC 5461 §4, RFC 5927 §4.3), and forgets it once the peer acknowledges', () => {
    const drill = new Drill('passive', { maxRetransmissions: 2 }).passiveHandshake();
    drill.at(200).user.send(500).expectSent({ flags: 'A', seq: 1, len: 500 });
    drill.at(210).icmpError('hard', 1).expectState('ESTABLISHED').expectNothingSent();
    expect(drill.connection.stats.icmpErrors).toBe(1);
    drill.at(250).peerSends({ flags: 'A', seq: 1, ack: 501 }).expectNothingSent();
    // Later data that is never acknowledged: a plain timeout, the path has worked since.
    drill.at(300).user.send(100).expectSent({ flags: 'A', seq: 501, len: 100 });
    drill.at(120_000).takeAllSent();
    drill.expectState('CLOSED');
    expect(drill.takeEvents()).toEqual(['error:timed-out', 'closed']);
  });

  describe('a packet too big for the path (RFC 1191)', () => {
    it('shrinks the segments to the MTU the router names and sends what was in flight again at once, windows unchanged', () => {
      const drill = new Drill('passive').passiveHandshake();
      drill.at(200).user.send(3 * MSS);
      expect(drill.takeAllSent().map((sent) => sent.segment.payload.length)).toEqual([MSS, MSS, MSS]);
      const cwnd = drill.connection.congestionWindow;
      // 1280 bytes on the next hop: 1240 of data behind 40 of headers (no timestamps on this connection).
      drill.at(210).packetTooBig(1, 1280);
      expect(drill.takeAllSent().map((sent) => [seqDiff(sent.segment.seq, OUR_ISS), sent.segment.payload.length])).toEqual([
        [1, 1240],
        [1241, 1240],
        [2481, 1240],
        [3721, 660],
      ]);
      expect(drill.connection.pathMtu).toBe(1280);
      expect(drill.connection.congestionWindow).toBe(cwnd);
      expect(drill.connection.stats.pathMtuReductions).toBe(1);
      // New data keeps to the new size (its small tail waits for Nagle, §3.7.4).
      drill.at(220).peerSends({ flags: 'A', seq: 1, ack: 1 + 3 * MSS }).user.send(2000);
      expect(drill.takeAllSent().map((sent) => sent.segment.payload.length)).toEqual([1240]);
    });

    it('ignores an MTU no smaller than the one in use, and never goes below 576', () => {
      const drill = new Drill('passive').passiveHandshake();
      drill.at(200).user.send(MSS).takeAllSent();
      drill.packetTooBig(1, 1500).expectNothingSent();
      expect(drill.connection.pathMtu).toBe(1500);
      drill.packetTooBig(1, 68);
      expect(drill.connection.pathMtu).toBe(576);
      expect(drill.takeAllSent().map((sent) => sent.segment.payload.length)).toEqual([536, 536, 388]);
    });

    it('tries the full size again ten minutes later (RFC 1191 §6.3), and shrinks again if the hop reports again', () => {
      const drill = new Drill('passive').passiveHandshake();
      drill.at(200).user.send(MSS).takeAllSent();
      drill.at(210).packetTooBig(1, 1280).takeAllSent();
      drill.at(220).peerSends({ flags: 'A', seq: 1, ack: 1 + MSS });
      // Not before the ten minutes are up.
      drill.at(210 + 9 * 60_000).user.send(2 * 1240);
      expect(drill.takeAllSent().map((sent) => sent.segment.payload.length)).toEqual([1240, 1240]);
      const acked = 1 + MSS + 2 * 1240;
      drill.at(210 + 9 * 60_000 + 5).peerSends({ flags: 'A', seq: 1, ack: acked });
      drill.at(210 + 10 * 60_000);
      expect(drill.connection.pathMtu).toBe(1500);
      expect(drill.connection.stats.pathMtuRaises).toBe(1);
      drill.user.send(2 * MSS);
      expect(drill.takeAllSent().map((sent) => sent.segment.payload.length)).toEqual([MSS, MSS]);
      // The hop is still there and says so: back to its size at once.
      drill.at(drill.now + 1).packetTooBig(acked, 1280);
      expect(drill.connection.pathMtu).toBe(1280);
      expect(drill.connection.stats.pathMtuReductions).toBe(2);
    });

    it('does not end an open over one: a SYN is below any MTU, so the report is taken as soft', () => {
      const drill = new Drill('active').user.open().expectSent({ flags: 'S', seq: 0 });
      drill.at(5).packetTooBig(0, 1280).expectState('SYN-SENT').expectNothingSent();
      expect(drill.takeEvents()).toEqual([]);
    });
  });
});
