import {
  ETHERNET_HEADER_LENGTH,
  EtherType,
  encodeIcmpFrame,
  fragmentationNeeded,
  icmpQuoteOf,
  IPV4_HEADER_LENGTH,
  isIcmpErrorDatagram,
  readEtherType,
  readEthernetDst,
  readEthernetSrc,
  readIpv4DontFragment,
  readIpv4Dst,
  readIpv4Src,
} from '@tcpts/core';

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
  if (frame.length < ip + IPV4_HEADER_LENGTH || readEtherType(frame) !== EtherType.IPv4 || !readIpv4DontFragment(frame, ip)) {
    return undefined;
  }
  const quote = icmpQuoteOf(frame, ip);
  if (isIcmpErrorDatagram(quote)) return undefined;
  return encodeIcmpFrame(
    {
      srcMac: readEthernetDst(frame),
      dstMac: readEthernetSrc(frame),
      srcIp: readIpv4Dst(frame, ip),
      dstIp: readIpv4Src(frame, ip),
      ttl: 64,
      identification: 0,
    },
    fragmentationNeeded(quote, mtu),
  );
};
