import { encodeIcmpFrame, FRAGMENTATION_NEEDED, IcmpType, isIcmpErrorType, readMac, readU32 } from '@tcpts/core';
import { ETHERNET_HEADER_LENGTH } from './ethernet.js';

const IPV4_DONT_FRAGMENT = 0x40;
const ICMP = 1;
/** RFC 792: an ICMP error quotes the header and the first 64 bits of the datagram's data. */
const QUOTED_DATA = 8;

/**
 * What the router before a narrow hop sends back when a packet with Don't
 * Fragment set does not fit (RFC 792, RFC 1191 §4): Destination Unreachable,
 * "fragmentation needed", with the next hop's MTU and the start of the packet.
 * It comes from the packet's destination address and MAC, as if the far end of
 * the hop answered; the sender cares only for what it quotes. Undefined for a
 * frame that gets no such answer: not IPv4, DF clear, or itself an ICMP error.
 */
export const fragmentationNeededFor = (frame: Uint8Array, mtu: number): Uint8Array | undefined => {
  const ip = ETHERNET_HEADER_LENGTH;
  if (frame.length < ip + 20 || frame[12] !== 0x08 || frame[13] !== 0x00) return undefined;
  if ((frame[ip + 6]! & IPV4_DONT_FRAGMENT) === 0) return undefined;
  const headerLength = (frame[ip]! & 0x0f) * 4;
  if (frame[ip + 9] === ICMP && isIcmpErrorType(frame[ip + headerLength] ?? IcmpType.EchoRequest)) return undefined;
  const quote = frame.subarray(ip, Math.min(frame.length, ip + headerLength + QUOTED_DATA));
  const body = new Uint8Array(4 + quote.length);
  body[2] = mtu >> 8;
  body[3] = mtu & 0xff;
  body.set(quote, 4);
  return encodeIcmpFrame(
    { srcMac: readMac(frame, 0), dstMac: readMac(frame, 6), srcIp: readU32(frame, ip + 16), dstIp: readU32(frame, ip + 12), ttl: 64, identification: 0 },
    { kind: 'other', type: IcmpType.DestinationUnreachable, code: FRAGMENTATION_NEEDED, body },
  );
};
