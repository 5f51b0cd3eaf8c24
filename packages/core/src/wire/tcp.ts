import { type Either, left, right } from 'fp-ts/lib/Either.js';
import { allocateBytes, readU16, readU32, writeU16, writeU32 } from './bytes.js';
import { internetChecksum, onesComplementSum, pseudoHeaderSum } from './checksum.js';
import { type DecodeError, decodeError } from './decode-error.js';
import { isPartialTcpChecksum, partialChecksumError } from './offload.js';
import { EMPTY_TCP_OPTIONS, decodeTcpOptions, tcpOptionsLength, writeTcpOptions } from './tcp-options.js';
import type { TcpSegment } from './tcp-types.js';

const TCP_PROTOCOL = 6;
export const TCP_HEADER_LENGTH = 20;
const CHECKSUM_OFFSET = 16;

const refuse = (field: string, reason: string): Either<DecodeError, TcpSegment> => left(decodeError('tcp', field, reason));

/**
 * Decodes a TCP segment carried from `srcIp` to `dstIp`, verifying its
 * checksum over the pseudo-header (RFC 9293 §3.1). The payload is a view into
 * `bytes`; nothing is copied.
 */
export const decodeTcp = (bytes: Uint8Array, srcIp: number, dstIp: number): Either<DecodeError, TcpSegment> =>
  decodeTcpAt(bytes, 0, bytes.length, srcIp, dstIp);

/**
 * As `decodeTcp`, for the segment at `bytes[start..end)`: a frame is decoded in place, without a view per layer.
 * `checksumVerified`: the device already found the checksum right (receive offload), so it is not summed again.
 */
export const decodeTcpAt = (
  bytes: Uint8Array,
  start: number,
  end: number,
  srcIp: number,
  dstIp: number,
  checksumVerified = false,
): Either<DecodeError, TcpSegment> => {
  const length = end - start;
  if (length < TCP_HEADER_LENGTH) return refuse('length', `${length} bytes is shorter than the 20-byte header`);
  // Checked before the header fields: a corrupt field is reported as corruption.
  if (!checksumVerified && onesComplementSum(bytes, start, end, pseudoHeaderSum(srcIp, dstIp, TCP_PROTOCOL, length)) !== 0xffff) {
    return isPartialTcpChecksum(bytes.subarray(start, end), srcIp, dstIp)
      ? left(partialChecksumError())
      : refuse('checksum', 'mismatch');
  }
  const headerLength = (bytes[start + 12]! >>> 4) * 4;
  if (headerLength < TCP_HEADER_LENGTH) {
    return refuse('dataOffset', `${headerLength / 4} words is below the minimum of 5`);
  }
  if (headerLength > length) {
    return refuse('dataOffset', `a ${headerLength}-byte header does not fit in the ${length}-byte segment`);
  }
  let options = EMPTY_TCP_OPTIONS;
  if (headerLength > TCP_HEADER_LENGTH) {
    const decoded = decodeTcpOptions(bytes, start + TCP_HEADER_LENGTH, start + headerLength);
    if (decoded._tag === 'Left') return decoded;
    options = decoded.right;
  }
  return right({
    srcPort: readU16(bytes, start),
    dstPort: readU16(bytes, start + 2),
    seq: readU32(bytes, start + 4),
    ack: readU32(bytes, start + 8),
    flags: bytes[start + 13]!,
    window: readU16(bytes, start + 14),
    urgent: readU16(bytes, start + 18),
    options,
    payload: bytes.subarray(start + headerLength, end),
  });
};

/** Header length of `segment` once encoded: 20 plus its padded options. */
export const tcpHeaderLength = (segment: TcpSegment): number => TCP_HEADER_LENGTH + tcpOptionsLength(segment.options);

/** Encoded length of `segment`: header, options and payload. */
export const tcpSegmentLength = (segment: TcpSegment): number => tcpHeaderLength(segment) + segment.payload.length;

/**
 * What goes in the checksum field: the checksum, or (`pseudo-header`) only the
 * folded pseudo-header sum, for a device that sums the segment itself and
 * stores the complement (transmit checksum offload, Linux's CHECKSUM_PARTIAL).
 */
export type TcpChecksumMode = 'full' | 'pseudo-header';

/**
 * Writes `segment` at `offset` in `buffer` (which must have
 * `tcpSegmentLength(segment)` bytes free there), checksum included, with one
 * copy of the payload. Returns the bytes written.
 */
export const encodeTcpInto = (
  buffer: Uint8Array,
  offset: number,
  segment: TcpSegment,
  srcIp: number,
  dstIp: number,
  checksumMode: TcpChecksumMode = 'full',
): number => {
  const headerLength = TCP_HEADER_LENGTH + writeTcpOptions(buffer, offset + TCP_HEADER_LENGTH, segment.options);
  const length = headerLength + segment.payload.length;
  writeU16(buffer, offset, segment.srcPort);
  writeU16(buffer, offset + 2, segment.dstPort);
  writeU32(buffer, offset + 4, segment.seq);
  writeU32(buffer, offset + 8, segment.ack);
  buffer[offset + 12] = (headerLength / 4) << 4;
  buffer[offset + 13] = segment.flags;
  writeU16(buffer, offset + 14, segment.window);
  writeU16(buffer, offset + CHECKSUM_OFFSET, 0);
  writeU16(buffer, offset + 18, segment.urgent);
  buffer.set(segment.payload, offset + headerLength);
  const pseudoHeader = pseudoHeaderSum(srcIp, dstIp, TCP_PROTOCOL, length);
  const checksum = checksumMode === 'full' ? internetChecksum(buffer, offset, offset + length, pseudoHeader) : pseudoHeader;
  writeU16(buffer, offset + CHECKSUM_OFFSET, checksum);
  return length;
};

export const encodeTcp = (segment: TcpSegment, srcIp: number, dstIp: number): Uint8Array => {
  const buffer = allocateBytes(tcpSegmentLength(segment));
  encodeTcpInto(buffer, 0, segment, srcIp, dstIp);
  return buffer;
};
