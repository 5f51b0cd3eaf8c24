import { describe, expect, it } from 'vitest';
import { Drill, MSS } from './testing/drill.js';

/** An active open whose SYN,ACK arrives `rtt` ms after the SYN; the SYN is lost `synLosses` times first. */
const activeOpen = (rtt: number, synLosses = 0) => {
  const drill = new Drill('active').user.open().expectSent({ flags: 'S', seq: 0 });
  for (let lost = 0; lost < synLosses; lost++) {
    drill.runUntilSent(drill.now + 60_000);
    drill.expectSent({ flags: 'S', seq: 0 });
  }
  drill
    .at(drill.now + rtt)
    .peerSends({ flags: 'SA', seq: 0, ack: 1, options: { mss: MSS } })
    .expectSent({ flags: 'A', seq: 1, ack: 1 })
    .expectState('ESTABLISHED');
  return drill;
};

/** When the first data segment, sent at once and never acknowledged, is sent again. */
const firstRetransmissionAfter = (drill: Drill): number => {
  const sentAt = drill.now;
  drill.user.send(100).expectSent({ flags: 'A', seq: 1, len: 100 });
  return drill.runUntilSent(sentAt + 120_000) - sentAt;
};

// RFC 6298 §2.2: the first RTT measurement sets the RTO; an active open's first is its SYN's round trip.
describe("an active open's SYN round trip (RFC 6298)", () => {
  it('is the first RTT sample: data lost right after the handshake is resent at the measured RTO, not the initial 1 s', () => {
    const drill = activeOpen(150);
    // SRTT 150, RTTVAR 75: RTO = 150 + 4 × 75 = 450 ms.
    expect(firstRetransmissionAfter(drill)).toBe(450);
  });

  it('gives no sample when the SYN was sent again (Karn, §3), and the data starts with an RTO of 3 s (§5.7)', () => {
    const drill = activeOpen(150, 1);
    expect(firstRetransmissionAfter(drill)).toBe(3000);
  });

  it('starts the data of a passive open with 3 s too when its SYN,ACK timed out (§5.7)', () => {
    const drill = new Drill('passive').user
      .open()
      .peerSends({ flags: 'S', seq: 0, options: { mss: MSS } })
      .expectSent({ flags: 'SA', seq: 0, ack: 1 });
    drill.runUntilSent(60_000);
    drill.expectSent({ flags: 'SA', seq: 0, ack: 1 });
    drill.at(drill.now + 100).peerSends({ flags: 'A', seq: 1, ack: 1 }).expectState('ESTABLISHED');
    expect(firstRetransmissionAfter(drill)).toBe(3000);
  });

  it("ends the SYN's timeouts: the data's retransmissions are counted afresh, to the full limit", () => {
    const drill = new Drill('active', { maxSynRetransmissions: 3, maxRetransmissions: 3 }).user.open();
    drill.expectSent({ flags: 'S', seq: 0 });
    for (let lost = 0; lost < 2; lost++) drill.runUntilSent(drill.now + 60_000) && drill.expectSent({ flags: 'S', seq: 0 });
    drill
      .at(drill.now + 100)
      .peerSends({ flags: 'SA', seq: 0, ack: 1, options: { mss: MSS } })
      .expectSent({ flags: 'A', seq: 1, ack: 1 });
    drill.user.send(100).expectSent({ flags: 'A', seq: 1, len: 100 });
    // Three retransmissions of the data, as maxRetransmissions allows, before the user timeout.
    drill.at(drill.now + 600_000);
    const resent = drill.takeAllSent().filter((sent) => sent.segment.payload.length === 100);
    expect(resent).toHaveLength(3);
    drill.expectState('CLOSED');
  });
});
