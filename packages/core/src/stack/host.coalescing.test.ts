import { describe, expect, it } from 'vitest';
import { A_IP, B_IP, configA, configB, transfer } from '../observe/testing/two-hosts.js';
import { createHost } from './host.js';
import { FrameCheck, type HostEvent } from './host-types.js';
import { encodeTcpFrame } from '../wire/frame.js';
import { TcpFlag } from '../wire/tcp-types.js';

// A device that merges the segments arriving together (receive coalescing, as Linux's GRO) hands
// the host fewer, larger frames and their segment size. The host must answer them as it answers
// the segments one by one: RFC 5681 §4.2's ACK for every second segment, a duplicate for each
// one out of order.

interface Observed {
  readonly received: Uint8Array;
  /** B's ACKs: the acknowledgment number of each segment B sent, in order. */
  readonly acks: number[];
  readonly framesIntoB: number;
}

const observe = (coalesceArrivals: boolean, dropFromA?: ReadonlySet<number>): Observed => {
  const a = createHost(configA());
  const b = createHost(configB());
  const received: Uint8Array[] = [];
  const acks: number[] = [];
  const onEvent = (host: 'a' | 'b', event: HostEvent): void => {
    if (host !== 'b') return;
    if (event.type === 'data') received.push(event.data.slice());
    if (event.type === 'segment' && event.direction === 'out') acks.push(event.segment.ack);
  };
  transfer(a, b, 400_000, { coalesceArrivals, onEvent, ...(dropFromA ? { dropFromA } : {}) });
  return { received: Buffer.concat(received), acks, framesIntoB: b.stats.framesIn };
};

describe('Host: frames a device merged (receive coalescing)', () => {
  it('sends the ACKs it sends for the segments one by one, from far fewer frames', () => {
    const apart = observe(false);
    const merged = observe(true);
    expect(merged.received.length).toBe(400_000);
    expect(Buffer.from(merged.received).equals(Buffer.from(apart.received))).toBe(true);
    expect(merged.acks).toEqual(apart.acks);
    expect(merged.framesIntoB).toBeLessThan(apart.framesIntoB / 4);
  });

  it('answers a merged run beyond a hole with a duplicate ACK for each of its segments', () => {
    // A's 20th frame is lost: the runs behind it arrive out of order.
    const apart = observe(false, new Set([20]));
    const merged = observe(true, new Set([20]));
    expect(Buffer.from(merged.received).equals(Buffer.from(apart.received))).toBe(true);
    expect(merged.acks).toEqual(apart.acks);
  });

  it('takes a merged frame larger than the MTU, and refuses one that says nothing of a merge', () => {
    const frame = (): Uint8Array =>
      encodeTcpFrame(
        { srcMac: configA().mac, dstMac: configB().mac, srcIp: A_IP, dstIp: B_IP, ttl: 64, identification: 1 },
        { srcPort: 40_000, dstPort: 80, seq: 1, ack: 1, flags: TcpFlag.ACK, window: 100, urgent: 0, options: {}, payload: new Uint8Array(4 * 1460) },
      );
    const host = createHost(configB());
    host.receiveFrame(frame(), 0, FrameCheck.tcpChecksum);
    expect([...host.stats.dropped.keys()]).toEqual([expect.stringMatching(/^ipv4.*larger than the MTU/)]);
    const merging = createHost(configB());
    merging.receiveFrame(frame(), 0, FrameCheck.tcpChecksum, 1460);
    // It reaches TCP: no connection there, so a reset answers it.
    expect([...merging.stats.dropped.keys()]).toEqual(['tcp: no connection']);
    expect(merging.stats.resetsSent).toBe(1);
  });
});
