/** Hand-made frames for the device tests. */
import { formatMac, parseIpv4 } from '../addresses.js';

export const macBytes = (mac: number): number[] =>
  formatMac(mac)
    .split(':')
    .map((octet) => Number.parseInt(octet, 16));

export function ipBytes(text: string): number[] {
  const value = parseIpv4(text);
  return [value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff];
}

/** ARP request (RFC 826), broadcast: who has `targetIp`? tell `senderIp` at `senderMac`. */
export function arpRequest(senderMac: number, senderIp: string, targetIp: string): Uint8Array {
  return Uint8Array.from([
    ...[0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    ...macBytes(senderMac),
    0x08, 0x06,
    0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01,
    ...macBytes(senderMac),
    ...ipBytes(senderIp),
    ...[0, 0, 0, 0, 0, 0],
    ...ipBytes(targetIp),
  ]);
}

/**
 * A SYN,ACK from `fromIp`:80 to `toIp` whose checksum field holds only the
 * pseudo-header sum: what a segment left to checksum offload looks like.
 */
export function segmentWithSeededChecksum(toMac: number, fromMac: number, fromIp: string, toIp: string): Uint8Array {
  const segment = new Uint8Array(14 + 20 + 20);
  segment.set([...macBytes(toMac), ...macBytes(fromMac), 0x08, 0x00], 0);
  segment.set([0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0, ...ipBytes(fromIp), ...ipBytes(toIp)], 14);
  segment.set([0, 80, 0xc3, 0x50, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x12, 0xff, 0xff], 34);
  const words = [...ipBytes(fromIp), ...ipBytes(toIp)];
  let seed = 6 + 20;
  for (let i = 0; i < words.length; i += 2) seed += ((words[i] ?? 0) << 8) | (words[i + 1] ?? 0);
  while (seed > 0xffff) seed = (seed & 0xffff) + (seed >>> 16);
  segment.set([seed >> 8, seed & 0xff], 34 + 16);
  return segment;
}
