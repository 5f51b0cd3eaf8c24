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

const refuse = (field: string, reason: string): Either<DecodeError, Ipv4Packet> =>
  left(decodeError('ipv4', field, reason));

/**
 * Decodes an IPv4 packet. Options are skipped; fragments are refused since
 * this stack does not reassemble. With `mtu`, packets longer than it are
 * refused with the reason that marks segmentation offload (see offload.ts).
 */
export const decodeIpv4 = (bytes: Uint8Array, mtu?: number): Either<DecodeError, Ipv4Packet> => {
  if (bytes.length < IPV4_HEADER_LENGTH) {
    return refuse('length', `${bytes.length} bytes is shorter than the 20-byte header`);
  }
  const version = bytes[0]! >>> 4;
  if (version !== 4) return refuse('version', `${version}, expected 4`);
  const headerLength = (bytes[0]! & 0x0f) * 4;
  if (headerLength < IPV4_HEADER_LENGTH) {
    return refuse('ihl', `${headerLength / 4} words is below the minimum of 5`);
  }
  if (headerLength > bytes.length) {
    return refuse('ihl', `a ${headerLength}-byte header does not fit in the ${bytes.length} bytes received`);
  }
  const totalLength = readU16(bytes, 2);
  if (totalLength < headerLength) {
    return refuse('totalLength', `${totalLength} is shorter than the ${headerLength}-byte header`);
  }
  if (totalLength > bytes.length) {
    return refuse('totalLength', `${totalLength} exceeds the ${bytes.length} bytes received`);
  }
  // RFC 791 §3.1: the sum over the header, checksum included, is all ones.
  if (onesComplementSum(bytes, 0, headerLength) !== 0xffff) return refuse('checksum', 'mismatch');
  if (mtu !== undefined && totalLength > mtu) return left(oversizedByOffloadError());
  const flagsAndOffset = readU16(bytes, 6);
  if ((flagsAndOffset & FLAG_MORE_FRAGMENTS) !== 0 || (flagsAndOffset & FRAGMENT_OFFSET_MASK) !== 0) {
    return refuse(
      'fragment',
      `fragments are not reassembled (more-fragments ${(flagsAndOffset & FLAG_MORE_FRAGMENTS) !== 0 ? 'set' : 'clear'}, offset ${(flagsAndOffset & FRAGMENT_OFFSET_MASK) * 8})`,
    );
  }
  return right({
    src: readU32(bytes, 12),
    dst: readU32(bytes, 16),
    protocol: bytes[9]!,
    ttl: bytes[8]!,
    identification: readU16(bytes, 4),
    dontFragment: (flagsAndOffset & FLAG_DONT_FRAGMENT) !== 0,
    dscpEcn: bytes[1]!,
    payload: bytes.subarray(headerLength, totalLength),
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
