import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeIcmpFrame } from './frame.js';
import { fragmentFrame, fragmentPayloadFor } from './ipv4-fragment.js';
import {
  ipv4HeaderError,
  ipv4PayloadEnd,
  ipv4PayloadStart,
  readIpv4FragmentOffset,
  readIpv4Identification,
  readIpv4MoreFragments,
} from './ipv4.js';

const IP = 14;
const addressing = { srcMac: 2, dstMac: 3, srcIp: 0xc6120001, dstIp: 0xc6120002, ttl: 64, identification: 0x4242 };

describe('fragmentFrame (RFC 791 §3.2)', () => {
  it('cuts any datagram into pieces of at most `chunk` bytes that, put in order, are its payload', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 9000 }), fc.integer({ min: 1, max: 200 }), (dataLength, eighths) => {
        const chunk = eighths * 8;
        const frame = encodeIcmpFrame(addressing, {
          kind: 'echo-request',
          identifier: 1,
          sequence: 2,
          data: Uint8Array.from({ length: dataLength }, (_, i) => (i * 31 + 7) % 256),
        });
        const payload = frame.subarray(ipv4PayloadStart(frame, IP), ipv4PayloadEnd(frame, IP));
        const fragments = fragmentFrame(frame, chunk);
        if (payload.length <= chunk) {
          expect(fragments).toEqual([frame]);
          return;
        }
        let offset = 0;
        fragments.forEach((fragment, index) => {
          const last = index === fragments.length - 1;
          // A sound header (its checksum included) that says it is a fragment, and nothing else wrong.
          expect(ipv4HeaderError(fragment, IP, fragment.length)?.field).toBe('fragment');
          expect(readIpv4Identification(fragment, IP)).toBe(0x4242);
          expect(readIpv4MoreFragments(fragment, IP)).toBe(!last);
          expect(readIpv4FragmentOffset(fragment, IP)).toBe(offset);
          const piece = fragment.subarray(ipv4PayloadStart(fragment, IP), ipv4PayloadEnd(fragment, IP));
          expect(piece.length).toBeLessThanOrEqual(chunk);
          expect(piece).toEqual(payload.subarray(offset, offset + piece.length));
          offset += piece.length;
        });
        expect(offset).toBe(payload.length);
      }),
    );
  });

  it('refuses a chunk that is not a positive multiple of 8', () => {
    const frame = encodeIcmpFrame(addressing, { kind: 'echo-request', identifier: 1, sequence: 1, data: new Uint8Array(100) });
    expect(() => fragmentFrame(frame, 12)).toThrow(RangeError);
    expect(() => fragmentFrame(frame, 0)).toThrow(RangeError);
  });

  it('fits a fragment to the link: 1480 bytes behind a 20-byte header at MTU 1500, 552 at 576 (rounded down to 8)', () => {
    expect(fragmentPayloadFor(1500, 20)).toBe(1480);
    expect(fragmentPayloadFor(576, 20)).toBe(552);
  });
});
