import { describe, expect, it } from 'vitest';
import { formatIpv4, formatMac } from './addresses.js';
import { ArpOperation, decodeArp } from './arp.js';
import { onesComplementSum } from './checksum.js';
import { EtherType, type EthernetFrame, decodeEthernet, encodeEthernet } from './ethernet.js';
import { fromHex, linuxFrames } from './fixtures/linux-frames.js';
import { encodeArpFrame, encodeIcmpFrame, encodeTcpFrame } from './frame.js';
import { decodeIcmp, encodeIcmp } from './icmp.js';
import { IpProtocol, type Ipv4Packet, decodeIpv4, encodeIpv4 } from './ipv4.js';
import { decodeTcp } from './tcp.js';
import { TcpFlag, type TcpSegment } from './tcp-types.js';

/**
 * Expected values come from tcpdump's own dissection of the capture (`tcpdump
 * -nn -e -v -r`), not from our decoders.
 */

const A_MAC = '02:00:00:99:00:01';
const B_MAC = '02:00:00:99:00:02';

const ethernet = (frame: Uint8Array): EthernetFrame => {
  const result = decodeEthernet(frame);
  if (result._tag === 'Left') throw new Error(`ethernet refused: ${result.left.reason}`);
  return result.right;
};

const ipv4 = (frame: Uint8Array): Ipv4Packet => {
  const result = decodeIpv4(ethernet(frame).payload, 1500);
  if (result._tag === 'Left') throw new Error(`ipv4 refused: ${result.left.field}: ${result.left.reason}`);
  return result.right;
};

const tcp = (frame: Uint8Array): { ip: Ipv4Packet; segment: TcpSegment } => {
  const ip = ipv4(frame);
  expect(ip.protocol).toBe(IpProtocol.TCP);
  const result = decodeTcp(ip.payload, ip.src, ip.dst);
  if (result._tag === 'Left') throw new Error(`tcp refused: ${result.left.field}: ${result.left.reason}`);
  return { ip, segment: result.right };
};

/** Rebuilds the whole frame from the decoded representations. */
const reencodeTcp = (frame: Uint8Array): Uint8Array => {
  const link = ethernet(frame);
  const { ip, segment } = tcp(frame);
  return encodeTcpFrame(
    {
      srcMac: link.src,
      dstMac: link.dst,
      srcIp: ip.src,
      dstIp: ip.dst,
      ttl: ip.ttl,
      identification: ip.identification,
      dontFragment: ip.dontFragment,
      dscpEcn: ip.dscpEcn,
    },
    segment,
  );
};

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

