import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FaultyChannel, validateFaults } from './faults.js';
import type { ChannelSink, FrameFault, LinkFaults } from './faults.js';
import { SeededRng } from './rng.js';
import { frameNumber, numberedFrame } from './testing/fake-hosts.js';

interface Outcome {
  readonly number: number;
  readonly arrival?: number;
  readonly fault?: FrameFault;
  readonly frame: Uint8Array;
}

/** Collects what a channel decides, frame by frame. */
class CollectingSink implements ChannelSink {
  readonly outcomes: Outcome[] = [];
  deliver(arrival: number, frame: Uint8Array, fault: FrameFault | undefined): void {
    this.outcomes.push({ number: frameNumber(frame), arrival, frame, ...(fault !== undefined ? { fault } : {}) });
  }
  drop(fault: FrameFault, frame: Uint8Array): void {
    this.outcomes.push({ number: frameNumber(frame), fault, frame });
  }
  delivered(): Outcome[] {
    return this.outcomes.filter((o) => o.arrival !== undefined);
  }
}

const A = 0x02_00_00_00_00_01;
const B = 0x02_00_00_00_00_02;

/** Sends `count` numbered frames through a fresh channel, one per `spacing` ms. */
const pushFrames = (faults: LinkFaults, count: number, options: { seed?: number; length?: number; spacing?: number } = {}) => {
  const channel = new FaultyChannel(new SeededRng(options.seed ?? 7), faults);
  const sink = new CollectingSink();
  const frames: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const frame = numberedFrame(B, A, i, options.length ?? 64);
    frames.push(frame);
    channel.transmit(frame, i * (options.spacing ?? 0), sink);
  }
  return { channel, sink, frames };
};

const bitDifferences = (a: Uint8Array, b: Uint8Array): number[] => {
  const positions: number[] = [];
  for (let i = 0; i < a.length; i++) {
    const diff = a[i]! ^ b[i]!;
    for (let bit = 0; bit < 8; bit++) if ((diff >> (7 - bit)) & 1) positions.push(i * 8 + bit);
  }
  return positions;
};

