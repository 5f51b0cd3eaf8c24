import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { connectionHash, initialSequenceNumber, isnClock } from './isn.js';

const secret = Uint8Array.from({ length: 16 }, (_, i) => i);
const ip = (a: number, b: number, c: number, d: number): number => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
const local = ip(198, 18, 0, 1);
const remote = ip(198, 18, 0, 2);

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const port = fc.integer({ min: 0, max: 0xffff });
const fourTuple = fc.tuple(u32, port, u32, port);

describe('RFC 6528 initial sequence numbers', () => {
  it('hashes the 4-tuple big-endian with SipHash-2-4 (values from OpenSSL)', () => {
    // openssl mac -macopt hexkey:000102030405060708090a0b0c0d0e0f -macopt size:8 SIPHASH
    // of c6120001 1f90 c6120002 c350 gives bb bc e2 27 58 fb 54 0d: low 32 bits 0x27e2bcbb.
    expect(connectionHash(secret, local, 8080, remote, 50000)).toBe(0x27e2bcbb);
    // The reverse direction, c6120002 c350 c6120001 1f90: 6e b5 5a 9e … → 0x9e5ab56e.
    expect(connectionHash(secret, remote, 50000, local, 8080)).toBe(0x9e5ab56e);
    expect(initialSequenceNumber(secret, local, 8080, remote, 50000, 0)).toBe(0x27e2bcbb);
  });

  it('gives the same ISN for the same inputs', () => {
    fc.assert(
      fc.property(fourTuple, fc.integer({ min: 0, max: 2 ** 40 }), ([la, lp, ra, rp], now) => {
        const first = initialSequenceNumber(secret, la, lp, ra, rp, now);
        expect(initialSequenceNumber(secret, la, lp, ra, rp, now)).toBe(first);
        expect(Number.isInteger(first) && first >= 0 && first <= 0xffffffff).toBe(true);
      }),
    );
  });

  it('gives different F to different 4-tuples', () => {
    fc.assert(
      fc.property(fourTuple, fourTuple, (a, b) => {
        fc.pre(a.some((value, i) => value !== b[i]));
        expect(connectionHash(secret, ...a)).not.toBe(connectionHash(secret, ...b));
      }),
    );
  });

  it('gives a different F under a different secret', () => {
    const other = secret.slice();
    other[15] = 0xff;
    expect(connectionHash(other, local, 8080, remote, 50000)).not.toBe(connectionHash(secret, local, 8080, remote, 50000));
  });

  it('advances by one every 4 microseconds, 250 per millisecond', () => {
    const at = (now: number): number => initialSequenceNumber(secret, local, 8080, remote, 50000, now);
    expect((at(0.004) - at(0)) >>> 0).toBe(1);
    expect((at(1) - at(0)) >>> 0).toBe(250);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 40 }), fc.integer({ min: 0, max: 17_000_000 }), (now, elapsed) => {
        expect((at(now + elapsed) - at(now)) >>> 0).toBe(250 * elapsed);
      }),
    );
  });

  it('wraps the clock modulo 2^32 (every 4.77 hours)', () => {
    const wrap = 2 ** 32 / 250; // ms
    expect(isnClock(wrap)).toBe(0);
    expect(isnClock(wrap - 0.004)).toBe(0xffffffff);
    expect(isnClock(wrap + 1)).toBe(250);
  });
});
