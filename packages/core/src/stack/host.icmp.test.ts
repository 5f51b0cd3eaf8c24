import { describe, expect, it } from 'vitest';
import { encodeIcmpFrame, type FrameAddressing } from '../wire/frame.js';
import { classifyIcmpError, describeIcmpError, nextHopMtu, quotedTcpSegment } from '../wire/icmp.js';
import { createHost } from './host.js';
import { A_IP, A_MAC, B_IP, B_MAC, configA, eventsOf } from '../observe/testing/two-hosts.js';

const ROUTER_IP = 0xc61200fe;
const toA: FrameAddressing = { srcMac: B_MAC, dstMac: A_MAC, srcIp: ROUTER_IP, dstIp: A_IP, ttl: 64, identification: 7 };

/** Host A opening a connection to B:80, its SYN sent (B is resolved, so the SYN leaves at once). */
const opening = () => {
  const a = createHost(configA({ traceSegments: false, tcp: { maxSynRetransmissions: 1 } }));
  a.receiveFrame(arpReplyFromB(), 0);
  const socket = a.connect(B_IP, 80, 0);
  const syn = a.pollFrame();
  if (syn === undefined) throw new Error('no SYN');
  eventsOf(a);
  return { a, socket, syn: new Uint8Array(syn) };
};

const arpReplyFromB = (): Uint8Array => {
  const frame = new Uint8Array(42);
  frame.set([0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02, 0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 2]);
  frame.set([0x02, 0, 0, 0, 0, 0x02, 198, 18, 0, 2, 0x02, 0, 0, 0, 0, 0x01, 198, 18, 0, 1], 22);
  return frame;
};

/** An ICMP error quoting `frame`'s IPv4 header and its first 8 bytes of data, as RFC 792 has it. */
const icmpErrorAbout = (frame: Uint8Array, type: number, code: number, edit?: (quote: Uint8Array) => void, mtu = 0): Uint8Array => {
  const quote = frame.slice(14, 14 + 20 + 8);
  edit?.(quote);
  const body = new Uint8Array(4 + quote.length);
  body[2] = mtu >> 8;
  body[3] = mtu & 0xff;
  body.set(quote, 4);
  return encodeIcmpFrame(toA, { kind: 'other', type, code, body });
};

describe('Host: ICMP errors for TCP (RFC 9293 §3.9.2.2, MUST-48)', () => {
  it('refuses the open on a port unreachable quoting its SYN, and says where it came from', () => {
    const { a, socket, syn } = opening();
    a.receiveFrame(icmpErrorAbout(syn, 3, 3), 5);
    expect(eventsOf(a).filter((event) => event.type !== 'state')).toEqual([
      { type: 'icmp-error', socket, from: ROUTER_IP, icmpType: 3, code: 3 },
      { type: 'error', socket, error: 'refused' },
      { type: 'closed', socket },
    ]);
    expect(a.socketState(socket)).toBeUndefined();
  });

  it('goes on opening after a host unreachable, and names it when the open times out', () => {
    const { a, socket, syn } = opening();
    a.receiveFrame(icmpErrorAbout(syn, 3, 1), 5);
    expect(eventsOf(a)).toEqual([{ type: 'icmp-error', socket, from: ROUTER_IP, icmpType: 3, code: 1 }]);
    expect(a.socketState(socket)).toBe('SYN-SENT');
    for (let now = 100; now < 60_000 && a.socketState(socket) !== undefined; now += 100) a.advanceTime(now);
    expect(eventsOf(a).filter((event) => event.type === 'error')).toEqual([{ type: 'error', socket, error: 'path-unreachable' }]);
  });

  it('drops, with the reason, errors that match no connection or no segment in flight, and Source Quench', () => {
    const { a, socket, syn } = opening();
    a.receiveFrame(icmpErrorAbout(syn, 3, 3, (quote) => (quote[23] = quote[23]! ^ 1)), 5); // another remote port
    a.receiveFrame(icmpErrorAbout(syn, 3, 3, (quote) => (quote[27] = quote[27]! + 1)), 5); // a sequence number past the SYN
    a.receiveFrame(icmpErrorAbout(syn, 3, 3, (quote) => (quote[12] = 10)), 5); // a source that is not us
    a.receiveFrame(icmpErrorAbout(syn, 3, 3, (quote) => (quote[9] = 17)), 5); // UDP
    a.receiveFrame(icmpErrorAbout(syn, 4, 0), 5);
    a.receiveFrame(icmpErrorAbout(syn, 3, 4, undefined, 1280), 5); // "too big" for a SYN of 60 bytes
    expect(Object.fromEntries([...a.stats.dropped].filter(([reason]) => reason.startsWith('icmp')))).toEqual({
      'icmp: fragmentation needed for a packet that fits': 1,
      'icmp: error for no connection': 1,
      'icmp: error quoting no segment in flight (RFC 5927)': 1,
      'icmp: error quoting no TCP segment of ours': 2,
      'icmp: source quench (ignored, RFC 6633)': 1,
    });
    expect(eventsOf(a)).toEqual([]);
    expect(a.socketState(socket)).toBe('SYN-SENT');
  });
});

describe('ICMP error codecs', () => {
  it('classifies as RFC 9293 §3.9.2.2 does, fragmentation needed as path MTU discovery has it, the codes it leaves out as soft', () => {
    expect([0, 1, 2, 3, 4, 5, 13].map((code) => classifyIcmpError(3, code))).toEqual(['soft', 'soft', 'hard', 'hard', 'packet-too-big', 'soft', 'soft']);
    expect([classifyIcmpError(11, 0), classifyIcmpError(12, 0), classifyIcmpError(4, 0)]).toEqual(['soft', 'soft', 'source-quench']);
    expect([classifyIcmpError(0, 0), classifyIcmpError(8, 0), classifyIcmpError(5, 1)]).toEqual([undefined, undefined, undefined]);
    expect(describeIcmpError(3, 3)).toBe('port unreachable');
    // RFC 1191 §4: the next hop's MTU, or where a router left it zero, the plateau below what it dropped.
    expect(nextHopMtu(Uint8Array.of(0, 0, 0x05, 0x00), 1500)).toBe(1280);
    expect(nextHopMtu(Uint8Array.of(0, 0, 0, 0), 1500)).toBe(1492);
    expect(nextHopMtu(Uint8Array.of(0, 0, 0, 0), 1006)).toBe(508);
    expect(describeIcmpError(11, 0)).toBe('time to live exceeded in transit');
  });

  it('reads no quote from a body too short, a later fragment or another protocol', () => {
    const { syn } = opening();
    const body = new Uint8Array(4 + 28);
    body.set(syn.subarray(14, 42), 4);
    expect(quotedTcpSegment(body)).toMatchObject({ src: A_IP, dst: B_IP, dstPort: 80 });
    expect(quotedTcpSegment(body.subarray(0, 4 + 27))).toBeUndefined();
    const later = body.slice();
    later[4 + 7] = 1; // fragment offset 8 bytes
    expect(quotedTcpSegment(later)).toBeUndefined();
    const udp = body.slice();
    udp[4 + 9] = 17;
    expect(quotedTcpSegment(udp)).toBeUndefined();
  });
});
