import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  adjustChecksum,
  adjustChecksum32,
  foldSum,
  internetChecksum,
  onesComplementSum,
  pseudoHeaderSum,
} from './checksum.js';

/** Straightforward RFC 1071 reference: 16-bit big-endian words, carries folded at each step. */
const referenceSum = (bytes: Uint8Array, start: number, end: number, initial: number): number => {
  let sum = initial;
  for (let i = start; i < end; i += 2) {
    sum += (bytes[i]! << 8) | (i + 1 < end ? bytes[i + 1]! : 0);
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
};

describe('internet checksum (RFC 1071)', () => {
  it('matches the worked example of RFC 1071 §3', () => {
    const bytes = Uint8Array.of(0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7);
    expect(onesComplementSum(bytes)).toBe(0xddf2);
    expect(internetChecksum(bytes)).toBe(0x220d);
  });

  it('folds with end-around carry', () => {
    expect(foldSum(0)).toBe(0);
    expect(foldSum(0xffff)).toBe(0xffff);
    expect(foldSum(0x1_0000)).toBe(1);
    expect(foldSum(0x2_fffe)).toBe(0x1);
    expect(foldSum(3 * 0xffff)).toBe(0xffff);
  });

  it('equals the reference for any view, range and initial sum (both code paths)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 700 }),
        fc.nat(7),
        fc.nat(),
        fc.nat(),
        fc.integer({ min: 0, max: 0x3ffff }),
        (raw, viewOffset, a, b, initial) => {
          const view = raw.subarray(Math.min(viewOffset, raw.length));
          const start = view.length === 0 ? 0 : a % (view.length + 1);
          const end = start + (view.length - start === 0 ? 0 : b % (view.length - start + 1));
          expect(onesComplementSum(view, start, end, initial)).toBe(referenceSum(view, start, end, initial));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('handles ranges longer than one accumulator pass', () => {
    const bytes = new Uint8Array(9 * 1024 * 1024 + 3);
    for (let i = 0; i < bytes.length; i++) bytes[i] = 0xff - (i % 7);
    expect(onesComplementSum(bytes, 1, bytes.length)).toBe(referenceSum(bytes, 1, bytes.length, 0));
  });

  it('verifies data followed by its own checksum', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (data) => {
        const even = data.length % 2 === 0 ? data : Uint8Array.of(...data, 0);
        const withChecksum = new Uint8Array(even.length + 2);
        withChecksum.set(even);
        const checksum = internetChecksum(even);
        withChecksum[even.length] = checksum >>> 8;
        withChecksum[even.length + 1] = checksum & 0xff;
        expect(onesComplementSum(withChecksum)).toBe(0xffff);
      }),
    );
  });

  it('sums the pseudo-header of RFC 9293 §3.1', () => {
    // 198.18.99.1 → 198.18.99.2, TCP, 40 bytes: the sum Linux left in a captured partial checksum.
    expect(pseudoHeaderSum(0xc6126301, 0xc6126302, 6, 40)).toBe(0x5257);
    fc.assert(
      fc.property(fc.nat(0xffffffff), fc.nat(0xffffffff), fc.nat(255), fc.nat(0xffff), (src, dst, protocol, length) => {
        const header = new Uint8Array(12);
        const view = new DataView(header.buffer);
        view.setUint32(0, src);
        view.setUint32(4, dst);
        view.setUint8(9, protocol);
        view.setUint16(10, length);
        expect(pseudoHeaderSum(src, dst, protocol, length)).toBe(referenceSum(header, 0, 12, 0));
      }),
    );
  });

  it('updates a checksum incrementally as a recomputation would (RFC 1624)', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(0xffffffff), { minLength: 1, maxLength: 16 }), fc.nat(), fc.nat(0xffffffff), (words, at, newValue) => {
        const data = new Uint8Array(words.length * 4);
        const view = new DataView(data.buffer);
        words.forEach((word, k) => view.setUint32(k * 4, word));
        const index = (at % words.length) * 4;
        const before = internetChecksum(data);
        const oldValue = view.getUint32(index);
        view.setUint32(index, newValue);
        // All-zero data sums to +0, which RFC 1624's equation 3 cannot tell from -0 (§3): it answers
        // 0x0000 where 0xffff is due. A header with its pseudo-header is never all zeros.
        fc.pre(data.some((byte) => byte !== 0));
        const adjusted = adjustChecksum32(before, oldValue, newValue);
        // The adjusted checksum verifies the new data ...
        expect(foldSum(onesComplementSum(data) + adjusted)).toBe(0xffff);
        // ... and equals a recomputation, up to the two forms of one's complement zero.
        const recomputed = internetChecksum(data);
        const bothZero = (adjusted === 0 && recomputed === 0xffff) || (adjusted === 0xffff && recomputed === 0);
        expect(adjusted === recomputed || bothZero).toBe(true);
      }),
    );
    expect(adjustChecksum(0x220d, 0x0001, 0x0002)).toBe(0x220c);
  });
});