describe('frames captured from Linux', () => {
  it('ARP request and reply', () => {
    const request = fromHex(linuxFrames.arpRequest);
    const link = ethernet(request);
    expect(formatMac(link.dst)).toBe('ff:ff:ff:ff:ff:ff');
    expect(formatMac(link.src)).toBe(A_MAC);
    expect(link.etherType).toBe(EtherType.ARP);
    const arp = decodeArp(link.payload);
    if (arp._tag === 'Left') throw new Error('arp refused');
    expect(arp.right.operation).toBe(ArpOperation.Request);
    expect(formatIpv4(arp.right.senderIp)).toBe('198.18.99.1');
    expect(formatMac(arp.right.senderMac)).toBe(A_MAC);
    expect(formatIpv4(arp.right.targetIp)).toBe('198.18.99.2');
    expect(encodeArpFrame(link.dst, link.src, arp.right)).toEqual(request);

    const reply = fromHex(linuxFrames.arpReply);
    const replyLink = ethernet(reply);
    const answer = decodeArp(replyLink.payload);
    if (answer._tag === 'Left') throw new Error('arp refused');
    expect(answer.right).toMatchObject({ operation: ArpOperation.Reply, senderIp: 0xc6126302, targetIp: 0xc6126301 });
    expect(formatMac(answer.right.senderMac)).toBe(B_MAC);
    expect(formatMac(answer.right.targetMac)).toBe(A_MAC);
    expect(encodeArpFrame(replyLink.dst, replyLink.src, answer.right)).toEqual(reply);
  });

  it('ICMP echo request and the kernel reply', () => {
    for (const [name, kind, df, id] of [
      ['icmpEchoRequest', 'echo-request', true, 27209],
      ['icmpEchoReply', 'echo-reply', false, 59779],
    ] as const) {
      const frame = fromHex(linuxFrames[name]);
      const link = ethernet(frame);
      const ip = ipv4(frame);
      expect(ip).toMatchObject({ protocol: IpProtocol.ICMP, ttl: 64, identification: id, dontFragment: df, dscpEcn: 0 });
      const icmp = decodeIcmp(ip.payload);
      if (icmp._tag === 'Left' || icmp.right.kind === 'other') throw new Error('not an echo');
      expect(icmp.right).toMatchObject({ kind, identifier: 0x1234, sequence: 1 });
      expect(Array.from(icmp.right.data)).toEqual(Array.from({ length: 48 }, (_, i) => i));
      expect(
        encodeIcmpFrame(
          { srcMac: link.src, dstMac: link.dst, srcIp: ip.src, dstIp: ip.dst, ttl: ip.ttl, identification: ip.identification, dontFragment: ip.dontFragment },
          icmp.right,
        ),
      ).toEqual(frame);
      // The layered encoders agree.
      expect(encodeEthernet({ ...link, payload: encodeIpv4({ ...ip, payload: encodeIcmp(icmp.right) }) })).toEqual(frame);
    }
  });

  it('the SYN from curl, with all SYN options', () => {
    const frame = fromHex(linuxFrames.tcpSyn);
    const { ip, segment } = tcp(frame);
    expect(ip).toMatchObject({ src: 0xc6126301, dst: 0xc6126302, ttl: 64, identification: 13952, dontFragment: true });
    expect(segment).toMatchObject({ srcPort: 41580, dstPort: 8080, seq: 863533716, flags: TcpFlag.SYN, window: 64240, urgent: 0 });
    expect(segment.options).toEqual({ mss: 1460, sackPermitted: true, timestamps: { value: 3838631646, echo: 0 }, windowScale: 10 });
    expect(segment.payload.length).toBe(0);
    expect(reencodeTcp(frame)).toEqual(frame);
  });

  it('the SYN-ACK', () => {
    const frame = fromHex(linuxFrames.tcpSynAck);
    const { ip, segment } = tcp(frame);
    expect(ip.identification).toBe(0);
    expect(segment).toMatchObject({ srcPort: 8080, dstPort: 41580, seq: 2532564769, ack: 863533717, flags: TcpFlag.SYN | TcpFlag.ACK, window: 65160 });
    expect(segment.options).toEqual({ mss: 1460, sackPermitted: true, timestamps: { value: 3595711506, echo: 3838631646 }, windowScale: 10 });
    expect(reencodeTcp(frame)).toEqual(frame);
  });

  it('the handshake ACK, the HTTP exchange and the FIN', () => {
    const ack = tcp(fromHex(linuxFrames.tcpHandshakeAck)).segment;
    expect(ack).toMatchObject({ seq: 863533717, ack: 2532564770, flags: TcpFlag.ACK, window: 63 });
    expect(ack.options).toEqual({ timestamps: { value: 3838631646, echo: 3595711506 } });

    const request = tcp(fromHex(linuxFrames.tcpHttpRequest)).segment;
    expect(request.flags).toBe(TcpFlag.PSH | TcpFlag.ACK);
    expect(request.payload.length).toBe(80);
    expect(text(request.payload)).toMatch(/^GET \/ HTTP\/1\.1\r\nHost: 198\.18\.99\.2:8080\r\n/);

    const response = tcp(fromHex(linuxFrames.tcpHttpResponse)).segment;
    expect(response).toMatchObject({ seq: 2532564770, ack: 863533797 });
    expect(text(response.payload)).toBe(`HTTP/1.0 200 OK\r\nContent-Length: 64\r\n\r\n${'x'.repeat(64)}`);

    const fin = tcp(fromHex(linuxFrames.tcpFin)).segment;
    expect(fin).toMatchObject({ seq: 863533797, ack: 2532564873, flags: TcpFlag.FIN | TcpFlag.ACK });

    for (const name of ['tcpHandshakeAck', 'tcpHttpRequest', 'tcpHttpResponse', 'tcpFin'] as const) {
      const frame = fromHex(linuxFrames[name]);
      expect(reencodeTcp(frame), name).toEqual(frame);
    }
  });

  it('duplicate ACKs carrying one, two and three SACK blocks', () => {
    const expected = {
      tcpSackOneBlock: [[1101, 1201]],
      tcpSackTwoBlocks: [[1301, 1401], [1101, 1201]],
      tcpSackThreeBlocks: [[1501, 1601], [1301, 1401], [1101, 1201]],
    } as const;
    for (const [name, blocks] of Object.entries(expected) as [keyof typeof expected, readonly (readonly [number, number])[]][]) {
      const frame = fromHex(linuxFrames[name]);
      const { segment } = tcp(frame);
      expect(segment).toMatchObject({ srcPort: 8090, dstPort: 40000, ack: 1001, flags: TcpFlag.ACK, window: 64 });
      expect(segment.options.sack).toEqual(blocks.map(([left, right]) => ({ left, right })));
      expect(segment.options.timestamps?.echo).toBe(5001);
      expect(reencodeTcp(frame), name).toEqual(frame);
    }
  });

  it('all carry valid IPv4 and TCP checksums by our own sum', () => {
    for (const [name, hex] of Object.entries(linuxFrames)) {
      const frame = fromHex(hex);
      const link = ethernet(frame);
      if (link.etherType !== EtherType.IPv4) continue;
      const headerLength = (link.payload[0]! & 0x0f) * 4;
      expect(onesComplementSum(link.payload, 0, headerLength), name).toBe(0xffff);
    }
  });
});
