import fc from 'fast-check';
import { type Either, right } from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { decodeArp, encodeArp } from './arp.js';
import type { DecodeError } from './decode-error.js';
import { EtherType, decodeEthernet, encodeEthernet } from './ethernet.js';
import { arpPacket, icmpMessage, ipv4Address, mac, tcpSegment, u16, u32, u8 } from './fixtures/arbitraries.js';
import { type FrameAddressing, encodeArpFrame, encodeIcmpFrame, encodeTcpFrame, encodeTcpFrameInto, tcpFrameLength } from './frame.js';
import { decodeIcmp, encodeIcmp } from './icmp.js';
import { IpProtocol, decodeIpv4, encodeIpv4 } from './ipv4.js';
import { decodeTcp, encodeTcp } from './tcp.js';
import { decodeTcpOptions } from './tcp-options.js';

const addressing: fc.Arbitrary<FrameAddressing> = fc.record({
  srcMac: mac,
  dstMac: mac,
  srcIp: ipv4Address,
  dstIp: ipv4Address,
  ttl: u8,
  identification: u16,
  dontFragment: fc.boolean(),
  dscpEcn: u8,
});

/** Decodes a frame through every layer the stack knows; what the host will do with each frame. */
const decodeAllLayers = (frame: Uint8Array): Either<DecodeError, unknown> => {
  const ethernet = decodeEthernet(frame);
  if (ethernet._tag === 'Left') return ethernet;
  if (ethernet.right.etherType === EtherType.ARP) return decodeArp(ethernet.right.payload);
  if (ethernet.right.etherType !== EtherType.IPv4) return right(ethernet.right);
  const ip = decodeIpv4(ethernet.right.payload, 1500);
  if (ip._tag === 'Left') return ip;
  if (ip.right.protocol === IpProtocol.TCP) return decodeTcp(ip.right.payload, ip.right.src, ip.right.dst);
  if (ip.right.protocol === IpProtocol.ICMP) return decodeIcmp(ip.right.payload);
  return right(ip.right);
};

const validFrame: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.tuple(addressing, tcpSegment(100)).map(([a, s]) => encodeTcpFrame(a, s)),
  fc.tuple(addressing, icmpMessage).map(([a, m]) => encodeIcmpFrame(a, m)),
  fc.tuple(mac, mac, arpPacket).map(([d, s, p]) => encodeArpFrame(d, s, p)),
);

