import { randomBytes } from 'node:crypto';
import { IoPcapError } from './errors.js';

const IPV4_PATTERN = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const MAC_PATTERN = /^([0-9a-f]{2})([:-][0-9a-f]{2}){5}$/i;

/** Dotted quad → unsigned 32-bit integer; `invalid-address` otherwise. */
export function parseIpv4(text: string, what = 'IPv4 address'): number {
  const match = IPV4_PATTERN.exec(text.trim());
  if (match === null) throw new IoPcapError('invalid-address', `${what} "${text}" is not a dotted-quad IPv4 address`);
  let value = 0;
  for (let i = 1; i <= 4; i++) {
    const octet = Number(match[i]);
    if (octet > 255) throw new IoPcapError('invalid-address', `${what} "${text}" has an octet above 255`);
    value = value * 256 + octet;
  }
  return value;
}

export function formatIpv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff].join('.');
}

/** `aa:bb:cc:dd:ee:ff` (or with dashes) → 48-bit integer. */
export function parseMac(text: string): number {
  const trimmed = text.trim();
  if (!MAC_PATTERN.test(trimmed)) throw new IoPcapError('invalid-address', `MAC address "${text}" is not six hex octets`);
  return Number.parseInt(trimmed.replace(/[:-]/g, ''), 16);
}

export function formatMac(value: number): string {
  const octets: string[] = [];
  // 48-bit values exceed 32-bit bit operations: divide instead of shifting.
  let rest = value;
  for (let i = 0; i < 6; i++) {
    octets.unshift((rest % 256).toString(16).padStart(2, '0'));
    rest = Math.floor(rest / 256);
  }
  return octets.join(':');
}

/**
 * A random unicast, locally administered MAC (IEEE 802: bit 1 of the first
 * octet set, bit 0 clear), so it cannot collide with a vendor-assigned one.
 */
export function randomLocalMac(random: (size: number) => Uint8Array = randomBytes): number {
  const bytes = random(6);
  let value = ((bytes[0] ?? 0) & 0xfc) | 0x02;
  for (let i = 1; i < 6; i++) value = value * 256 + (bytes[i] ?? 0);
  return value;
}

export function isLocallyAdministeredUnicast(mac: number): boolean {
  const first = Math.floor(mac / 2 ** 40);
  return (first & 0x03) === 0x02;
}

/** Whether `a` and `b` share the first `prefixLength` bits. */
export function sameSubnet(a: number, b: number, prefixLength: number): boolean {
  if (prefixLength <= 0) return true;
  const mask = prefixLength >= 32 ? 0xffffffff : (0xffffffff << (32 - prefixLength)) >>> 0;
  return ((a & mask) >>> 0) === ((b & mask) >>> 0);
}
