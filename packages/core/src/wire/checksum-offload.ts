/**
 * What a device with checksum offload does, as a NIC's engine would (and as
 * the packet-ring addon does in C, which its tests compare with this): it
 * vouches for received frames whose TCP checksum is right, and finishes the
 * TCP checksums its host left to it. Only unfragmented IPv4 TCP datagrams are
 * touched; their extent is the one the host reads (RFC 791).
 */
import { writeU16 } from './bytes.js';
import { onesComplementSum, pseudoHeaderSum } from './checksum.js';
import { ETHERNET_HEADER_LENGTH, EtherType, readEtherType } from './ethernet.js';
import {
  IPV4_HEADER_LENGTH,
  IpProtocol,
  ipv4PayloadEnd,
  ipv4PayloadStart,
  readIpv4FragmentOffset,
  readIpv4Dst,
  readIpv4MoreFragments,
  readIpv4Protocol,
  readIpv4Src,
} from './ipv4.js';

const TCP_HEADER_LENGTH = 20;
const TCP_CHECKSUM_OFFSET = 16;
const IP = ETHERNET_HEADER_LENGTH;

/**
 * Where the TCP segment of an Ethernet frame lies, when the frame holds an
 * unfragmented IPv4 TCP datagram: from the end of the IPv4 header to the end
 * the header's total length gives, within the frame.
 */
export const tcpSegmentBounds = (frame: Uint8Array): { readonly start: number; readonly end: number } | undefined => {
  if (frame.length < IP + IPV4_HEADER_LENGTH || readEtherType(frame) !== EtherType.IPv4) return undefined;
  if (frame[IP]! >> 4 !== 4) return undefined;
  const start = ipv4PayloadStart(frame, IP);
  const end = ipv4PayloadEnd(frame, IP);
  if (start < IP + IPV4_HEADER_LENGTH || end < start + TCP_HEADER_LENGTH || end > frame.length) return undefined;
  if (readIpv4Protocol(frame, IP) !== IpProtocol.TCP) return undefined;
  if (readIpv4MoreFragments(frame, IP) || readIpv4FragmentOffset(frame, IP) !== 0) return undefined;
  return { start, end };
};

/**
 * Receive checksum offload: whether a device may vouch for this frame's TCP
 * checksum (`FrameCheck.tcpChecksum`): an unfragmented IPv4 TCP datagram whose
 * sum over the pseudo-header and segment comes out right (RFC 9293 §3.1).
 */
export const tcpChecksumVerifies = (frame: Uint8Array): boolean => {
  const bounds = tcpSegmentBounds(frame);
  if (bounds === undefined) return false;
  const pseudoHeader = pseudoHeaderSum(readIpv4Src(frame, IP), readIpv4Dst(frame, IP), IpProtocol.TCP, bounds.end - bounds.start);
  return onesComplementSum(frame, bounds.start, bounds.end, pseudoHeader) === 0xffff;
};

/**
 * Transmit checksum offload, in place: the host left the folded pseudo-header
 * sum in the checksum field (`HostConfig.transmitChecksumOffload`); the sum of
 * the segment over it covers the pseudo-header too, and its complement is the
 * checksum. Frames that are not unfragmented IPv4 TCP are left alone.
 */
export const finishTcpChecksum = (frame: Uint8Array): void => {
  const bounds = tcpSegmentBounds(frame);
  if (bounds === undefined) return;
  const checksum = ~onesComplementSum(frame, bounds.start, bounds.end) & 0xffff;
  writeU16(frame, bounds.start + TCP_CHECKSUM_OFFSET, checksum);
};
