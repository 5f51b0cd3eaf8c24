import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatIpv4,
  formatMac,
  isLocallyAdministeredUnicast,
  parseIpv4,
  parseMac,
  randomLocalMac,
  sameSubnet,
} from './addresses.js';
import { IoPcapError } from './errors.js';

const uint32 = fc.integer({ min: 0, max: 0xffffffff });
const mac48 = fc.integer({ min: 0, max: 2 ** 48 - 1 });

describe('IPv4 addresses', () => {
  it('round-trips every 32-bit value through text', () => {
    fc.assert(fc.property(uint32, (value) => parseIpv4(formatIpv4(value)) === value));
  });

  it('reads the octets most significant first', () => {
    expect(parseIpv4('198.18.10.2')).toBe(((198 * 256 + 18) * 256 + 10) * 256 + 2);
  });

  it.each(['198.18.10', '1.2.3.256', 'a.b.c.d', '', '1.2.3.4.5'])('rejects %j as invalid-address', (text) => {
    expect(() => parseIpv4(text)).toThrowError(IoPcapError);
    try {
      parseIpv4(text);
    } catch (error) {
      expect((error as IoPcapError).code).toBe('invalid-address');
    }
  });

  it('compares prefixes', () => {
    fc.assert(
      fc.property(uint32, uint32, fc.integer({ min: 0, max: 32 }), (a, b, prefix) => {
        const expected = prefix === 0 || a >>> (32 - prefix) === b >>> (32 - prefix);
        return sameSubnet(a, b, prefix) === expected;
      }),
    );
  });
});

describe('MAC addresses', () => {
  it('round-trips every 48-bit value through text', () => {
    fc.assert(fc.property(mac48, (value) => parseMac(formatMac(value)) === value));
  });

  it('formats with leading zeros', () => {
    expect(formatMac(0x020000000a01)).toBe('02:00:00:00:0a:01');
  });

  it('rejects malformed text', () => {
    expect(() => parseMac('02:00:00:00:0a')).toThrowError(/six hex octets/);
  });

  it('makes random MACs unicast and locally administered', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 6, maxLength: 6 }), (bytes) => {
        const mac = randomLocalMac(() => bytes);
        const lowOctets = Array.from(bytes.subarray(1), (b) => b.toString(16).padStart(2, '0')).join(':');
        return isLocallyAdministeredUnicast(mac) && formatMac(mac).slice(3) === lowOctets;
      }),
    );
    // Only the two low bits of the first octet are forced.
    expect(formatMac(randomLocalMac(() => Uint8Array.of(0xff, 1, 2, 3, 4, 5)))).toBe('fe:01:02:03:04:05');
  });
});
