import { readU16 } from './bytes.js';
import { pseudoHeaderSum } from './checksum.js';
import { type DecodeError, decodeError } from './decode-error.js';
import type { Ipv4Packet } from './ipv4.js';

/**
 * Checksum and segmentation offloads make the kernel hand a capture socket
 * frames a wire never carries: TCP segments larger than the MTU (TSO, GSO,
 * GRO) and TCP checksums not yet computed (TX checksum offload). A user-space
 * stack on such an interface must ask for the offloads to be turned off; the
 * decoders report these cases with the fixed reasons below so the host can
 * tell them apart from corruption.
 */

const TCP_PROTOCOL = 6;
const TCP_CHECKSUM_OFFSET = 16;

export const offloadAdvice = (device = 'DEV'): string =>
  `turn off offloads with \`ethtool -K ${device} tso off gso off gro off tx off rx off\``;

export const OVERSIZED_BY_OFFLOAD_REASON = `larger than the MTU: segmentation offload (TSO/GSO/GRO) is on; ${offloadAdvice()}`;
export const PARTIAL_CHECKSUM_REASON = `partial checksum: transmit checksum offload is on; ${offloadAdvice()}`;

export type OffloadSymptom = 'oversized' | 'partial-checksum';

export const oversizedByOffloadError = (): DecodeError =>
  decodeError('ipv4', 'totalLength', OVERSIZED_BY_OFFLOAD_REASON);

export const partialChecksumError = (): DecodeError => decodeError('tcp', 'checksum', PARTIAL_CHECKSUM_REASON);

/** Whether a decode error is the mark of an offload rather than of a bad frame. */
export const offloadSymptomOf = (error: DecodeError): OffloadSymptom | undefined => {
  if (error.layer === 'ipv4' && error.field === 'totalLength' && error.reason === OVERSIZED_BY_OFFLOAD_REASON) {
    return 'oversized';
  }
  if (error.layer === 'tcp' && error.field === 'checksum' && error.reason === PARTIAL_CHECKSUM_REASON) {
    return 'partial-checksum';
  }
  return undefined;
};

/**
 * With TX checksum offload the sender leaves in the checksum field only the
 * folded pseudo-header sum, not complemented, for the NIC to finish. A TCP
 * segment whose checksum failed and whose field holds exactly that value was
 * sent by such a host (the chance of corruption producing it is 1 in 65535).
 */
export const isPartialTcpChecksum = (segment: Uint8Array, srcIp: number, dstIp: number): boolean =>
  segment.length >= TCP_CHECKSUM_OFFSET + 2 &&
  readU16(segment, TCP_CHECKSUM_OFFSET) === pseudoHeaderSum(srcIp, dstIp, TCP_PROTOCOL, segment.length);

/** As `isPartialTcpChecksum`, for a decoded IPv4 packet carrying TCP. */
export const hasPartialTcpChecksum = (packet: Ipv4Packet): boolean =>
  packet.protocol === TCP_PROTOCOL && isPartialTcpChecksum(packet.payload, packet.src, packet.dst);

/** Whether raw IPv4 bytes declare a total length above `mtu` (what TSO/GSO/GRO produce). */
export const exceedsMtu = (ipv4Bytes: Uint8Array, mtu: number): boolean =>
  ipv4Bytes.length >= 4 && Math.max(readU16(ipv4Bytes, 2), ipv4Bytes.length) > mtu;
