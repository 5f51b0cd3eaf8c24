import { describe, expect, it } from 'vitest';
import { TcpFlag } from '../wire/tcp-types.js';
import { seqDiff } from './seq.js';
import { Drill, MSS, OUR_ISS } from './testing/drill.js';
import { MAX_URGENT_POINTER, urgentEndOffset, urgentPointerFor } from './urgent.js';

describe('urgent pointer arithmetic (RFC 9293 §3.8.5)', () => {
  it('points from SEG.SEQ to the octet following the urgent data, at most 65535, and 0 from SND.UP on (MUST-62)', () => {
    expect(urgentPointerFor(1000, 900)).toBe(100);
    expect(urgentPointerFor(1000, 999)).toBe(1);
    expect(urgentPointerFor(1000, 1000)).toBe(0);
    expect(urgentPointerFor(1000, 1001)).toBe(0);
    expect(urgentPointerFor(200_000, 100)).toBe(MAX_URGENT_POINTER);
    // Across the wrap of sequence numbers.
    expect(urgentPointerFor(10, 0xffff_fff0)).toBe(26);
  });

  it('measures where the urgent data ends as a stream offset, from RCV.NXT and the bytes delivered', () => {
    expect(urgentEndOffset(5000, 50, 5000, 4000)).toBe(4050);
    // A segment that starts before RCV.NXT (partly a duplicate).
    expect(urgentEndOffset(4900, 150, 5000, 4000)).toBe(4050);
    // Offsets go on past 2^32 where sequence numbers wrap.
    expect(urgentEndOffset(0xffff_ff00, 0x200, 0xffff_ff00, 2 ** 33)).toBe(2 ** 33 + 0x200);
  });
});

