import { isRight } from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { ArpOperation, decodeArp } from '../wire/arp.js';
import { ETHERNET_HEADER_LENGTH } from '../wire/ethernet.js';
import { TcpFlag, type TcpSegment } from '../wire/tcp-types.js';
import { ArpResolver } from './arp-resolver.js';

const SELF = { mac: 0x02_00_00_00_00_01, ip: 0xc6120001 };
const PEER_IP = 0xc6120002;
const PEER_MAC = 0x02_00_00_00_00_02;
const SEGMENT: TcpSegment = { srcPort: 1, dstPort: 2, seq: 0, ack: 0, flags: TcpFlag.SYN, window: 0, urgent: 0, options: {}, payload: new Uint8Array(0) };

const requestedIp = (frame: Uint8Array): number => {
  const decoded = decodeArp(frame.subarray(ETHERNET_HEADER_LENGTH));
  if (!isRight(decoded) || decoded.right.operation !== ArpOperation.Request) throw new Error('not an ARP request');
  return decoded.right.targetIp;
};

describe('ArpResolver cache (RFC 826, RFC 1122 §2.3.2.1)', () => {
  it('trusts a learned address for its lifetime, then asks again', () => {
    const arp = new ArpResolver(SELF, { cacheLifetime: 60_000 });
    arp.learn(PEER_IP, PEER_MAC, true, 1000);
    expect(arp.lookup(PEER_IP, 60_999)).toBe(PEER_MAC);
    expect(arp.lookup(PEER_IP, 61_000)).toBeUndefined();
    // Out of date, it resolves like an address never seen: a request, the segment held until the answer.
    const sent: Uint8Array[] = [];
    arp.hold(PEER_IP, PEER_IP, SEGMENT, 61_000, (frame) => sent.push(frame));
    expect(sent.map(requestedIp)).toEqual([PEER_IP]);
    expect(arp.learn(PEER_IP, PEER_MAC, false, 61_010)).toBe(true);
    expect(arp.release(PEER_IP)).toHaveLength(1);
  });

  it('renews an entry with every ARP packet from the address, even one not meant for us (the merge)', () => {
    const arp = new ArpResolver(SELF, { cacheLifetime: 60_000 });
    arp.learn(PEER_IP, PEER_MAC, true, 0);
    arp.learn(PEER_IP, PEER_MAC + 1, false, 50_000);
    expect(arp.lookup(PEER_IP, 100_000)).toBe(PEER_MAC + 1);
    // An address neither known nor asking for us is not added.
    arp.learn(PEER_IP + 1, PEER_MAC, false, 0);
    expect(arp.lookup(PEER_IP + 1, 1)).toBeUndefined();
  });

  it('does not take an expired entry for a known one: a packet not meant for us adds nothing then', () => {
    const arp = new ArpResolver(SELF, { cacheLifetime: 60_000 });
    arp.learn(PEER_IP, PEER_MAC, true, 0);
    arp.learn(PEER_IP, PEER_MAC + 1, false, 70_000);
    expect(arp.lookup(PEER_IP, 70_001)).toBeUndefined();
  });

  it('keeps at most cacheSize addresses, the least recently learned going first, whatever a flood of requests claims', () => {
    const arp = new ArpResolver(SELF, { cacheSize: 3 });
    for (let i = 0; i < 3; i++) arp.learn(PEER_IP + i, PEER_MAC + i, true, i);
    arp.learn(PEER_IP, PEER_MAC, true, 10); // renewed: now the most recent
    arp.learn(PEER_IP + 3, PEER_MAC + 3, true, 11);
    expect([0, 1, 2, 3].map((i) => arp.lookup(PEER_IP + i, 12))).toEqual([PEER_MAC, undefined, PEER_MAC + 2, PEER_MAC + 3]);
    for (let i = 0; i < 10_000; i++) arp.learn(0x0a000000 + i, PEER_MAC, true, 20);
    expect(arp.lookup(0x0a000000 + 9_999, 21)).toBe(PEER_MAC);
    expect(arp.lookup(0x0a000000 + 9_996, 21)).toBeUndefined();
  });
});
