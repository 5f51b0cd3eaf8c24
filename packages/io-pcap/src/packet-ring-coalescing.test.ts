import { type CoalescedFrame, coalesceTcpFrames, tcpChecksumVerifies } from '@tcpts/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tcpBurst } from '../../core/src/wire/fixtures/bursts.js';
import { loadPacketRing } from './packet-ring-binding.js';

// The addon's receive coalescing, in C, checked against core's reference (`coalesceTcpFrames`)
// frame for frame and byte for byte. It needs no socket, so it runs as any user.
const addon = loadPacketRing();

const CHECKED = 1;
const MERGED = 2;
const ABSORBED = 3;

/** The frames the device hands the host after the addon's pass: verdicts read as the device reads them. */
const asDelivered = (frames: readonly Uint8Array[], verdicts: Uint8Array, area: Uint8Array): CoalescedFrame[] => {
  const words = new Uint32Array(area.buffer, area.byteOffset);
  const out: CoalescedFrame[] = [];
  let record = 0;
  frames.forEach((frame, i) => {
    const verdict = verdicts[i]!;
    if (verdict === ABSORBED) return;
    if (verdict !== MERGED) {
      // What is not merged goes as it came, vouched for when its sum is right.
      expect(verdict === CHECKED).toBe(tcpChecksumVerifies(frame));
      out.push({ frame, segmentSize: 0 });
      return;
    }
    const length = words[record >> 2]!;
    const segmentSize = words[(record + 4) >> 2]!;
    out.push({ frame: area.slice(record + 8, record + 8 + length), segmentSize });
    record += (8 + length + 3) & ~3;
  });
  return out;
};

const hex = ({ frame, segmentSize }: CoalescedFrame): string => `${segmentSize} ${Buffer.from(frame).toString('hex')}`;

describe('receive coalescing (packet-ring addon)', () => {
  it('merges every burst exactly as core does: the same frames, the same bytes, the same segment sizes', () => {
    const area = new Uint8Array(4 << 20);
    fc.assert(
      fc.property(tcpBurst, (frames) => {
        const verdicts = addon.coalesceFrames(frames, area);
        expect(verdicts).toHaveLength(frames.length);
        expect(asDelivered(frames, verdicts, area).map(hex)).toEqual(coalesceTcpFrames(frames).map(hex));
      }),
      { numRuns: 400 },
    );
  });

  it('agrees with core on hostile bursts: frames cut short, grown, or with any bytes changed', () => {
    const area = new Uint8Array(4 << 20);
    const mangle = fc.record({ cut: fc.nat(), grow: fc.nat(40), flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 4 }) });
    const hostileBurst = fc
      .tuple(tcpBurst, fc.array(fc.option(mangle, { freq: 2 }), { maxLength: 70 }))
      .map(([frames, mangles]) =>
        frames.map((frame, i) => {
          const how = mangles[i];
          if (how === undefined || how === null) return frame;
          const length = how.cut % 3 === 0 ? how.cut % (frame.length + 1) : frame.length + how.grow;
          const changed = new Uint8Array(length);
          changed.set(frame.subarray(0, length));
          for (const [at, flip] of how.flips) if (length > 0) changed[at % length]! ^= flip;
          return changed;
        }),
      );
    fc.assert(
      fc.property(hostileBurst, (frames) => {
        const verdicts = addon.coalesceFrames(frames, area);
        expect(asDelivered(frames, verdicts, area).map(hex)).toEqual(coalesceTcpFrames(frames).map(hex));
      }),
      { numRuns: 400 },
    );
  });

  it('refuses what is not a burst of frames and an aligned area', () => {
    const area = new Uint8Array(1 << 20);
    expect(() => addon.coalesceFrames([new Uint8Array(60), 'frame' as unknown as Uint8Array], area)).toThrow(TypeError);
    expect(() => addon.coalesceFrames([], new Uint8Array(area.buffer, 1, 1000))).toThrow(TypeError);
    // Too small for one more datagram-sized run: the device's walk stops there; here it is an error.
    expect(() => addon.coalesceFrames([new Uint8Array(60)], new Uint8Array(1024))).toThrow(RangeError);
    expect(addon.coalesceFrames([], area)).toHaveLength(0);
  });
});
