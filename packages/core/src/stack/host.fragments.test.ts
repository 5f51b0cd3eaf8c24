import { isLeft } from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { readEthernetDst } from '../wire/ethernet.js';
import { decodeIcmp } from '../wire/icmp.js';
import { IpProtocol, ipv4PayloadEnd, ipv4PayloadStart, readIpv4Dst, readIpv4Protocol } from '../wire/ipv4.js';
import { fragmentFrame } from '../wire/ipv4-fragment.js';
import { clientSyn } from '../wire/fixtures/segments.js';
import { type FrameAddressing, encodeIcmpFrame, encodeTcpFrame } from '../wire/frame.js';
import { createHost } from './host.js';
import type { HostConfig, HostEvent, NetworkHost } from './host-types.js';
import { A_IP, A_MAC, B_IP, B_MAC, configA, configB, framesOf } from '../observe/testing/two-hosts.js';

const fromA: FrameAddressing = { srcMac: A_MAC, dstMac: B_MAC, srcIp: A_IP, dstIp: B_IP, ttl: 64, identification: 0x1234 };

const hostB = (overrides: Partial<HostConfig> = {}) => createHost(configB({ traceSegments: false, tcp: { msl: 1000 }, ...overrides }));
const reassemblyDrops = (host: NetworkHost): string[] => [...host.stats.dropped.keys()].filter((k) => k.startsWith('ipv4.reassembly'));

const syn = clientSyn;

/** Where an ICMP Time Exceeded (type 11, code 1) goes, and what it quotes; fails on anything else. */
const timeExceededOf = (frame: Uint8Array) => {
  expect(readIpv4Protocol(frame, 14)).toBe(IpProtocol.ICMP);
  const icmp = decodeIcmp(frame.subarray(ipv4PayloadStart(frame, 14), ipv4PayloadEnd(frame, 14)));
  if (isLeft(icmp) || icmp.right.kind !== 'other') throw new Error('not an ICMP error');
  expect([icmp.right.type, icmp.right.code]).toEqual([11, 1]);
  expect(icmp.right.body.subarray(0, 4)).toEqual(new Uint8Array(4));
  return { dstMac: readEthernetDst(frame), dstIp: readIpv4Dst(frame, 14), quote: icmp.right.body.subarray(4) };
};

const echoRequest = (length: number) =>
  encodeIcmpFrame(fromA, {
    kind: 'echo-request',
    identifier: 7,
    sequence: 1,
    data: Uint8Array.from({ length }, (_, i) => i % 253),
  });

