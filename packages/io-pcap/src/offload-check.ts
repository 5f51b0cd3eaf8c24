/**
 * Recognises frames that only exist because of NIC offloads, which a stack
 * reading raw frames cannot digest:
 * - super-frames merged by GRO/LRO (or built by TSO on a veth peer), longer than the MTU;
 * - TCP segments sent with CHECKSUM_PARTIAL: on a veth the checksum is never
 *   finished, and its field still holds the pseudo-header sum the kernel seeded it with.
 */
import { IoPcapError } from './errors.js';
import type { DeviceCounters } from './frame-device.js';

export type FrameVerdict = 'ok' | 'oversized' | 'partial-checksum';

const ETHERNET_HEADER = 14;
const ETHERTYPE_IPV4 = 0x0800;
const PROTOCOL_TCP = 6;

export function inspectFrame(frame: Uint8Array, mtu: number): FrameVerdict {
  if (frame.length > mtu + ETHERNET_HEADER) return 'oversized';
  return hasPartialTcpChecksum(frame) ? 'partial-checksum' : 'ok';
}

function offloadAdvice(iface: string): string {
  return `run: ethtool -K ${iface} tso off gso off gro off tx off rx off (on this interface and on its veth peer)`;
}

/** What a capture knows of a frame beyond its bytes. */
export interface CaptureHints {
  /** The capture cut the frame short, which only a super-frame can cause. */
  truncated?: boolean;
  /**
   * The kernel says whether the checksum was left to offload (TP_STATUS_CSUMNOTREADY
   * of a packet ring). Unknown (libpcap does not tell): the frame itself is examined.
   */
  checksumPending?: boolean;
}

/**
 * What a device does with an offload frame: it counts it and stops with an
 * error saying which `ethtool -K` to run. Taking super-frames apart or finishing
 * checksums would hide a misconfigured link behind a slower path.
 */
export function offloadFailure(
  frame: Uint8Array,
  mtu: number,
  iface: string,
  counters: DeviceCounters,
  hints: CaptureHints = {},
): IoPcapError | undefined {
  const truncated = hints.truncated === true;
  const verdict =
    truncated || frame.length > mtu + ETHERNET_HEADER
      ? 'oversized'
      : hints.checksumPending === undefined
        ? inspectFrame(frame, mtu)
        : hints.checksumPending
          ? 'partial-checksum'
          : 'ok';
  if (verdict === 'oversized') {
    counters.oversized++;
    const size = truncated ? 'a truncated' : `a ${frame.length}-byte`;
    const limit = `MTU ${mtu} + ${ETHERNET_HEADER}`;
    const why = 'segmentation/receive offloads are on, and this stack does not take super-frames apart';
    return new IoPcapError('offload', `received ${size} frame on ${iface}, above ${limit}: ${why}; ${offloadAdvice(iface)}`);
  }
  if (verdict === 'partial-checksum') {
    counters.partialChecksums++;
    const what = `received a TCP segment on ${iface} whose checksum was left to checksum offload`;
    return new IoPcapError('offload', `${what}; ${offloadAdvice(iface)}`);
  }
  return undefined;
}

/** Ones' complement sum (RFC 1071) of `bytes[start, end)` added to `initial`, folded to 16 bits. */
export function onesComplementSum(bytes: Uint8Array, start: number, end: number, initial = 0): number {
  let sum = initial;
  let i = start;
  for (; i + 1 < end; i += 2) sum += ((bytes[i] as number) << 8) | (bytes[i + 1] as number);
  if (i < end) sum += (bytes[i] as number) << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/** Sum of the TCP pseudo-header (RFC 9293 §3.1): addresses, protocol, TCP length. */
function pseudoHeaderSum(frame: Uint8Array, ipStart: number, tcpLength: number): number {
  let sum = onesComplementSum(frame, ipStart + 12, ipStart + 20) + PROTOCOL_TCP + tcpLength;
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

function hasPartialTcpChecksum(frame: Uint8Array): boolean {
  if (frame.length < ETHERNET_HEADER + 20) return false;
  if ((((frame[12] as number) << 8) | (frame[13] as number)) !== ETHERTYPE_IPV4) return false;
  const ip = ETHERNET_HEADER;
  const headerLength = ((frame[ip] as number) & 0x0f) * 4;
  const totalLength = ((frame[ip + 2] as number) << 8) | (frame[ip + 3] as number);
  const fragmentField = (((frame[ip + 6] as number) & 0x3f) << 8) | (frame[ip + 7] as number);
  if (frame[ip + 9] !== PROTOCOL_TCP || fragmentField !== 0 || headerLength < 20) return false;
  const tcp = ip + headerLength;
  const end = ip + totalLength;
  // Malformed frames are the host's business: it decodes and counts them.
  if (end > frame.length || end < tcp + 20) return false;
  const tcpLength = end - tcp;
  const pseudo = pseudoHeaderSum(frame, ip, tcpLength);
  const field = ((frame[tcp + 16] as number) << 8) | (frame[tcp + 17] as number);
  if (field !== pseudo) return false;
  // The seed pattern can occur by chance in a correct segment: only a sum that fails proves it.
  return onesComplementSum(frame, tcp, end, pseudo) !== 0xffff;
}
