import { describe, expect, it } from 'vitest';
import { fragmentFrame } from '../wire/fixtures/fragment-frame.js';
import { type FrameAddressing, encodeTcpFrame } from '../wire/frame.js';
import { TcpFlag, type TcpSegment } from '../wire/tcp-types.js';
import { createHost } from './host.js';
import { FrameCheck, type NetworkHost } from './host-types.js';

// Receive checksum offload: a device that already summed a frame's TCP checksum says so, and
// the host trusts it as Linux trusts CHECKSUM_UNNECESSARY. Everything else is checked as before.

const A_IP = 0xc6120001;
const B_IP = 0xc6120002;
const A_MAC = 0x020000000001;
const B_MAC = 0x020000000002;
const secret = new Uint8Array(16).fill(3);
const fromA: FrameAddressing = { srcMac: A_MAC, dstMac: B_MAC, srcIp: A_IP, dstIp: B_IP, ttl: 64, identification: 0x4321 };

const syn: TcpSegment = {
  srcPort: 40000,
  dstPort: 80,
  seq: 1000,
  ack: 0,
  flags: TcpFlag.SYN,
  window: 65535,
  urgent: 0,
  options: { mss: 1460 },
  payload: new Uint8Array(0),
};

const listening = (): NetworkHost => {
  const host = createHost({ mac: B_MAC, ip: B_IP, prefixLength: 24, isnSecret: secret });
  host.listen(80, 0);
  return host;
};

const framesOf = (host: NetworkHost): Uint8Array[] => {
  const frames: Uint8Array[] = [];
  for (let f = host.pollFrame(); f; f = host.pollFrame()) frames.push(new Uint8Array(f));
  return frames;
};

/** The SYN with one bit of its sequence number flipped after the checksum was computed. */
const corruptedSyn = (): Uint8Array => {
  const frame = encodeTcpFrame(fromA, syn);
  frame[14 + 20 + 7]! ^= 0x01;
  return frame;
};

describe('Host: checks the device already made (receive checksum offload)', () => {
  it('answers a sound segment the same with or without the device having checked it', () => {
    const checked = listening();
    const unchecked = listening();
    const frame = encodeTcpFrame(fromA, syn);
    checked.receiveFrame(frame, 5, FrameCheck.tcpChecksum);
    unchecked.receiveFrame(frame, 5);
    const answer = framesOf(unchecked);
    expect(answer).toHaveLength(1);
    expect(framesOf(checked)).toEqual(answer);
  });

  it('sums a frame the device did not vouch for, and drops it when the sum is wrong', () => {
    const host = listening();
    host.receiveFrame(corruptedSyn(), 5, FrameCheck.none);
    expect(framesOf(host)).toEqual([]);
    expect(host.stats.dropped.get('tcp.checksum: mismatch')).toBe(1);
  });

  it('takes the device at its word: it does not sum a frame the device vouched for', () => {
    // A device that vouched for a wrong sum is broken; the host's part of the contract is to skip the sum.
    const host = listening();
    host.receiveFrame(corruptedSyn(), 5, FrameCheck.tcpChecksum);
    expect(host.stats.dropped.size).toBe(0);
    expect(framesOf(host)).toHaveLength(1);
  });

  it('sums a reassembled datagram itself: a fragment\'s flag says nothing of the whole', () => {
    const host = listening();
    for (const fragment of fragmentFrame(corruptedSyn(), 8)) host.receiveFrame(fragment, 5, FrameCheck.tcpChecksum);
    expect(framesOf(host)).toEqual([]);
    expect(host.stats.dropped.get('tcp.checksum: mismatch')).toBe(1);
  });
});
