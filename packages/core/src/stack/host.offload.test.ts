import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RecordingHost, replayRecording, serializeRecording } from '../observe/recording.js';
import { A_IP, B_IP, configA, configB, framesOf, transfer } from '../observe/testing/two-hosts.js';
import { fragmentFrame } from '../wire/ipv4-fragment.js';
import { clientSyn } from '../wire/fixtures/segments.js';
import { IpProtocol } from '../wire/ipv4.js';
import { finishTcpChecksum } from '../wire/checksum-offload.js';
import { type FrameAddressing, encodeTcpFrame } from '../wire/frame.js';
import { createHost } from './host.js';
import { FrameCheck, type NetworkHost, pollFrameInto } from './host-types.js';

// Receive checksum offload: a device that already summed a frame's TCP checksum says so, and
// the host trusts it as Linux trusts CHECKSUM_UNNECESSARY. Everything else is checked as before.

const fromA: FrameAddressing = { srcMac: configA().mac, dstMac: configB().mac, srcIp: A_IP, dstIp: B_IP, ttl: 64, identification: 0x4321 };

const syn = clientSyn;

const listening = (): NetworkHost => {
  const host = createHost(configB());
  host.listen(80, 0);
  return host;
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

/** A finished copy of a frame, as a device with transmit checksum offload sends it. */
const finished = (frame: Uint8Array): Uint8Array => {
  const copy = frame.slice();
  finishTcpChecksum(copy);
  return copy;
};

/** `host` with its `pollFrame` replaced by `poll(host)`; everything else is the host's own. */
const withPollFrame = (host: NetworkHost, poll: (host: NetworkHost) => Uint8Array | undefined): NetworkHost =>
  new Proxy(host, {
    get(target, key, receiver) {
      if (key === 'pollFrame') return () => poll(target);
      const value: unknown = Reflect.get(target, key, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });

/** Takes every frame through `pollFrameInto`, into one reused buffer, and hands out copies. */
const polledIntoSlots = (host: NetworkHost): NetworkHost => {
  const slot = new Uint8Array(2048).fill(0xee);
  return withPollFrame(host, (target) => {
    const length = pollFrameInto(target, slot, 100);
    return length === 0 ? undefined : slot.slice(100, 100 + length);
  });
};

describe('Host: frames written in place, and checksums left to the device (transmit offload)', () => {
  it('writes into a buffer exactly the frames pollFrame gives, leaving the host in the same state (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 60_000 }), fc.uniqueArray(fc.nat(60), { maxLength: 4 }), (bytes, drops) => {
        const plain = RecordingHost.create(configA(), createHost);
        const slotted = RecordingHost.create(configA(), createHost);
        transfer(plain, createHost(configB()), bytes, { dropFromA: new Set(drops) });
        transfer(polledIntoSlots(slotted), createHost(configB()), bytes, { dropFromA: new Set(drops) });
        // Both are recorded as plain polls; the recordings must agree step for step, outcomes included.
        expect(serializeRecording(slotted.recording())).toBe(serializeRecording(plain.recording()));
        expect(replayRecording(slotted.recording(), createHost).identical).toBe(true);
      }),
      // Among the draws: every ARP request of A lost, so that its connection never opens.
      { numRuns: 15, examples: [[1, [2, 1, 0]]] },
    );
  });

  it('refuses a buffer too small for a frame of the MTU', () => {
    const host = createHost(configA());
    expect(() => host.pollFrameInto(new Uint8Array(1513))).toThrow(/room for 1514 bytes/);
    expect(() => host.pollFrameInto(new Uint8Array(1600), 100)).toThrow(/room for 1514 bytes/);
  });

  it('leaves the pseudo-header sum in every TCP frame, which finished is the frame without offload', () => {
    const offloaded: Uint8Array[] = [];
    const complete: Uint8Array[] = [];
    const keep = (host: NetworkHost, into: Uint8Array[]): NetworkHost =>
      withPollFrame(host, (target) => {
        const frame = target.pollFrame();
        if (frame !== undefined) into.push(frame.slice());
        return frame;
      });
    // B checks checksums as any receiver does: the offloaded frames reach it finished, as a device would send them.
    const finishing = (host: NetworkHost): NetworkHost =>
      withPollFrame(host, (target) => {
        const frame = target.pollFrame();
        return frame === undefined ? undefined : finished(frame);
      });
    transfer(finishing(keep(createHost(configA({ transmitChecksumOffload: true })), offloaded)), createHost(configB()), 30_000);
    transfer(keep(createHost(configA()), complete), createHost(configB()), 30_000);
    expect(offloaded.length).toBe(complete.length);
    const tcp = (frames: Uint8Array[]) => frames.filter((f) => f[12] === 0x08 && f[23] === IpProtocol.TCP);
    expect(tcp(offloaded).length).toBeGreaterThan(20);
    for (const [i, frame] of offloaded.entries()) {
      const isTcp = frame[12] === 0x08 && frame[23] === IpProtocol.TCP;
      // A TCP frame left for the device does not verify as it is; finished, it is the complete frame.
      if (isTcp) expect(Buffer.from(frame).equals(Buffer.from(complete[i]!))).toBe(false);
      expect(Buffer.from(finished(frame)).equals(Buffer.from(complete[i]!))).toBe(true);
    }
  });
});