describe('frame builders', () => {
  it('build the same bytes as the layered encoders, in one buffer', () => {
    fc.assert(
      fc.property(addressing, tcpSegment(), (a, segment) => {
        const ip = {
          src: a.srcIp,
          dst: a.dstIp,
          protocol: IpProtocol.TCP,
          ttl: a.ttl,
          identification: a.identification,
          dontFragment: a.dontFragment ?? true,
          dscpEcn: a.dscpEcn ?? 0,
        };
        const layered = encodeEthernet({
          dst: a.dstMac,
          src: a.srcMac,
          etherType: EtherType.IPv4,
          payload: encodeIpv4({ ...ip, payload: encodeTcp(segment, a.srcIp, a.dstIp) }),
        });
        const frame = encodeTcpFrame(a, segment);
        expect(frame).toEqual(layered);
        expect(frame.length).toBe(tcpFrameLength(segment));
      }),
    );
  });

  it('decode back through the layers', () => {
    fc.assert(
      fc.property(addressing, tcpSegment(), (a, segment) => {
        const ethernet = decodeEthernet(encodeTcpFrame(a, segment));
        if (ethernet._tag === 'Left') throw new Error('ethernet refused');
        const ip = decodeIpv4(ethernet.right.payload);
        if (ip._tag === 'Left') throw new Error('ipv4 refused');
        expect(ip.right).toMatchObject({ src: a.srcIp, dst: a.dstIp, protocol: IpProtocol.TCP, ttl: a.ttl });
        expect(decodeTcp(ip.right.payload, a.srcIp, a.dstIp)).toEqual({ _tag: 'Right', right: segment });
      }),
    );
  });

  it('write into a preallocated buffer at an offset', () => {
    fc.assert(
      fc.property(addressing, tcpSegment(), fc.nat(31), (a, segment, offset) => {
        const buffer = new Uint8Array(2048);
        const written = encodeTcpFrameInto(buffer, offset, a, segment);
        expect(written).toBe(tcpFrameLength(segment));
        expect(buffer.subarray(offset, offset + written)).toEqual(encodeTcpFrame(a, segment));
      }),
    );
  });

  it('set DF and zero DSCP by default', () => {
    const frame = encodeTcpFrame(
      { srcMac: 1, dstMac: 2, srcIp: 3, dstIp: 4, ttl: 64, identification: 5 },
      { srcPort: 1, dstPort: 2, seq: 0, ack: 0, flags: 2, window: 0, urgent: 0, options: {}, payload: new Uint8Array(0) },
    );
    expect(frame[14 + 1]).toBe(0);
    expect(frame[14 + 6]).toBe(0x40);
  });

  it('build ICMP and ARP frames that decode back', () => {
    fc.assert(
      fc.property(addressing, icmpMessage, arpPacket, (a, message, arp) => {
        const icmpFrame = encodeIcmpFrame(a, message);
        expect(Array.from(icmpFrame.subarray(34))).toEqual(Array.from(encodeIcmp(message)));
        expect(decodeAllLayers(icmpFrame)).toEqual({ _tag: 'Right', right: message });
        const arpFrame = encodeArpFrame(a.dstMac, a.srcMac, arp);
        expect(Array.from(arpFrame.subarray(14))).toEqual(Array.from(encodeArp(arp)));
        expect(decodeAllLayers(arpFrame)).toEqual({ _tag: 'Right', right: arp });
      }),
    );
  });
});

describe('decoders never throw', () => {
  const ip = fc.integer({ min: 0, max: 0xffffffff });

  it('on arbitrary bytes, at every layer', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), ip, ip, (bytes, src, dst) => {
        for (const result of [
          decodeAllLayers(bytes),
          decodeEthernet(bytes),
          decodeArp(bytes),
          decodeIpv4(bytes),
          decodeIpv4(bytes, 60),
          decodeIcmp(bytes),
          decodeTcp(bytes, src, dst),
          decodeTcpOptions(bytes, 0, bytes.length),
        ]) {
          expect(['Left', 'Right']).toContain(result._tag);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('on valid frames with random bit flips', () => {
    fc.assert(
      fc.property(validFrame, fc.array(fc.tuple(fc.nat(), fc.nat(7)), { minLength: 1, maxLength: 8 }), (frame, flips) => {
        for (const [at, bit] of flips) frame[at % frame.length]! ^= 1 << bit;
        expect(['Left', 'Right']).toContain(decodeAllLayers(frame)._tag);
      }),
      { numRuns: 2000 },
    );
  });

  it('on valid frames cut short, which are always refused', () => {
    fc.assert(
      fc.property(validFrame, fc.nat(), (frame, cut) => {
        const truncated = frame.subarray(0, cut % frame.length);
        expect(decodeAllLayers(truncated)._tag).toBe('Left');
      }),
      { numRuns: 2000 },
    );
  });

  it('and refuse any single-bit flip past the Ethernet header of an IPv4 frame', () => {
    fc.assert(
      fc.property(addressing, fc.oneof(tcpSegment(100).map((s) => ({ s })), icmpMessage.map((m) => ({ m }))), fc.nat(), u32, (a, content, at, bits) => {
        const frame = 's' in content ? encodeTcpFrame(a, content.s) : encodeIcmpFrame(a, content.m);
        frame[14 + (at % (frame.length - 14))]! ^= 1 << (bits % 8);
        expect(decodeAllLayers(frame)._tag).toBe('Left');
      }),
      { numRuns: 2000 },
    );
  });
});
