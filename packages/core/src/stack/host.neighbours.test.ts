import { isRight } from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { A_IP, A_MAC, B_IP, B_MAC, configA, framesOf } from '../observe/testing/two-hosts.js';
import { ArpOperation } from '../wire/arp.js';
import { ETHERNET_HEADER_LENGTH, readEthernetDst } from '../wire/ethernet.js';
import { encodeArpFrame, encodeTcpFrame } from '../wire/frame.js';
import { IPV4_HEADER_LENGTH } from '../wire/ipv4.js';
import { decodeTcp } from '../wire/tcp.js';
import { TcpFlag, type TcpSegment } from '../wire/tcp-types.js';
import { createHost } from './host.js';

const NEW_B_MAC = 0x02_00_00_00_00_0b;

const tcpOf = (frame: Uint8Array): TcpSegment => {
  const decoded = decodeTcp(frame.subarray(ETHERNET_HEADER_LENGTH + IPV4_HEADER_LENGTH), A_IP, B_IP);
  if (!isRight(decoded)) throw new Error('not a TCP segment');
  return decoded.right;
};

/** A connected to B's port 80, B played by hand: the ARP reply, then the SYN,ACK. */
const connectedToB = () => {
  // No Nagle: each small send leaves at once, though the one before is unacknowledged.
  const host = createHost(configA({ traceSegments: false, tcp: { noDelay: true } }));
  const socket = host.connect(B_IP, 80, 0);
  framesOf(host); // the ARP request
  host.receiveFrame(
    encodeArpFrame(A_MAC, B_MAC, { operation: ArpOperation.Reply, senderMac: B_MAC, senderIp: B_IP, targetMac: A_MAC, targetIp: A_IP }),
    1,
  );
  const syn = tcpOf(framesOf(host)[0]!);
  const synAck: TcpSegment = {
    srcPort: 80,
    dstPort: syn.srcPort,
    seq: 9000,
    ack: syn.seq + 1,
    flags: TcpFlag.SYN | TcpFlag.ACK,
    window: 65_535,
    urgent: 0,
    options: { mss: 1460 },
    payload: new Uint8Array(0),
  };
  host.receiveFrame(encodeTcpFrame({ srcMac: B_MAC, dstMac: A_MAC, srcIp: B_IP, dstIp: A_IP, ttl: 64, identification: 1 }, synAck), 2);
  expect(host.socketState(socket)).toBe('ESTABLISHED');
  framesOf(host); // the ACK
  return { host, socket };
};

describe("a connection's next hop (RFC 826)", () => {
  it('follows a neighbour that announces a new MAC, as after a failover, instead of talking to the old one', () => {
    const { host, socket } = connectedToB();
    host.send(socket, new Uint8Array(100), 3);
    expect(framesOf(host).map(readEthernetDst)).toEqual([B_MAC]);
    // A gratuitous ARP: B announces its address with another card.
    host.receiveFrame(
      encodeArpFrame(0xffff_ffff_ffff, NEW_B_MAC, { operation: ArpOperation.Request, senderMac: NEW_B_MAC, senderIp: B_IP, targetMac: 0, targetIp: B_IP }),
      4,
    );
    host.send(socket, new Uint8Array(100), 5);
    expect(framesOf(host).map(readEthernetDst)).toEqual([NEW_B_MAC]);
  });

  it('keeps its next hop when another address changes its MAC', () => {
    const { host, socket } = connectedToB();
    host.receiveFrame(
      encodeArpFrame(0xffff_ffff_ffff, NEW_B_MAC, { operation: ArpOperation.Request, senderMac: NEW_B_MAC, senderIp: B_IP + 1, targetMac: 0, targetIp: B_IP + 1 }),
      4,
    );
    host.send(socket, new Uint8Array(100), 5);
    expect(framesOf(host).map(readEthernetDst)).toEqual([B_MAC]);
  });
});