describe('FaultyChannel', () => {
  it('passes frames through untouched, by reference, when no fault is set', () => {
    const { sink, frames } = pushFrames({}, 50);
    expect(sink.outcomes).toHaveLength(50);
    sink.outcomes.forEach((outcome, i) => {
      expect(outcome.frame).toBe(frames[i]);
      expect(outcome.arrival).toBe(0);
      expect(outcome.fault).toBeUndefined();
    });
  });

  it('loses frames at the configured rate', () => {
    const count = 20_000;
    const { sink, channel } = pushFrames({ loss: 0.1 }, count);
    const lost = sink.outcomes.filter((o) => o.fault === 'lost').length;
    // Binomial(20000, 0.1): standard deviation ≈ 42, so ±300 is a 7-sigma band.
    expect(lost).toBeGreaterThan(count * 0.1 - 300);
    expect(lost).toBeLessThan(count * 0.1 + 300);
    expect(channel.stats.lost).toBe(lost);
    expect(channel.stats.delivered).toBe(count - lost);
  });

  it('loses everything at loss 1 and nothing at loss 0', () => {
    expect(pushFrames({ loss: 1 }, 100).sink.delivered()).toHaveLength(0);
    expect(pushFrames({ loss: 0 }, 100).sink.delivered()).toHaveLength(100);
  });

  it('duplicates frames: each duplicated frame arrives twice', () => {
    const count = 5000;
    const { sink, channel } = pushFrames({ duplicate: 0.2 }, count);
    const delivered = sink.delivered();
    const duplicates = delivered.filter((o) => o.fault === 'duplicated');
    expect(duplicates.length).toBeGreaterThan(count * 0.2 - 200);
    expect(duplicates.length).toBeLessThan(count * 0.2 + 200);
    expect(delivered).toHaveLength(count + duplicates.length);
    expect(channel.stats.duplicated).toBe(duplicates.length);
    const perNumber = new Map<number, number>();
    for (const o of delivered) perNumber.set(o.number, (perNumber.get(o.number) ?? 0) + 1);
    for (const dup of duplicates) expect(perNumber.get(dup.number)).toBe(2);
    expect(perNumber.size).toBe(count);
  });

  it('reorders: held-back frames arrive after frames sent later', () => {
    const { sink, channel } = pushFrames({ reorder: 0.25, reorderDelay: 3, delay: 2 }, 400, { spacing: 0.5 });
    const arrivalOrder = [...sink.delivered()]
      .map((o, index) => ({ ...o, index }))
      .sort((a, b) => a.arrival! - b.arrival! || a.index - b.index)
      .map((o) => o.number);
    expect(arrivalOrder).toHaveLength(400);
    expect([...arrivalOrder].sort((a, b) => a - b)).toEqual(Array.from({ length: 400 }, (_, i) => i));
    const inversions = arrivalOrder.filter((n, i) => i > 0 && n < arrivalOrder[i - 1]!).length;
    expect(inversions).toBeGreaterThan(0);
    expect(channel.stats.reordered).toBeGreaterThan(60);
    for (const o of sink.delivered()) {
      const sentAt = o.number * 0.5;
      expect(o.arrival! - sentAt).toBe(o.fault === 'reordered' ? 5 : 2);
    }
  });

  it('adds propagation delay and bounded jitter', () => {
    const { sink } = pushFrames({ delay: 10, jitter: 4 }, 500, { spacing: 1 });
    const extras = sink.delivered().map((o) => o.arrival! - o.number * 1 - 10);
    for (const extra of extras) {
      expect(extra).toBeGreaterThanOrEqual(0);
      expect(extra).toBeLessThan(4);
    }
    expect(new Set(extras).size).toBeGreaterThan(400);
  });

  it('corrupts a copy: exactly one bit flips, inside the IPv4 packet, the original is intact', () => {
    const { sink, frames } = pushFrames({ corrupt: 1 }, 300, { length: 120 });
    const pristine = frames.map((f) => f.slice());
    const positions = new Set<number>();
    for (const [i, outcome] of sink.outcomes.entries()) {
      expect(outcome.fault).toBe('corrupted');
      expect(outcome.frame).not.toBe(frames[i]);
      expect(frames[i]).toEqual(pristine[i]);
      const flipped = bitDifferences(frames[i]!, outcome.frame);
      expect(flipped).toHaveLength(1);
      expect(flipped[0]!).toBeGreaterThanOrEqual(14 * 8);
      positions.add(flipped[0]!);
    }
    // The bit is chosen at random over the packet, not always the same one.
    expect(positions.size).toBeGreaterThan(150);
  });

  it('leaves non-IPv4 frames intact even at corrupt 1', () => {
    const channel = new FaultyChannel(new SeededRng(3), { corrupt: 1 });
    const sink = new CollectingSink();
    const arp = numberedFrame(B, A, 1, 60, 0x0806);
    channel.transmit(arp, 0, sink);
    expect(sink.outcomes[0]!.frame).toBe(arp);
    expect(sink.outcomes[0]!.fault).toBeUndefined();
    expect(channel.stats.corrupted).toBe(0);
  });

  it('drops and counts frames whose IPv4 packet exceeds the MTU', () => {
    const channel = new FaultyChannel(new SeededRng(1), { mtu: 100 });
    const sink = new CollectingSink();
    channel.transmit(numberedFrame(B, A, 1, 114), 0, sink);
    channel.transmit(numberedFrame(B, A, 2, 115), 0, sink);
    channel.transmit(numberedFrame(B, A, 3, 60), 0, sink);
    expect(sink.outcomes.map((o) => [o.number, o.fault ?? 'ok'])).toEqual([
      [1, 'ok'],
      [2, 'mtu'],
      [3, 'ok'],
    ]);
    expect(channel.stats.mtu).toBe(1);
  });

  it('spaces frames by size / bandwidth, then adds the delay', () => {
    const channel = new FaultyChannel(new SeededRng(1), { bandwidth: 100, delay: 2 });
    const sink = new CollectingSink();
    channel.transmit(numberedFrame(B, A, 1, 100), 0, sink);
    channel.transmit(numberedFrame(B, A, 2, 200), 0, sink);
    channel.transmit(numberedFrame(B, A, 3, 300), 0, sink);
    // Sent after the wire has gone idle: starts at once.
    channel.transmit(numberedFrame(B, A, 4, 50), 20, sink);
    expect(sink.outcomes.map((o) => o.arrival)).toEqual([3, 5, 8, 22.5]);
  });

  it('tail-drops when the serialization queue is over its limit, and admits again as it drains', () => {
    const channel = new FaultyChannel(new SeededRng(1), { bandwidth: 100, queueLimit: 500 });
    const sink = new CollectingSink();
    for (let i = 0; i < 10; i++) channel.transmit(numberedFrame(B, A, i, 100), 0, sink);
    expect(sink.outcomes.map((o) => o.fault ?? 'ok')).toEqual([
      ...new Array<string>(5).fill('ok'),
      ...new Array<string>(5).fill('queue-full'),
    ]);
    expect(channel.stats.queueFull).toBe(5);
    expect(channel.queuedBytesAt(0)).toBe(500);
    expect(channel.queuedBytesAt(2)).toBe(300);
    // Two frames are out by t=2: room for exactly two more.
    for (let i = 10; i < 13; i++) channel.transmit(numberedFrame(B, A, i, 100), 2, sink);
    expect(sink.outcomes.slice(10).map((o) => o.fault ?? 'ok')).toEqual(['ok', 'ok', 'queue-full']);
    expect(sink.outcomes[11]!.arrival).toBe(7);
  });

  it('replays exactly for the same seed', () => {
    const faults: LinkFaults = { loss: 0.1, duplicate: 0.1, reorder: 0.1, jitter: 1, corrupt: 0.1, delay: 1 };
    const run = (seed: number) =>
      pushFrames(faults, 300, { seed, spacing: 0.1 }).sink.outcomes.map((o) => [o.number, o.arrival, o.fault, [...o.frame]]);
    expect(run(42)).toEqual(run(42));
    expect(run(42)).not.toEqual(run(43));
  });

  it('keeps each fault on its own stream: adding corruption does not change which frames are lost', () => {
    fc.assert(
      fc.property(fc.nat(), (seed) => {
        const lostWith = (faults: LinkFaults) =>
          pushFrames(faults, 200, { seed }).sink.outcomes.filter((o) => o.fault === 'lost').map((o) => o.number);
        const base = lostWith({ loss: 0.2 });
        expect(lostWith({ loss: 0.2, corrupt: 0.5, duplicate: 0.3, reorder: 0.3, jitter: 2 })).toEqual(base);
        // A higher rate on the same stream only adds losses.
        const more = lostWith({ loss: 0.4 });
        expect(base.every((n) => more.includes(n))).toBe(true);
      }),
      { numRuns: 50 },
    );
  });

  it('rejects faults out of range', () => {
    expect(() => validateFaults({ loss: 1.5 })).toThrow(/loss/);
    expect(() => validateFaults({ delay: -1 })).toThrow(/delay/);
    expect(() => validateFaults({ bandwidth: 0 })).toThrow(/bandwidth/);
    expect(() => validateFaults({ mtu: Number.NaN })).toThrow(/mtu/);
    expect(() => new FaultyChannel(new SeededRng(1), { duplicate: -0.1 })).toThrow(RangeError);
  });
});
