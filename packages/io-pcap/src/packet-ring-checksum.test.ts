import {
  ArpOperation,
  encodeArpFrame,
  encodeTcpFrame,
  finishTcpChecksum,
  type TcpChecksumMode,
  TcpFlag,
  tcpChecksumVerifies,
} from '@tcpts/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadPacketRing } from './packet-ring-binding.js';

// The addon's checksum offload both ways, checked against the host's own codecs. It needs no
// socket, so it runs as any user.
const addon = loadPacketRing();

const addressing = (srcIp: number, dstIp: number) => ({
  srcMac: 0x02_00_00_00_00_01,
  dstMac: 0x02_00_00_00_00_02,
  srcIp,
  dstIp,
  ttl: 64,
  identification: 7,
});

/** What the addon must answer: the core's own account of what an offloading device vouches for. */
const expectedVerdict = tcpChecksumVerifies;

const segmentArbitrary = fc.record({
  srcIp: fc.integer({ min: 0, max: 0xffff_ffff }),
  dstIp: fc.integer({ min: 0, max: 0xffff_ffff }),
  seq: fc.integer({ min: 0, max: 0xffff_ffff }),
  ack: fc.integer({ min: 0, max: 0xffff_ffff }),
  window: fc.integer({ min: 0, max: 0xffff }),
  payload: fc.uint8Array({ maxLength: 1460 }),
  mss: fc.option(fc.integer({ min: 536, max: 1460 }), { nil: undefined }),
});

type SegmentFields = typeof segmentArbitrary extends fc.Arbitrary<infer T> ? T : never;

const encode = (s: SegmentFields, checksumMode: TcpChecksumMode = 'full'): Uint8Array =>
  encodeTcpFrame(addressing(s.srcIp, s.dstIp), {
    srcPort: 8080,
    dstPort: 50_000,
    seq: s.seq,
    ack: s.ack,
    flags: TcpFlag.ACK | TcpFlag.PSH,
    window: s.window,
    urgent: 0,
    options: s.mss === undefined ? {} : { mss: s.mss },
    payload: s.payload,
  }, checksumMode);

describe('receive checksum offload (packet-ring addon)', () => {
  it('vouches for every well-formed TCP frame the host encodes, whatever its length and alignment', () => {
    fc.assert(
      fc.property(segmentArbitrary, fc.integer({ min: 0, max: 7 }), fc.nat(64), (segment, shift, tail) => {
        const frame = encode(segment);
        // At any alignment, and with Ethernet padding or trailing bytes after the datagram.
        const placed = new Uint8Array(shift + frame.length + tail).fill(0xa5);
        placed.set(frame, shift);
        const view = placed.subarray(shift);
        expect(addon.tcpChecksumOk(view)).toBe(true);
        expect(expectedVerdict(view)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('agrees with the host on corrupted frames: any changed byte, any cut', () => {
    fc.assert(
      fc.property(
        segmentArbitrary,
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        fc.nat(),
        (segment, where, flip, cut) => {
          const frame = encode(segment);
          const corrupted = frame.slice();
          corrupted[where % frame.length]! ^= flip;
          expect(addon.tcpChecksumOk(corrupted)).toBe(expectedVerdict(corrupted));
          const shortened = frame.subarray(0, cut % (frame.length + 1));
          expect(addon.tcpChecksumOk(shortened)).toBe(expectedVerdict(shortened));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('vouches for nothing that is not a whole unfragmented TCP datagram', () => {
    const frame = encode({ srcIp: 0xc612_0101, dstIp: 0xc612_0102, seq: 1, ack: 2, window: 100, payload: new Uint8Array(100), mss: undefined });
    expect(addon.tcpChecksumOk(frame)).toBe(true);
    const withIpField = (offset: number, value: number): Uint8Array => {
      const copy = frame.slice();
      copy[offset] = value;
      return copy;
    };
    // A fragment (MF set) keeps its TCP sum, but the sum covers only part of a datagram.
    expect(addon.tcpChecksumOk(withIpField(20, 0x20))).toBe(false);
    expect(addon.tcpChecksumOk(withIpField(21, 0x01))).toBe(false); // fragment offset
    expect(addon.tcpChecksumOk(withIpField(23, 17))).toBe(false); // UDP
    expect(addon.tcpChecksumOk(withIpField(14, 0x44))).toBe(false); // IHL 4
    expect(addon.tcpChecksumOk(withIpField(12, 0x86))).toBe(false); // not IPv4
    expect(addon.tcpChecksumOk(new Uint8Array(0))).toBe(false);
    expect(() => addon.tcpChecksumOk([1, 2, 3] as unknown as Uint8Array)).toThrow(TypeError);
  });
});

describe('transmit checksum offload (packet-ring addon)', () => {
  it('turns a frame the host left with the pseudo-header sum into the frame with the full checksum', () => {
    fc.assert(
      fc.property(segmentArbitrary, fc.integer({ min: 0, max: 7 }), (segment, shift) => {
        const partial = encode(segment, 'pseudo-header');
        const placed = new Uint8Array(shift + partial.length);
        placed.set(partial, shift);
        const view = placed.subarray(shift);
        const reference = partial.slice();
        finishTcpChecksum(reference);
        addon.finishTcpChecksum(view);
        expect(Buffer.from(view).equals(Buffer.from(encode(segment)))).toBe(true);
        expect(Buffer.from(reference).equals(Buffer.from(view))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('leaves every frame that is not an unfragmented TCP datagram as it was', () => {
    const arp = encodeArpFrame(0xffff_ffff_ffff, 0x02_00_00_00_00_01, {
      operation: ArpOperation.Request,
      senderMac: 0x02_00_00_00_00_01,
      senderIp: 0xc612_0101,
      targetMac: 0,
      targetIp: 0xc612_0102,
    });
    const fragment = encode({ srcIp: 1, dstIp: 2, seq: 3, ack: 4, window: 5, payload: new Uint8Array(40), mss: undefined }, 'pseudo-header');
    fragment[20] = 0x20; // more fragments
    for (const frame of [arp, fragment, new Uint8Array(10)]) {
      const before = frame.slice();
      addon.finishTcpChecksum(frame);
      expect(frame).toEqual(before);
    }
  });
});

