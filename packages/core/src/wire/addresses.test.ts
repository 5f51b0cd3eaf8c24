import fc from 'fast-check';
import { isLeft, isRight } from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { formatIpv4, formatMac, isInPrefix, parseIpv4, parseMac, prefixMask, readMac, writeMac } from './addresses.js';
import { ipv4Address, mac } from './fixtures/arbitraries.js';

describe('IPv4 addresses', () => {
  it('parses dotted quads to unsigned 32-bit numbers', () => {
    expect(parseIpv4('198.18.0.1')).toEqual({ _tag: 'Right', right: 0xc6120001 });
    expect(parseIpv4('255.255.255.255')).toEqual({ _tag: 'Right', right: 0xffffffff });
    expect(parseIpv4('0.0.0.0')).toEqual({ _tag: 'Right', right: 0 });
  });

  it('refuses malformed text with a reason', () => {
    for (const text of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '1.2.3.-4', 'a.b.c.d', '01.2.3.4', '1..2.3', '1.2.3.4 5']) {
      const result = parseIpv4(text);
      expect(isLeft(result), text).toBe(true);
      if (isLeft(result)) expect(result.left).toContain('invalid IPv4 address');
    }
  });

  it('formats and parses back every address', () => {
    fc.assert(
      fc.property(ipv4Address, (ip) => {
        expect(parseIpv4(formatIpv4(ip))).toEqual({ _tag: 'Right', right: ip });
      }),
    );
  });

  it('tests prefix membership', () => {
    const net = 0xc6126300; // 198.18.99.0
    expect(isInPrefix(0xc6126301, net, 24)).toBe(true);
    expect(isInPrefix(0xc6126401, net, 24)).toBe(false);
    expect(isInPrefix(0xc6136401, 0xc6120000, 15)).toBe(true); // 198.19.100.1 in 198.18.0.0/15
    expect(isInPrefix(0xc6146401, 0xc6120000, 15)).toBe(false);
    expect(prefixMask(0)).toBe(0);
    expect(prefixMask(24)).toBe(0xffffff00);
    expect(prefixMask(32)).toBe(0xffffffff);
  });

  it('puts an address in its own prefixes, and /0 holds everything', () => {
    fc.assert(
      fc.property(ipv4Address, ipv4Address, fc.integer({ min: 0, max: 32 }), (ip, other, length) => {
        expect(isInPrefix(ip, ip, length)).toBe(true);
        expect(isInPrefix(other, ip, 0)).toBe(true);
        expect(isInPrefix(other, ip, 32)).toBe(other === ip);
        // The first differing bit decides membership.
        const firstDifference = Math.clz32(ip ^ other);
        expect(isInPrefix(other, ip, length)).toBe(length <= firstDifference);
      }),
    );
  });
});

describe('MAC addresses', () => {
  it('parses colon and dash forms', () => {
    expect(parseMac('02:00:00:99:00:01')).toEqual({ _tag: 'Right', right: 0x020000990001 });
    expect(parseMac('FF-FF-FF-FF-FF-FF')).toEqual({ _tag: 'Right', right: 0xffffffffffff });
    expect(formatMac(0x020000990001)).toBe('02:00:00:99:00:01');
  });

  it('refuses malformed text', () => {
    for (const text of ['', '02:00:00:99:00', '02:00:00:99:00:01:02', '02:00-00:99:00:01', 'g2:00:00:99:00:01', '2:0:0:99:0:1']) {
      expect(isRight(parseMac(text)), text).toBe(false);
    }
  });

  it('round-trips through text and bytes', () => {
    fc.assert(
      fc.property(mac, fc.integer({ min: 0, max: 10 }), (address, offset) => {
        expect(parseMac(formatMac(address))).toEqual({ _tag: 'Right', right: address });
        const bytes = new Uint8Array(offset + 6);
        writeMac(bytes, offset, address);
        expect(readMac(bytes, offset)).toBe(address);
      }),
    );
  });
});
