import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeError } from './decode-error.js';
import { decodeEthernet } from './ethernet.js';
import { fromHex, offloadFrames, oversizedTcpFrame } from './fixtures/linux-frames.js';
import { tcpSegment, u32 } from './fixtures/arbitraries.js';
import { type Ipv4Packet, decodeIpv4 } from './ipv4.js';
import {
  PARTIAL_CHECKSUM_REASON,
  exceedsMtu,
  hasPartialTcpChecksum,
  isPartialTcpChecksum,
  offloadAdvice,
  offloadSymptomOf,
} from './offload.js';
import { finishTcpChecksum, tcpChecksumVerifies, tcpSegmentBounds } from './checksum-offload.js';
import { encodeTcpFrame } from './frame.js';
import { pseudoHeaderSum } from './checksum.js';
import { decodeTcp, encodeTcp } from './tcp.js';

const ipv4Of = (frame: Uint8Array, mtu?: number) => {
  const ethernet = decodeEthernet(frame);
  if (ethernet._tag === 'Left') throw new Error('ethernet refused');
  return decodeIpv4(ethernet.right.payload, mtu);
};

const decodedIpv4 = (frame: Uint8Array): Ipv4Packet => {
  const ip = ipv4Of(frame);
  if (ip._tag === 'Left') throw new Error(`ipv4 refused: ${ip.left.reason}`);
  return ip.right;
};

describe('offload symptoms', () => {
  it('recognise a partial checksum captured from Linux with TX checksum offload on', () => {
    const ip = decodedIpv4(fromHex(offloadFrames.tcpSynPartialChecksum));
    const tcp = decodeTcp(ip.payload, ip.src, ip.dst);
    expect(tcp).toEqual({ _tag: 'Left', left: { layer: 'tcp', field: 'checksum', reason: PARTIAL_CHECKSUM_REASON } });
    if (tcp._tag === 'Left') expect(offloadSymptomOf(tcp.left)).toBe('partial-checksum');
    expect(hasPartialTcpChecksum(ip)).toBe(true);
    // With the checksum tcpdump computed for this segment (0x1239), it decodes.
    const fixed = ip.payload.slice();
    fixed[16] = 0x12;
    fixed[17] = 0x39;
    expect(decodeTcp(fixed, ip.src, ip.dst)._tag).toBe('Right');
    expect(hasPartialTcpChecksum({ ...ip, payload: fixed })).toBe(false);
  });

  it('recognise a GSO segment above the MTU captured from Linux', () => {
    const frame = oversizedTcpFrame();
    expect(exceedsMtu(frame.subarray(14), 1500)).toBe(true);
    const refused = ipv4Of(frame, 1500);
    if (refused._tag === 'Right') throw new Error('accepted an oversized packet');
    expect(offloadSymptomOf(refused.left)).toBe('oversized');
    expect(refused.left.reason).toContain(offloadAdvice());
    // Without an MTU the packet decodes, and its TCP checksum is partial too.
    const ip = decodedIpv4(frame);
    expect(ip.payload.length).toBe(7272);
    const tcp = decodeTcp(ip.payload, ip.src, ip.dst);
    expect(tcp._tag === 'Left' && offloadSymptomOf(tcp.left)).toBe('partial-checksum');
  });

  it('tell a partial checksum from corruption for any segment', () => {
    fc.assert(
      fc.property(tcpSegment(), u32, u32, fc.nat(0xffff), (segment, src, dst, garbage) => {
        const bytes = encodeTcp(segment, src, dst);
        const partial = pseudoHeaderSum(src, dst, 6, bytes.length);
        const original = (bytes[16]! << 8) | bytes[17]!;
        // What a sender with TX checksum offload would have left in the field.
        bytes[16] = partial >>> 8;
        bytes[17] = partial & 0xff;
        if (partial !== original) {
          expect(isPartialTcpChecksum(bytes, src, dst)).toBe(true);
          const result = decodeTcp(bytes, src, dst);
          expect(result._tag === 'Left' && offloadSymptomOf(result.left)).toBe('partial-checksum');
        }
        // Any other wrong value is plain corruption.
        if (garbage !== partial && garbage !== original) {
          bytes[16] = garbage >>> 8;
          bytes[17] = garbage & 0xff;
          const result = decodeTcp(bytes, src, dst);
          if (result._tag === 'Left') {
            expect(result.left.reason).toBe('mismatch');
            expect(offloadSymptomOf(result.left)).toBeUndefined();
          }
        }
      }),
    );
  });

  it('are not claimed for ordinary errors', () => {
    expect(offloadSymptomOf(decodeError('tcp', 'checksum', 'mismatch'))).toBeUndefined();
    expect(offloadSymptomOf(decodeError('ipv4', 'totalLength', '70 exceeds the 60 bytes received'))).toBeUndefined();
    expect(offloadAdvice('veth0')).toBe('turn off offloads with `ethtool -K veth0 tso off gso off gro off tx off rx off`');
    expect(exceedsMtu(new Uint8Array(3), 0)).toBe(false);
  });
});

describe('what an offloading device does (tcpChecksumVerifies, finishTcpChecksum)', () => {
  const from = { srcMac: 0x020000000001, dstMac: 0x020000000002, srcIp: 0xc6120001, dstIp: 0xc6120002, ttl: 64, identification: 9 };

  it('vouches for a sound TCP frame and for nothing once any byte of its datagram changed (property)', () => {
    fc.assert(
      fc.property(tcpSegment(1460), fc.nat(), fc.integer({ min: 1, max: 255 }), (segment, where, flip) => {
        const frame = encodeTcpFrame(from, segment);
        expect(tcpChecksumVerifies(frame)).toBe(true);
        const corrupted = frame.slice();
        // A change in the IPv4 header or the segment (the MACs and EtherType are the Ethernet layer's).
        const offset = 14 + (where % (frame.length - 14));
        corrupted[offset]! ^= flip;
        // Only a change the sums cannot see (IPv4 fields outside the pseudo-header, TTL, identification…) may pass.
        if (tcpChecksumVerifies(corrupted)) {
          expect(tcpSegmentBounds(corrupted)).toEqual(tcpSegmentBounds(frame));
          expect(offset < 34 && ![26, 27, 28, 29, 30, 31, 32, 33].includes(offset)).toBe(true);
        }
      }),
    );
  });

  it('finishes the checksum a host left to it, giving the frame the host would have sent whole (property)', () => {
    fc.assert(
      fc.property(tcpSegment(1460), (segment) => {
        const partial = encodeTcpFrame(from, segment, 'pseudo-header');
        finishTcpChecksum(partial);
        expect(partial).toEqual(encodeTcpFrame(from, segment));
      }),
    );
  });

  it('leaves fragments and other protocols alone, and vouches for none of them', () => {
    const frame = encodeTcpFrame(from, { srcPort: 1, dstPort: 2, seq: 3, ack: 4, flags: 0x10, window: 5, urgent: 0, options: {}, payload: new Uint8Array(40) }, 'pseudo-header');
    const fragment = frame.slice();
    fragment[20] = 0x20; // more fragments
    const udp = frame.slice();
    udp[23] = 17;
    for (const other of [fragment, udp, frame.subarray(0, 40)]) {
      const before = other.slice();
      finishTcpChecksum(other);
      expect(other).toEqual(before);
      expect(tcpChecksumVerifies(other)).toBe(false);
      expect(tcpSegmentBounds(other)).toBeUndefined();
    }
  });
});
