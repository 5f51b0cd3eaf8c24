/**
 * The little of Ethernet the link needs: MAC addresses as 48-bit integers (as
 * in `HostConfig.mac`) and the destination/source fields of a frame header.
 */

export const BROADCAST_MAC = 0xffff_ffff_ffff;
export const ETHERNET_HEADER_LENGTH = 14;

const TWO_POW_40 = 2 ** 40;
const TWO_POW_32 = 2 ** 32;

export const isValidMac = (mac: number): boolean => Number.isInteger(mac) && mac >= 0 && mac <= BROADCAST_MAC;

/** Reads the 6-byte MAC at `offset` (0: destination, 6: source). */
export const readMac = (frame: Uint8Array, offset: number): number => {
  if (frame.length < offset + 6) return -1;
  // Two bytes above 2^32 and four below; 48 bits stay exact in a double.
  const high = (frame[offset]! << 8) | frame[offset + 1]!;
  const low =
    ((frame[offset + 2]! << 24) | (frame[offset + 3]! << 16) | (frame[offset + 4]! << 8) | frame[offset + 5]!) >>> 0;
  return high * TWO_POW_32 + low;
};

export const writeMac = (target: Uint8Array, offset: number, mac: number): void => {
  const high = Math.floor(mac / TWO_POW_32);
  const low = mac >>> 0;
  target[offset] = high >>> 8;
  target[offset + 1] = high & 0xff;
  target[offset + 2] = low >>> 24;
  target[offset + 3] = (low >>> 16) & 0xff;
  target[offset + 4] = (low >>> 8) & 0xff;
  target[offset + 5] = low & 0xff;
};

export const formatMac = (mac: number): string => {
  const parts: string[] = [];
  for (let shift = TWO_POW_40; shift >= 1; shift /= 256) {
    parts.push((Math.floor(mac / shift) % 256).toString(16).padStart(2, '0'));
  }
  return parts.join(':');
};

/** A frame with the given header and payload (for tests and tools; hosts build their own). */
export const buildEthernetFrame = (destination: number, source: number, etherType: number, payload: Uint8Array): Uint8Array => {
  const frame = new Uint8Array(ETHERNET_HEADER_LENGTH + payload.length);
  writeMac(frame, 0, destination);
  writeMac(frame, 6, source);
  frame[12] = etherType >>> 8;
  frame[13] = etherType & 0xff;
  frame.set(payload, ETHERNET_HEADER_LENGTH);
  return frame;
};

/** The default frame description: length, MACs and EtherType. */
export const describeEthernetFrame = (frame: Uint8Array): string => {
  if (frame.length < ETHERNET_HEADER_LENGTH) return `${frame.length} B runt`;
  const etherType = ((frame[12]! << 8) | frame[13]!).toString(16).padStart(4, '0');
  return `${frame.length} B ${formatMac(readMac(frame, 6))} > ${formatMac(readMac(frame, 0))} type 0x${etherType}`;
};
