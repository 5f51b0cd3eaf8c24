import { ARP_PACKET_LENGTH, type ArpPacket, encodeArpInto } from './arp.js';
import { allocateBytes } from './bytes.js';
import { ETHERNET_HEADER_LENGTH, EtherType, writeEthernetHeader } from './ethernet.js';
import { type IcmpMessage, encodeIcmpInto, icmpLength } from './icmp.js';
import { IPV4_HEADER_LENGTH, IpProtocol, writeIpv4Header } from './ipv4.js';
import { encodeTcpInto, type TcpChecksumMode, tcpSegmentLength } from './tcp.js';
import type { TcpSegment } from './tcp-types.js';

/**
 * Frame builders for the host: Ethernet, IPv4 and the upper layer written
 * into ONE buffer, so a data segment costs one allocation and one payload copy.
 * Frames are views into shared slabs (see `allocateBytes`): do not transfer
 * or detach their `.buffer`.
 */

/** Everything below TCP/ICMP that a frame needs. */
export interface FrameAddressing {
  readonly srcMac: number;
  readonly dstMac: number;
  readonly srcIp: number;
  readonly dstIp: number;
  readonly ttl: number;
  readonly identification: number;
  /** Defaults to true: TCP relies on path MTU discovery (RFC 1191), as Linux does. */
  readonly dontFragment?: boolean;
  /** DSCP and ECN bits, default 0. */
  readonly dscpEcn?: number;
}

const IP_OFFSET = ETHERNET_HEADER_LENGTH;
const TRANSPORT_OFFSET = ETHERNET_HEADER_LENGTH + IPV4_HEADER_LENGTH;

/** Writes the Ethernet and IPv4 headers of a datagram carrying `transportLength` bytes of `protocol`. */
export const writeHeaders = (
  buffer: Uint8Array,
  offset: number,
  addressing: FrameAddressing,
  protocol: number,
  transportLength: number,
): void => {
  writeEthernetHeader(buffer, offset, addressing.dstMac, addressing.srcMac, EtherType.IPv4);
  writeIpv4Header(
    buffer,
    offset + IP_OFFSET,
    {
      src: addressing.srcIp,
      dst: addressing.dstIp,
      protocol,
      ttl: addressing.ttl,
      identification: addressing.identification,
      dontFragment: addressing.dontFragment ?? true,
      dscpEcn: addressing.dscpEcn ?? 0,
    },
    transportLength,
  );
};

/** Bytes an Ethernet/IPv4/TCP frame for `segment` takes. */
export const tcpFrameLength = (segment: TcpSegment): number => TRANSPORT_OFFSET + tcpSegmentLength(segment);

/** Writes the whole frame at `offset` (room for `tcpFrameLength(segment)` needed); returns its length. */
export const encodeTcpFrameInto = (
  buffer: Uint8Array,
  offset: number,
  addressing: FrameAddressing,
  segment: TcpSegment,
  checksumMode: TcpChecksumMode = 'full',
): number => {
  const tcpLength = encodeTcpInto(buffer, offset + TRANSPORT_OFFSET, segment, addressing.srcIp, addressing.dstIp, checksumMode);
  writeHeaders(buffer, offset, addressing, IpProtocol.TCP, tcpLength);
  return TRANSPORT_OFFSET + tcpLength;
};

export const encodeTcpFrame = (addressing: FrameAddressing, segment: TcpSegment, checksumMode: TcpChecksumMode = 'full'): Uint8Array => {
  const buffer = allocateBytes(tcpFrameLength(segment));
  encodeTcpFrameInto(buffer, 0, addressing, segment, checksumMode);
  return buffer;
};

export const encodeIcmpFrame = (addressing: FrameAddressing, message: IcmpMessage): Uint8Array => {
  const buffer = allocateBytes(TRANSPORT_OFFSET + icmpLength(message));
  const length = encodeIcmpInto(buffer, TRANSPORT_OFFSET, message);
  writeHeaders(buffer, 0, addressing, IpProtocol.ICMP, length);
  return buffer;
};

export const encodeArpFrame = (dstMac: number, srcMac: number, packet: ArpPacket): Uint8Array => {
  const buffer = allocateBytes(ETHERNET_HEADER_LENGTH + ARP_PACKET_LENGTH);
  writeEthernetHeader(buffer, 0, dstMac, srcMac, EtherType.ARP);
  encodeArpInto(buffer, ETHERNET_HEADER_LENGTH, packet);
  return buffer;
};
