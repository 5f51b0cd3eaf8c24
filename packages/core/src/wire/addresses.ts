import { type Either, left, right } from 'fp-ts/lib/Either.js';
import { readU16, readU32 } from './bytes.js';

/**
 * Addresses are plain numbers so they compare with `===` and cost nothing to
 * pass around: IPv4 as an unsigned 32-bit integer, MAC as a 48-bit integer
 * (exact in a double, which holds 53 bits).
 */

export const BROADCAST_MAC = 0xffff_ffff_ffff;
export const UNSPECIFIED_MAC = 0;

const DOTTED_QUAD = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** "198.18.0.1" → 0xc6120001. Leading zeros are refused: some tools read them as octal. */
export const parseIpv4 = (text: string): Either<string, number> => {
  const match = DOTTED_QUAD.exec(text.trim());
  if (match === null) return left(`invalid IPv4 address "${text}": expected four dot-separated decimal numbers`);
  let address = 0;
  for (let i = 1; i <= 4; i++) {
    const part = match[i] ?? '';
    if (part.length > 1 && part.startsWith('0')) {
      return left(`invalid IPv4 address "${text}": "${part}" has a leading zero`);
    }
    const octet = Number(part);
    if (octet > 255) return left(`invalid IPv4 address "${text}": ${octet} is above 255`);
    address = address * 256 + octet;
  }
  return right(address);
};

export const formatIpv4 = (address: number): string =>
  `${(address >>> 24) & 0xff}.${(address >>> 16) & 0xff}.${(address >>> 8) & 0xff}.${address & 0xff}`;

const MAC_TEXT = /^([0-9a-f]{2})([:-])([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})$/i;

/** "02:00:00:00:00:01" (or with dashes) → 0x020000000001. */
export const parseMac = (text: string): Either<string, number> => {
  const match = MAC_TEXT.exec(text.trim());
  if (match === null) return left(`invalid MAC address "${text}": expected six hex byte pairs separated by ':' or '-'`);
  let mac = 0;
  for (const group of [1, 3, 4, 5, 6, 7]) mac = mac * 256 + parseInt(match[group] ?? '', 16);
  return right(mac);
};

const hexByte = (value: number): string => value.toString(16).padStart(2, '0');

export const formatMac = (mac: number): string => {
  const high = Math.floor(mac / 0x1_0000_0000);
  const low = mac >>> 0;
  return [high >>> 8, high & 0xff, low >>> 24, (low >>> 16) & 0xff, (low >>> 8) & 0xff, low & 0xff]
    .map(hexByte)
    .join(':');
};

/** The netmask of a prefix length, e.g. 24 → 0xffffff00. Lengths outside 0–32 are clamped. */
export const prefixMask = (prefixLength: number): number => {
  if (prefixLength <= 0) return 0;
  if (prefixLength >= 32) return 0xffff_ffff;
  return (0xffff_ffff << (32 - prefixLength)) >>> 0;
};

/** Whether `ip` lies in `network/prefixLength`; host bits of `network` are ignored. */
export const isInPrefix = (ip: number, network: number, prefixLength: number): boolean => {
  const mask = prefixMask(prefixLength);
  return ((ip & mask) >>> 0) === ((network & mask) >>> 0);
};

/** Reads a 48-bit MAC stored big-endian at `offset`. The caller guarantees 6 bytes. */
export const readMac = (bytes: Uint8Array, offset: number): number =>
  readU16(bytes, offset) * 0x1_0000_0000 + readU32(bytes, offset + 2);

/** Writes a 48-bit MAC big-endian at `offset`. */
export const writeMac = (bytes: Uint8Array, offset: number, mac: number): void => {
  const high = Math.floor(mac / 0x1_0000_0000);
  const low = mac >>> 0;
  bytes[offset] = high >>> 8;
  bytes[offset + 1] = high;
  bytes[offset + 2] = low >>> 24;
  bytes[offset + 3] = low >>> 16;
  bytes[offset + 4] = low >>> 8;
  bytes[offset + 5] = low;
};
