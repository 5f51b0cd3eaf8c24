import { type Either, left, right } from 'fp-ts/lib/Either.js';
import { allocateBytes, readU16, readU32, writeU16, writeU32 } from './bytes.js';
import { internetChecksum, onesComplementSum } from './checksum.js';
import { type DecodeError, decodeError } from './decode-error.js';
import { oversizedByOffloadError } from './offload.js';

/** IP protocol numbers (IANA "Assigned Internet Protocol Numbers"). */
export const IpProtocol = {
  ICMP: 1,
  TCP: 6,
  UDP: 17,
} as const;

export const IPV4_HEADER_LENGTH = 20;
/** The largest payload behind a 20-byte header: total length is a 16-bit field. */
export const IPV4_MAX_PAYLOAD = 0xffff - IPV4_HEADER_LENGTH;

const FLAG_DONT_FRAGMENT = 0x4000;
const FLAG_MORE_FRAGMENTS = 0x2000;
const FRAGMENT_OFFSET_MASK = 0x1fff;

/** The IPv4 header fields this stack reads and writes (RFC 791 §3.1). */
export interface Ipv4Header {
  readonly src: number;
  readonly dst: number;
  readonly protocol: number;
  readonly ttl: number;
  readonly identification: number;
  readonly dontFragment: boolean;
  /** The second header byte: DSCP (6 bits) and ECN (2 bits). */
  readonly dscpEcn: number;
}

export interface Ipv4Packet extends Ipv4Header {
  /** A view of exactly `totalLength - headerLength` bytes: link padding is cut off. */
  readonly payload: Uint8Array;
}

const refused = (field: string, reason: string): DecodeError => decodeError('ipv4', field, reason);

/**
 * Why the IPv4 packet at `bytes[start..end)` is refused, or undefined when it
 * is accepted (read it with the functions below). Options are skipped;
 * fragments are refused with the field `fragment`, after every other check:
 * the host hands them to its reassembler (stack/ipv4-reassembly.ts). With `mtu`,
 * packets longer than it are refused with the reason that marks segmentation
 * offload (see offload.ts).
 */
export const ipv4HeaderError = (bytes: Uint8Array, start: number, end: number, mtu?: number): DecodeError | undefined => {
  const available = end - start;
  if (available < IPV4_HEADER_LENGTH) {
    return refused('length', `${available} bytes is shorter than the 20-byte header`);
  }
  const version = bytes[start]! >>> 4;
  if (version !== 4) return refused('version', `${version}, expected 4`);
  const headerLength = (bytes[start]! & 0x0f) * 4;
  if (headerLength < IPV4_HEADER_LENGTH) {
    return refused('ihl', `${headerLength / 4} words is below the minimum of 5`);
  }
  if (headerLength > available) {
    return refused('ihl', `a ${headerLength}-byte header does not fit in the ${available} bytes received`);
  }
  const totalLength = readU16(bytes, start + 2);
  if (totalLength < headerLength) {
    return refused('totalLength', `${totalLength} is shorter than the ${headerLength}-byte header`);
  }
  if (totalLength > available) {
    return refused('totalLength', `${totalLength} exceeds the ${available} bytes received`);
  }
  // RFC 791 §3.1: the sum over the header, checksum included, is all ones.
  if (onesComplementSum(bytes, start, start + headerLength) !== 0xffff) return refused('checksum', 'mismatch');
  if (mtu !== undefined && totalLength > mtu) return oversizedByOffloadError();
  const flagsAndOffset = readU16(bytes, start + 6);
  if ((flagsAndOffset & FLAG_MORE_FRAGMENTS) !== 0 || (flagsAndOffset & FRAGMENT_OFFSET_MASK) !== 0) {
    return refused(
      'fragment',
      `a fragment, reassembled by the host and not decoded alone (more-fragments ${(flagsAndOffset & FLAG_MORE_FRAGMENTS) !== 0 ? 'set' : 'clear'}, offset ${(flagsAndOffset & FRAGMENT_OFFSET_MASK) * 8})`,
    );
  }
  return undefined;
};