describe('urgent data received (§3.10.7.4, sixth step)', () => {
  it('reports each advance of the pointer once, with the stream offset where the urgent data ends', () => {
    const drill = new Drill('passive').passiveHandshake();
    drill
      .at(200)
      // Stream offset 0 is sequence number 1 (relative): the pointer 1 + 50 ends the urgent data at offset 50.
      .peerSends({ flags: 'AU', seq: 1, ack: 1, len: 100, up: 50 })
      .expectEvents(['urgent:50', 'data:100'])
      .peerSends({ flags: 'AU', seq: 101, ack: 1, len: 100, up: 150 })
      .expectEvents(['urgent:250', 'data:100'])
      // The same pointer from the next segment of the same urgent data is no news (MUST-31).
      .peerSends({ flags: 'AU', seq: 201, ack: 1, len: 10, up: 50 })
      .expectEvents(['data:10'])
      .expectState('ESTABLISHED');
  });

  it('ignores an old URG segment sent again: no event, and RCV.UP does not move back', () => {
    const drill = new Drill('passive').passiveHandshake();
    drill
      .at(200)
      // The urgent data ends at offset 150, beyond what this segment brings.
      .peerSends({ flags: 'AU', seq: 1, ack: 1, len: 100, up: 150 })
      .expectEvents(['urgent:150', 'data:100'])
      .at(300)
      .takeAllSent();
    drill
      // Wholly old: it fails the acceptability test (first step) and draws an ACK, nothing else.
      .peerSends({ flags: 'AU', seq: 1, ack: 1, len: 100, up: 150 })
      .expectSent({ flags: 'A', seq: 1, ack: 101 })
      .expectEvents([])
      // Partly old, so acceptable: its new text is taken; its older pointer (offset 100) changes nothing.
      .peerSends({ flags: 'AU', seq: 51, ack: 1, len: 60, up: 50 })
      .expectEvents(['data:10'])
      // The pointer of RCV.UP again: no news. Had the older pointer moved RCV.UP back, this would be an advance.
      .peerSends({ flags: 'AU', seq: 111, ack: 1, len: 10, up: 40 })
      .expectEvents(['data:10']);
  });

  it('does not act on the pointer of a segment outside the window', () => {
    const drill = new Drill('passive').passiveHandshake();
    drill
      .at(200)
      .peerSends({ flags: 'AU', seq: 1 + 70_000, ack: 1, len: 100, up: 10 })
      .expectSent({ flags: 'A', seq: 1, ack: 1 })
      .expectEvents([])
      .peerSends({ flags: 'AU', seq: 1, ack: 1, len: 100, up: 20 })
      .expectEvents(['urgent:20', 'data:100']);
  });

  it('follows a pointer that first says 65535, until the urgent data ends (RFC 6093 §4)', () => {
    const drill = new Drill('passive').passiveHandshake();
    drill
      .at(200)
      .peerSends({ flags: 'AU', seq: 1, ack: 1, len: 1000, up: 65_535 })
      .expectEvents(['urgent:65535', 'data:1000'])
      .peerSends({ flags: 'AU', seq: 1001, ack: 1, len: 1000, up: 65_535 })
      .expectEvents(['urgent:66535', 'data:1000'])
      .peerSends({ flags: 'AU', seq: 2001, ack: 1, len: 1000, up: 65_000 })
      .expectEvents(['urgent:67000', 'data:1000']);
  });

  it('takes URG in FIN-WAIT-2 and ignores it in CLOSE-WAIT, after the peer’s FIN', () => {
    const ours = new Drill('passive').passiveHandshake();
    ours
      .at(200)
      .user.close()
      .expectSent({ flags: 'FA', seq: 1, ack: 1 })
      .peerSends({ flags: 'A', seq: 1, ack: 2 })
      .expectState('FIN-WAIT-2')
      .peerSends({ flags: 'AU', seq: 1, ack: 2, len: 10, up: 5 })
      .expectEvents(['urgent:5', 'data:10']);

    const theirs = new Drill('passive').passiveHandshake();
    theirs
      .at(200)
      .peerSends({ flags: 'FA', seq: 1, ack: 1 })
      .expectState('CLOSE-WAIT')
      .expectEvents(['peer-closed'])
      .takeAllSent();
    theirs
      // An acceptable segment (at RCV.NXT, after the FIN) whose URG must be ignored.
      .peerSends({ flags: 'AU', seq: 2, ack: 1, up: 10 })
      .expectEvents([])
      .expectState('CLOSE-WAIT');
  });

  it('takes the pointer of the SYN,ACK that opens an active connection', () => {
    const drill = new Drill('active');
    drill.user.open().expectSent({ flags: 'S', seq: 0 });
    drill
      .at(100)
      // The pointer counts from the SYN's own sequence number: data starts one after it.
      .peerSends({ flags: 'SAU', seq: 0, ack: 1, len: 20, up: 11, options: { mss: MSS } })
      .expectState('ESTABLISHED')
      .expectEvents(['connected', 'urgent:10', 'data:20']);
  });
});