describe('Host: IPv4 fragments (RFC 791 §3.2, RFC 1122 §3.3.2)', () => {
  it('answers a SYN that came in fragments, in reverse order, exactly as the same SYN whole', () => {
    const whole = hostB();
    const pieces = hostB();
    whole.listen(80, 0);
    pieces.listen(80, 0);
    const frame = encodeTcpFrame(fromA, syn);
    const fragments = fragmentFrame(frame, 8);
    expect(fragments.length).toBe(5); // a 40-byte header with options, 8 bytes a fragment
    whole.receiveFrame(frame, 10);
    for (const fragment of [...fragments].reverse()) pieces.receiveFrame(fragment, 10);
    const answer = framesOf(whole);
    expect(answer).toHaveLength(1);
    expect(framesOf(pieces)).toEqual(answer);
    expect(pieces.stats.dropped).toEqual(whole.stats.dropped);
  });

  it('carries a connection whose every packet to the server is fragmented', () => {
    const a = createHost(configA({ traceSegments: false }));
    const b = hostB();
    b.listen(80, 0);
    const received: number[] = [];
    let fragments = 0;
    let now = 0;
    const run = (rounds: number) => {
      for (let i = 0; i < rounds; i++) {
        for (const f of framesOf(a)) {
          for (const fragment of fragmentFrame(f, 256)) {
            b.receiveFrame(fragment, now);
            fragments++;
          }
        }
        for (const f of framesOf(b)) a.receiveFrame(f, now);
        for (let e: HostEvent | undefined = b.pollEvent(); e; e = b.pollEvent()) {
          if (e.type !== 'data') continue;
          received.push(...e.data);
          b.consume(e.socket, e.data.length, now);
        }
        for (let e = a.pollEvent(); e; e = a.pollEvent());
        now += 1;
        a.advanceTime(now);
        b.advanceTime(now);
      }
    };
    const socket = a.connect(B_IP, 80, 0);
    run(20);
    expect(a.socketState(socket)).toBe('ESTABLISHED');
    const data = Uint8Array.from({ length: 50_000 }, (_, i) => (i * 13) % 256);
    let offset = 0;
    while (offset < data.length) {
      offset += a.send(socket, data.subarray(offset), now);
      run(5);
    }
    run(50);
    expect(Uint8Array.from(received)).toEqual(data);
    expect(fragments).toBeGreaterThan(data.length / 256);
    expect(reassemblyDrops(b)).toEqual([]);
  });

  it('answers an echo request that came in fragments, as the same request whole', () => {
    const whole = hostB();
    const pieces = hostB();
    const frame = echoRequest(1000);
    whole.receiveFrame(frame, 0);
    for (const fragment of fragmentFrame(frame, 400)) pieces.receiveFrame(fragment, 0);
    const reply = framesOf(whole);
    expect(reply).toHaveLength(1);
    expect(framesOf(pieces)).toEqual(reply);
    expect(pieces.stats.echoRepliesSent).toBe(1);
  });

  it('answers an echo request too large for one frame with its whole data back, in fragments (RFC 1122 §3.2.2.6)', () => {
    const b = hostB();
    const jumbo = hostB({ mtu: 9000 });
    const request = echoRequest(3000);
    for (const fragment of fragmentFrame(request, 1480)) b.receiveFrame(fragment, 0);
    jumbo.receiveFrame(request, 0);
    const [whole] = framesOf(jumbo);
    const fragments = framesOf(b);
    expect(fragments).toHaveLength(3);
    for (const fragment of fragments) expect(ipv4PayloadEnd(fragment, 14) - 14).toBeLessThanOrEqual(1500);
    // The reply a host on a jumbo link sends whole, cut at 1480 bytes as RFC 791 §3.2 cuts.
    expect(fragments).toEqual(fragmentFrame(whole!, 1480));
    expect(b.stats.echoRepliesSent).toBe(1);
    // A peer puts them together again: what arrives is a reply, which it takes and does not answer.
    const a = createHost(configA({ traceSegments: false }));
    for (const fragment of fragments) a.receiveFrame(fragment, 0);
    expect(reassemblyDrops(a)).toEqual([]);
    expect(a.stats.dropped.get('icmp: not an echo request')).toBe(1);
  });

  it('discards a datagram with a missing fragment 60 s after its first, through nextDeadline and advanceTime', () => {
    const b = hostB();
    const [first, , last] = fragmentFrame(echoRequest(1000), 400);
    b.receiveFrame(first!, 5_000);
    b.receiveFrame(last!, 6_000);
    expect(b.nextDeadline()).toBe(65_000);
    b.advanceTime(64_999);
    expect(b.stats.dropped.get('ipv4.reassembly: timeout')).toBeUndefined();
    b.advanceTime(65_000);
    expect(b.stats.dropped.get('ipv4.reassembly: timeout')).toBe(1);
    expect(b.nextDeadline()).toBeUndefined();
    // Fragment zero came, so its source is told (RFC 1122 §3.3.2): one Time Exceeded, code 1.
    const [report, ...more] = framesOf(b);
    expect(more).toEqual([]);
    expect(timeExceededOf(report!)).toEqual({ dstMac: A_MAC, dstIp: A_IP, quote: first!.subarray(14, 14 + 20 + 8) });
    expect(b.stats.timeExceededSent).toBe(1);
  });

  describe('sends no Time Exceeded where RFC 1122 §3.2.2 or §3.3.2 forbid one', () => {
    const expireWith = (fragments: Uint8Array[], prefixLength = 24): NetworkHost => {
      const b = hostB({ prefixLength });
      for (const fragment of fragments) b.receiveFrame(fragment, 0);
      b.advanceTime(60_000);
      expect(b.stats.dropped.get('ipv4.reassembly: timeout')).toBe(1);
      return b;
    };

    it('when fragment zero never came', () => {
      const [, second, last] = fragmentFrame(echoRequest(1000), 400);
      expect(framesOf(expireWith([second!, last!]))).toEqual([]);
    });

    it('when fragment zero came to the link broadcast address', () => {
      const [first] = fragmentFrame(echoRequest(1000), 400);
      const broadcast = new Uint8Array(first!);
      broadcast.fill(0xff, 0, 6);
      expect(framesOf(expireWith([broadcast]))).toEqual([]);
    });

    it('when the datagram is itself an ICMP error', () => {
      const unreachable = encodeIcmpFrame(fromA, { kind: 'other', type: 3, code: 3, body: new Uint8Array(1000) });
      const [first] = fragmentFrame(unreachable, 400);
      expect(framesOf(expireWith([first!]))).toEqual([]);
    });

    it('when the source names no single host (our subnet broadcast)', () => {
      const fromBroadcast = encodeIcmpFrame(
        { ...fromA, srcIp: 0xc61200ff },
        { kind: 'echo-request', identifier: 7, sequence: 1, data: new Uint8Array(1000) },
      );
      const [first] = fragmentFrame(fromBroadcast, 400);
      expect(framesOf(expireWith([first!]))).toEqual([]);
      // In a /16 the same address is an ordinary host, and is answered.
      expect(framesOf(expireWith([first!], 16))).toHaveLength(1);
    });
  });

  it('drops a datagram whose fragments overlap with different bytes, and names the reason', () => {
    const b = hostB();
    const fragments = fragmentFrame(echoRequest(1000), 400);
    const forged = new Uint8Array(fragments[1]!);
    forged[forged.length - 1] = forged[forged.length - 1]! ^ 0xff; // the payload's last byte, outside the header checksum
    b.receiveFrame(fragments[0]!, 0);
    b.receiveFrame(fragments[1]!, 0);
    b.receiveFrame(forged, 0);
    b.receiveFrame(fragments[2]!, 0);
    expect(b.stats.dropped.get('ipv4.reassembly: overlap')).toBe(1);
    expect(framesOf(b)).toEqual([]);
  });

  it('drops fragments addressed to another host without holding them', () => {
    const b = hostB();
    const other = encodeIcmpFrame({ ...fromA, dstIp: 0xc6120009 }, { kind: 'echo-request', identifier: 1, sequence: 1, data: new Uint8Array(100) });
    for (const fragment of fragmentFrame(other, 48)) b.receiveFrame(fragment, 0);
    expect(b.stats.dropped.get('ipv4.dst: not our address')).toBe(3);
    expect(b.nextDeadline()).toBeUndefined();
  });
});