/** Fields of a packet at `start` that `ipv4HeaderError` accepted, read in place: no object, no view per packet. */
export const readIpv4Src = (bytes: Uint8Array, start: number): number => readU32(bytes, start + 12);
export const readIpv4Dst = (bytes: Uint8Array, start: number): number => readU32(bytes, start + 16);
export const readIpv4Protocol = (bytes: Uint8Array, start: number): number => bytes[start + 9]!;
export const readIpv4Identification = (bytes: Uint8Array, start: number): number => readU16(bytes, start + 4);
export const readIpv4MoreFragments = (bytes: Uint8Array, start: number): boolean =>
  (readU16(bytes, start + 6) & FLAG_MORE_FRAGMENTS) !== 0;
export const readIpv4DontFragment = (bytes: Uint8Array, start: number): boolean =>
  (readU16(bytes, start + 6) & FLAG_DONT_FRAGMENT) !== 0;
/** Where a fragment's payload goes in its datagram, in bytes (RFC 791 §3.1: the field counts 8-byte units). */
export const readIpv4FragmentOffset = (bytes: Uint8Array, start: number): number =>
  (readU16(bytes, start + 6) & FRAGMENT_OFFSET_MASK) * 8;
/** Where the payload begins: after the header and its options. */
export const ipv4PayloadStart = (bytes: Uint8Array, start: number): number => start + (bytes[start]! & 0x0f) * 4;
/** Where the payload ends: link padding after it is not part of it. */
export const ipv4PayloadEnd = (bytes: Uint8Array, start: number): number => start + readU16(bytes, start + 2);

/**
 * Decodes an IPv4 packet. Options are skipped; fragments are refused (the
 * host reassembles them first). With `mtu`, packets longer than it are
 * refused with the reason that marks segmentation offload (see offload.ts).
 */
export const decodeIpv4 = (bytes: Uint8Array, mtu?: number): Either<DecodeError, Ipv4Packet> => {
  const error = ipv4HeaderError(bytes, 0, bytes.length, mtu);
  if (error !== undefined) return left(error);
  const flagsAndOffset = readU16(bytes, 6);
  return right({
    src: readIpv4Src(bytes, 0),
    dst: readIpv4Dst(bytes, 0),
    protocol: readIpv4Protocol(bytes, 0),
    ttl: bytes[8]!,
    identification: readU16(bytes, 4),
    dontFragment: (flagsAndOffset & FLAG_DONT_FRAGMENT) !== 0,
    dscpEcn: bytes[1]!,
    payload: bytes.subarray(ipv4PayloadStart(bytes, 0), ipv4PayloadEnd(bytes, 0)),
  });
};

/**
 * Writes a 20-byte header (no options) for a payload of `payloadLength` bytes
 * at `offset`, checksum included; returns the bytes written. `payloadLength`
 * must not exceed `IPV4_MAX_PAYLOAD`.
 */
export const writeIpv4Header = (buffer: Uint8Array, offset: number, header: Ipv4Header, payloadLength: number): number => {
  buffer[offset] = 0x45; // version 4, IHL 5
  buffer[offset + 1] = header.dscpEcn;
  writeU16(buffer, offset + 2, IPV4_HEADER_LENGTH + payloadLength);
  writeU16(buffer, offset + 4, header.identification);
  writeU16(buffer, offset + 6, header.dontFragment ? FLAG_DONT_FRAGMENT : 0);
  buffer[offset + 8] = header.ttl;
  buffer[offset + 9] = header.protocol;
  writeU16(buffer, offset + 10, 0);
  writeU32(buffer, offset + 12, header.src);
  writeU32(buffer, offset + 16, header.dst);
  writeU16(buffer, offset + 10, internetChecksum(buffer, offset, offset + IPV4_HEADER_LENGTH));
  return IPV4_HEADER_LENGTH;
};

export const encodeIpv4Into = (buffer: Uint8Array, offset: number, packet: Ipv4Packet): number => {
  writeIpv4Header(buffer, offset, packet, packet.payload.length);
  buffer.set(packet.payload, offset + IPV4_HEADER_LENGTH);
  return IPV4_HEADER_LENGTH + packet.payload.length;
};

export const encodeIpv4 = (packet: Ipv4Packet): Uint8Array => {
  const buffer = allocateBytes(IPV4_HEADER_LENGTH + packet.payload.length);
  encodeIpv4Into(buffer, 0, packet);
  return buffer;
};
