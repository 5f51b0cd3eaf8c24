import { isRight } from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { A_IP, A_MAC, B_IP, B_MAC, configB, eventsOf, framesOf } from '../observe/testing/two-hosts.js';
import { ETHERNET_HEADER_LENGTH } from '../wire/ethernet.js';
import { encodeTcpFrame } from '../wire/frame.js';
import { IPV4_HEADER_LENGTH } from '../wire/ipv4.js';
import { decodeTcp } from '../wire/tcp.js';
import { TcpFlag, type TcpSegment } from '../wire/tcp-types.js';
import { createHost } from './host.js';

const FROM_A = { srcMac: A_MAC, dstMac: B_MAC, srcIp: A_IP, dstIp: B_IP, ttl: 64, identification: 1 };

const segmentFrom = (srcPort: number, flags: number, seq: number, ack = 0): Uint8Array => {
  const segment: TcpSegment = { srcPort, dstPort: 80, seq, ack, flags, window: 65_535, urgent: 0, options: {}, payload: new Uint8Array(0) };
  return encodeTcpFrame(FROM_A, segment);
};

const tcpOf = (frame: Uint8Array): TcpSegment => {
  const decoded = decodeTcp(frame.subarray(ETHERNET_HEADER_LENGTH + IPV4_HEADER_LENGTH), B_IP, A_IP);
  if (!isRight(decoded)) throw new Error('not a TCP segment');
  return decoded.right;
};

// RFC 4987: a SYN flood must not cost a listener unbounded memory.
describe('a listener under a SYN flood', () => {
  it('keeps at most maxHalfOpen half-open connections, forgetting the oldest for each SYN beyond them (RFC 4987 §3.4)', () => {
    const host = createHost(configB({ traceSegments: false, maxHalfOpen: 4 }));
    const listener = host.listen(80, 0);
    const ports = Array.from({ length: 10 }, (_, i) => 1000 + i);
    // One SYN a burst, each answered before the next arrives.
    const synAcks = new Map<number, TcpSegment>();
    for (const port of ports) {
      host.receiveFrame(segmentFrom(port, TcpFlag.SYN, 5000), 1);
      for (const frame of framesOf(host)) synAcks.set(tcpOf(frame).dstPort, tcpOf(frame));
    }
    expect([...synAcks.keys()]).toEqual(ports);
    expect(host.stats.dropped.get('tcp: oldest half-open connection forgotten (too many, RFC 4987 §3.4)')).toBe(6);

    // The handshake of a forgotten one finds no connection: a reset, as for any stray ACK.
    host.receiveFrame(segmentFrom(1000, TcpFlag.ACK, 5001, synAcks.get(1000)!.seq + 1), 2);
    expect(framesOf(host).map((frame) => tcpOf(frame).flags)).toEqual([TcpFlag.RST]);
    // One of the last four completes and is accepted.
    host.receiveFrame(segmentFrom(1009, TcpFlag.ACK, 5001, synAcks.get(1009)!.seq + 1), 3);
    expect(eventsOf(host).filter((event) => event.type === 'accepted')).toMatchObject([{ listener, remotePort: 1009 }]);
  });

  it('counts only half-open connections: established ones do not take a place', () => {
    const host = createHost(configB({ traceSegments: false, maxHalfOpen: 2 }));
    host.listen(80, 0);
    for (const port of [2000, 2001, 2002, 2003]) {
      host.receiveFrame(segmentFrom(port, TcpFlag.SYN, 7000), 1);
      const synAck = tcpOf(framesOf(host)[0]!);
      host.receiveFrame(segmentFrom(port, TcpFlag.ACK, 7001, synAck.seq + 1), 2);
    }
    expect(eventsOf(host).filter((event) => event.type === 'accepted').map((event) => event.type === 'accepted' && event.remotePort)).toEqual([
      2000, 2001, 2002, 2003,
    ]);
    expect(host.stats.dropped.has('tcp: oldest half-open connection forgotten (too many, RFC 4987 §3.4)')).toBe(false);
  });
});
