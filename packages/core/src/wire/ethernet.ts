import { type Either, left, right } from 'fp-ts/lib/Either.js';
import { readMac, writeMac } from './addresses.js';
import { allocateBytes, readU16, writeU16 } from './bytes.js';
import { type DecodeError, decodeError } from './decode-error.js';

export const EtherType = {
  IPv4: 0x0800,
  ARP: 0x0806,
} as const;

export const ETHERNET_HEADER_LENGTH = 14;
/** Values below this in the type field are IEEE 802.3 lengths, not Ethernet II types. */
const MIN_ETHER_TYPE = 0x0600;

/** An Ethernet II frame (without FCS, which the NIC strips and adds). */
export interface EthernetFrame {
  readonly dst: number;
  readonly src: number;
  readonly etherType: number;
  /** A view into the decoded frame, padding included: the next layer knows its own length. */
  readonly payload: Uint8Array;
}

/** Why `frame` has no Ethernet II header, or undefined when it has one (read it with the functions below). */
export const ethernetHeaderError = (frame: Uint8Array): DecodeError | undefined => {
  if (frame.length < ETHERNET_HEADER_LENGTH) {
    return decodeError('ethernet', 'length', `${frame.length} bytes is shorter than the 14-byte header`);
  }
  const etherType = readU16(frame, 12);
  if (etherType < MIN_ETHER_TYPE) {
    return decodeError('ethernet', 'etherType', `${etherType} is an IEEE 802.3 length, not an Ethernet II type`);
  }
  return undefined;
};

/** Fields of a frame that `ethernetHeaderError` accepted, read in place: no object, no view per frame. */
export const readEthernetDst = (frame: Uint8Array): number => readMac(frame, 0);
export const readEthernetSrc = (frame: Uint8Array): number => readMac(frame, 6);
export const readEtherType = (frame: Uint8Array): number => readU16(frame, 12);

export const decodeEthernet = (frame: Uint8Array): Either<DecodeError, EthernetFrame> => {
  const error = ethernetHeaderError(frame);
  if (error !== undefined) return left(error);
  return right({
    dst: readEthernetDst(frame),
    src: readEthernetSrc(frame),
    etherType: readEtherType(frame),
    payload: frame.subarray(ETHERNET_HEADER_LENGTH),
  });
};

/** Writes the 14-byte header at `offset`; returns the bytes written. */
export const writeEthernetHeader = (
  buffer: Uint8Array,
  offset: number,
  dst: number,
  src: number,
  etherType: number,
): number => {
  writeMac(buffer, offset, dst);
  writeMac(buffer, offset + 6, src);
  writeU16(buffer, offset + 12, etherType);
  return ETHERNET_HEADER_LENGTH;
};

/**
 * Writes header and payload at `offset`; returns the bytes written. No padding
 * to the 60-byte minimum: the NIC adds it.
 */
export const encodeEthernetInto = (buffer: Uint8Array, offset: number, frame: EthernetFrame): number => {
  writeEthernetHeader(buffer, offset, frame.dst, frame.src, frame.etherType);
  buffer.set(frame.payload, offset + ETHERNET_HEADER_LENGTH);
  return ETHERNET_HEADER_LENGTH + frame.payload.length;
};

export const encodeEthernet = (frame: EthernetFrame): Uint8Array => {
  const buffer = allocateBytes(ETHERNET_HEADER_LENGTH + frame.payload.length);
  encodeEthernetInto(buffer, 0, frame);
  return buffer;
};