describe('urgent data sent (§3.10.2, §3.8.5)', () => {
  const relative = (seq: number): number => seqDiff(seq, OUR_ISS);

  it('marks every segment that starts before SND.UP, retransmissions too, and none once SND.UNA passes it', () => {
    const drill = new Drill('passive').passiveHandshake();
    const rto = drill.connection.retransmissionTimeout;
    drill
      .at(200)
      .user.send(1000)
      .expectSent({ flags: 'A', seq: 1, len: 1000, up: 0 })
      // 500 urgent bytes after them: SND.UP is relative sequence number 1501. Nagle (§3.7.4)
      // holds them while the first segment is unacknowledged.
      .user.sendUrgent(500)
      .expectNothingSent()
      // The first segment was lost: the timeout sends a full segment from SND.UNA, pointing at SND.UP.
      .at(200 + rto)
      .expectSent({ flags: 'AU', seq: 1, len: MSS, up: 1500 })
      .expectNothingSent()
      .at(200 + rto + 50)
      .peerSends({ flags: 'A', seq: 1, ack: 1 + MSS })
      .expectSent({ flags: 'AU', seq: 1 + MSS, len: 1500 - MSS, up: 1500 - MSS })
      .expectNothingSent()
      .at(200 + rto + 100)
      .peerSends({ flags: 'A', seq: 1, ack: 1501, win: 0 })
      // Urgent mode is over: even a window probe, one below SND.UNA and so before the old SND.UP, has no URG.
      .user.send(100)
      .expectNothingSent();
    drill.runUntilSent(drill.now + 10 * rto);
    drill
      .expectSent({ flags: 'A', seq: 1500, len: 0, up: 0 })
      .peerSends({ flags: 'A', seq: 1, ack: 1501 })
      .expectSent({ flags: 'A', seq: 1501, len: 100, up: 0 })
      .peerSends({ flags: 'A', seq: 1, ack: 1601, len: 10 })
      .at(drill.now + 1000)
      .expectSent({ flags: 'A', seq: 1601, ack: 11, len: 0, up: 0 });
  });

  it('tells the peer of urgent data that waits for its window, in the ACKs it sends meanwhile', () => {
    const drill = new Drill('passive').passiveHandshake();
    drill
      .at(200)
      .peerSends({ flags: 'A', seq: 1, ack: 1, win: 0 })
      .user.sendUrgent(100)
      .expectNothingSent()
      .peerSends({ flags: 'AP', seq: 1, ack: 1, len: 10, win: 0 })
      .expectSent({ flags: 'AU', seq: 1, ack: 11, len: 0, up: 100 })
      .peerSends({ flags: 'A', seq: 11, ack: 1, win: 1000 })
      .expectSent({ flags: 'AU', seq: 1, len: 100, up: 100 });
  });

  it('sends 65535 while SND.UP is further ahead, then the exact pointer (RFC 6093 §4)', () => {
    const total = 100_000;
    const drill = new Drill('passive').passiveHandshake();
    drill.at(200).user.sendUrgent(total);
    const pointers: Array<{ seq: number; up: number; urg: boolean }> = [];
    for (let round = 0; round < 100 && drill.connection.flightSize > 0; round++) {
      const sent = drill.takeAllSent();
      for (const { segment } of sent) {
        pointers.push({ seq: relative(segment.seq), up: segment.urgent, urg: (segment.flags & TcpFlag.URG) !== 0 });
      }
      const highest = Math.max(...sent.map(({ segment }) => relative(segment.seq) + segment.payload.length));
      drill.at(drill.now + 10).peerSends({ flags: 'A', seq: 1, ack: highest });
    }
    expect(drill.connection.flightSize).toBe(0);
    expect(drill.connection.sendQueueLength).toBe(0);
    expect(pointers.length).toBeGreaterThan(total / MSS);
    for (const { seq, up, urg } of pointers) {
      expect({ seq, urg, up }).toEqual({ seq, urg: true, up: Math.min(1 + total - seq, 65_535) });
    }
    expect(pointers[0]!.up).toBe(65_535);
    expect(pointers.at(-1)!.up).toBe(1 + total - pointers.at(-1)!.seq);
    drill.user.send(10).expectSent({ flags: 'A', seq: 1 + total, len: 10, up: 0 });
  });

  it('moves SND.UP with each urgent send, also while earlier urgent data is unacknowledged', () => {
    const drill = new Drill('passive', { noDelay: true }).passiveHandshake();
    drill
      .at(200)
      .user.sendUrgent(10)
      .expectSent({ flags: 'AU', seq: 1, len: 10, up: 10 })
      .user.sendUrgent(20)
      .expectSent({ flags: 'AU', seq: 11, len: 20, up: 20 })
      .peerSends({ flags: 'A', seq: 1, ack: 11 })
      .user.send(5)
      .expectSent({ flags: 'A', seq: 31, len: 5, up: 0 })
      .peerSends({ flags: 'A', seq: 1, ack: 36 });
    expect(drill.connection.flightSize).toBe(0);
  });
});
