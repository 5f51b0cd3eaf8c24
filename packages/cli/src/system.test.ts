import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hasNetRawIn, parseAddressList, parseRouteGet, sameSubnet, systemProbe } from './system.js';

describe('parseRouteGet', () => {
  it('reads the device of an on-link route', () => {
    expect(parseRouteGet('198.18.1.1 dev veth0 src 198.18.1.3 uid 0 \\    cache')).toEqual({ iface: 'veth0' });
  });

  it('reads the gateway of an off-link route', () => {
    expect(parseRouteGet('8.8.8.8 via 192.0.2.1 dev eth0 src 192.0.2.2 uid 0')).toEqual({ iface: 'eth0', gateway: '192.0.2.1' });
  });

  it('gives nothing for output without a device', () => {
    expect(parseRouteGet('RTNETLINK answers: Network is unreachable')).toBeUndefined();
    expect(parseRouteGet('')).toBeUndefined();
  });
});

describe('parseAddressList', () => {
  it('reads every IPv4 address with its prefix', () => {
    const output =
      '2: eth0    inet 192.0.2.2/24 brd 192.0.2.255 scope global eth0\\       valid_lft forever\n' +
      '2: eth0    inet 198.18.3.7/16 scope global secondary eth0\n';
    expect(parseAddressList(output)).toEqual([
      { address: '192.0.2.2', prefixLength: 24 },
      { address: '198.18.3.7', prefixLength: 16 },
    ]);
  });
});

describe('sameSubnet', () => {
  it('compares the leading bits', () => {
    expect(sameSubnet('198.18.1.2', '198.18.1.200', 24)).toBe(true);
    expect(sameSubnet('198.18.1.2', '198.18.2.2', 24)).toBe(false);
    expect(sameSubnet('198.18.1.2', '198.19.2.2', 15)).toBe(true);
    expect(sameSubnet('1.2.3.4', '200.2.3.4', 0)).toBe(true);
    expect(sameSubnet('1.2.3.4', '1.2.3.5', 32)).toBe(false);
  });

  it('agrees with a bit mask for any addresses and prefix', () => {
    const address = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255));
    fc.assert(
      fc.property(address, address, fc.integer({ min: 0, max: 32 }), (a, b, prefix) => {
        const value = (o: number[]): number => ((o[0]! << 24) | (o[1]! << 16) | (o[2]! << 8) | o[3]!) >>> 0;
        const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
        const expected = ((value(a) & mask) >>> 0) === ((value(b) & mask) >>> 0);
        expect(sameSubnet(a.join('.'), b.join('.'), prefix)).toBe(expected);
      }),
    );
  });
});

describe('hasNetRawIn', () => {
  it('reads bit 13 of the effective capabilities', () => {
    expect(hasNetRawIn('Name:\tnode\nCapEff:\t000001ffffffffff\n')).toBe(true);
    expect(hasNetRawIn('CapEff:\t0000000000000000\n')).toBe(false);
    expect(hasNetRawIn('CapEff:\t0000000000002000\n')).toBe(true);
    expect(hasNetRawIn('CapEff:\t0000000000001000\n')).toBe(false);
    expect(hasNetRawIn('no such field')).toBeUndefined();
  });
});

describe('systemProbe', () => {
  it('lists the loopback interface and routes loopback through it', async () => {
    expect(systemProbe.interfaces()).toContain('lo');
    expect((await systemProbe.routeTo('127.0.0.1'))?.iface).toBe('lo');
    expect(await systemProbe.addressesOf('lo')).toContainEqual({ address: '127.0.0.1', prefixLength: 8 });
  });
});
