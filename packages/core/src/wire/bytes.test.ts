import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allocateBytes, readU16, readU32, writeU16, writeU32 } from './bytes.js';

describe('big-endian access', () => {
  it('reads what it writes, in network order', () => {
    fc.assert(
      fc.property(fc.nat(0xffffffff), fc.nat(0xffff), fc.nat(8), (word, half, offset) => {
        const bytes = new Uint8Array(16);
        writeU32(bytes, offset, word);
        expect(readU32(bytes, offset)).toBe(word);
        expect(bytes[offset]).toBe(word >>> 24);
        writeU16(bytes, offset + 4, half);
        expect(readU16(bytes, offset + 4)).toBe(half);
        expect(bytes[offset + 5]).toBe(half & 0xff);
      }),
    );
  });
});

describe('allocateBytes', () => {
  it('hands out zeroed, aligned arrays of the requested length that never overlap', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 20_000 }), { minLength: 1, maxLength: 60 }), (lengths) => {
        const arrays = lengths.map((length, k) => {
          const bytes = allocateBytes(length);
          expect(bytes.length).toBe(length);
          expect(bytes.every((b) => b === 0)).toBe(true);
          expect(bytes.byteOffset % 8).toBe(0);
          bytes.fill((k % 255) + 1);
          return bytes;
        });
        // Writing each array after the others left all of them intact.
        arrays.forEach((bytes, k) => expect(bytes.every((b) => b === (k % 255) + 1)).toBe(true));
      }),
      { numRuns: 200 },
    );
  });
});
