import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Reassembler } from './reassembly.js';

/** A segment as a slice [start, end) of the stream. */
interface Slice {
  readonly start: number;
  readonly end: number;
}

/**
 * A receiver around the reassembler, with a model of which stream positions it
 * should hold: in-order data is delivered at once, later data is inserted,
 * and whatever became in-order is taken out (the connection's job).
 */
class ModelReceiver {
  rcvNxt = 0;
  readonly delivered: number[] = [];
  /** Positions (absolute) the reassembler should hold. */
  readonly modelHeld = new Set<number>();

  constructor(
    readonly reassembler: Reassembler,
    readonly stream: Uint8Array,
    readonly limit: number,
  ) {}

  receive(slice: Slice): void {
    const bytes = this.stream.slice(slice.start, slice.end);
    expect(this.reassembler.heldWithin(slice.start - this.rcvNxt, slice.end - slice.start)).toEqual(this.modelHeldWithin(slice));
    if (slice.start <= this.rcvNxt) {
      if (slice.end <= this.rcvNxt) return;
      this.deliver(bytes.subarray(this.rcvNxt - slice.start));
      for (let run = this.reassembler.takeReady(); run !== undefined; run = this.reassembler.takeReady()) {
        this.deliver(run);
      }
      expect(this.reassembler.takeReady()).toBeUndefined();
    } else {
      const offset = slice.start - this.rcvNxt;
      let expectedNew = 0;
      for (let p = slice.start; p < slice.end && p - this.rcvNxt < this.limit; p++) {
        if (!this.modelHeld.has(p)) {
          this.modelHeld.add(p);
          expectedNew++;
        }
      }
      // Offer a buffer the caller overwrites afterwards: the reassembler must have copied.
      expect(this.reassembler.insert(offset, bytes)).toBe(expectedNew);
      bytes.fill(0xee);
    }
    expect(this.reassembler.bufferedBytes).toBe(this.modelHeld.size);
    expect(this.reassembler.bufferedBytes).toBeLessThanOrEqual(this.limit);
    expect(this.reassembler.isEmpty).toBe(this.modelHeld.size === 0);
  }

  /** The held positions of `slice`, as runs of offsets from RCV.NXT: what it brings again. */
  private modelHeldWithin(slice: Slice): Array<{ start: number; end: number }> {
    const runs: Array<{ start: number; end: number }> = [];
    for (let p = Math.max(slice.start, this.rcvNxt); p < slice.end; p++) {
      if (!this.modelHeld.has(p)) continue;
      const last = runs[runs.length - 1];
      if (last !== undefined && last.end === p - this.rcvNxt) last.end++;
      else runs.push({ start: p - this.rcvNxt, end: p - this.rcvNxt + 1 });
    }
    return runs;
  }

  private deliver(data: Uint8Array): void {
    for (const byte of data) this.delivered.push(byte);
    this.reassembler.advance(data.length);
    const before = this.rcvNxt;
    this.rcvNxt += data.length;
    for (let p = before; p < this.rcvNxt; p++) this.modelHeld.delete(p);
  }
}

/** Cut points → chunks covering [0, length). */
const chunksOf = (length: number, cuts: number[]): Slice[] => {
  const points = [...new Set([0, length, ...cuts.map((c) => c % (length + 1))])].sort((a, b) => a - b);
  const chunks: Slice[] = [];
  for (let i = 1; i < points.length; i++) chunks.push({ start: points[i - 1] as number, end: points[i] as number });
  return chunks;
};

const scenario = fc
  .record({
    stream: fc.uint8Array({ minLength: 1, maxLength: 400, size: 'max' }),
    cuts: fc.array(fc.nat(), { minLength: 1, maxLength: 60, size: 'max' }),
    extraSlices: fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 20 }),
    duplicates: fc.array(fc.nat(), { maxLength: 10 }),
    seed: fc.array(fc.nat(), { minLength: 80, maxLength: 80 }),
    limitFraction: fc.double({ min: 0.05, max: 1.5, noNaN: true }),
    initialStorage: fc.integer({ min: 1, max: 64 }),
    localReordering: fc.boolean(),
  })
  .map(({ stream, cuts, extraSlices, duplicates, seed, limitFraction, initialStorage, localReordering }) => {
    // Limits below the stream length make the ring wrap and the limit cut.
    const limit = Math.max(1, Math.floor(stream.length * limitFraction));
    const chunks = chunksOf(stream.length, cuts);
    const overlapping = extraSlices.map(([a, b]): Slice => {
      const x = a % (stream.length + 1);
      const y = b % (stream.length + 1);
      return { start: Math.min(x, y), end: Math.max(x, y) };
    });
    const repeated = duplicates.map((d) => chunks[d % chunks.length] as Slice);
    const all = [...chunks, ...overlapping, ...repeated];
    let arrivals: Slice[];
    if (localReordering) {
      // Segments displaced by a few places, as on a real path: RCV.NXT keeps
      // moving while data is held, so the ring wraps around.
      const keyed = all
        .sort((a, b) => a.start - b.start)
        .map((slice, i) => ({ slice, key: i + ((seed[i % seed.length] as number) % 6) }));
      arrivals = keyed.sort((a, b) => a.key - b.key).map(({ slice }) => slice);
    } else {
      // Any permutation, driven by the generated seed (Fisher–Yates).
      arrivals = all;
      for (let i = arrivals.length - 1; i > 0; i--) {
        const j = (seed[i % seed.length] as number) % (i + 1);
        [arrivals[i], arrivals[j]] = [arrivals[j] as Slice, arrivals[i] as Slice];
      }
    }
    return { stream, chunks, arrivals, limit, initialStorage };
  });

describe('Reassembler', () => {
  it('delivers the original stream from any permutation, duplication and overlap of its chunks', () => {
    fc.assert(
      fc.property(scenario, ({ stream, chunks, arrivals, limit, initialStorage }) => {
        const receiver = new ModelReceiver(new Reassembler(limit, initialStorage), stream, limit);
        for (const slice of arrivals) receiver.receive(slice);
        // Data cut by the limit comes again, as retransmissions would bring it.
        for (const chunk of chunks) receiver.receive(chunk);
        expect(receiver.rcvNxt).toBe(stream.length);
        expect(receiver.delivered).toEqual(Array.from(stream));
        expect(receiver.reassembler.isEmpty).toBe(true);
        expect(receiver.reassembler.bufferedBytes).toBe(0);
      }),
    );
  });

  it('keeps the bytes it already holds when a later segment overlaps them', () => {
    const reassembler = new Reassembler(100);
    expect(reassembler.insert(5, Uint8Array.of(1, 1, 1, 1))).toBe(4); // [5, 9)
    expect(reassembler.insert(3, Uint8Array.of(2, 2, 2, 2, 2, 2, 2, 2))).toBe(4); // [3, 11): gaps 3-4, 9-10
    expect(reassembler.bufferedBytes).toBe(8);
    expect(reassembler.takeReady()).toBeUndefined();
    reassembler.advance(3);
    expect(Array.from(reassembler.takeReady() ?? [])).toEqual([2, 2, 1, 1, 1, 1, 2, 2]);
  });

  it('tells which bytes of a range it holds already', () => {
    const reassembler = new Reassembler(100);
    reassembler.insert(10, new Uint8Array(10)); // [10, 20)
    reassembler.insert(30, new Uint8Array(5)); // [30, 35)
    expect(reassembler.heldWithin(0, 10)).toEqual([]);
    expect(reassembler.heldWithin(5, 30)).toEqual([
      { start: 10, end: 20 },
      { start: 30, end: 35 },
    ]);
    expect(reassembler.heldWithin(15, 17)).toEqual([
      { start: 15, end: 20 },
      { start: 30, end: 32 },
    ]);
    expect(reassembler.heldWithin(-5, 20)).toEqual([{ start: 10, end: 15 }]);
    reassembler.advance(12);
    expect(reassembler.heldWithin(0, 100)).toEqual([
      { start: 0, end: 8 },
      { start: 18, end: 23 },
    ]);
  });

  it('cuts data at the limit and before RCV.NXT', () => {
    const reassembler = new Reassembler(10);
    expect(reassembler.insert(8, Uint8Array.of(1, 2, 3, 4))).toBe(2);
    expect(reassembler.insert(12, Uint8Array.of(5))).toBe(0);
    expect(reassembler.insert(-2, Uint8Array.of(6, 7, 8))).toBe(1);
    expect(reassembler.sackRanges(4)).toEqual([
      { start: 0, end: 1 },
      { start: 8, end: 10 },
    ]);
  });

  it('trims runs that RCV.NXT passed', () => {
    const reassembler = new Reassembler(100);
    reassembler.insert(10, new Uint8Array(10).fill(1)); // [10, 20)
    reassembler.insert(30, Uint8Array.of(3, 4, 5, 6)); // [30, 34)
    reassembler.advance(32);
    expect(reassembler.bufferedBytes).toBe(2);
    expect(reassembler.sackRanges(4)).toEqual([{ start: 0, end: 2 }]);
    expect(Array.from(reassembler.takeReady() ?? [])).toEqual([5, 6]);
  });

  it('reports the most recently updated run first in its SACK ranges (RFC 2018 §4)', () => {
    const reassembler = new Reassembler(1000);
    reassembler.insert(10, new Uint8Array(10));
    reassembler.insert(30, new Uint8Array(10));
    reassembler.insert(50, new Uint8Array(10));
    expect(reassembler.sackRanges(8)).toEqual([
      { start: 50, end: 60 },
      { start: 30, end: 40 },
      { start: 10, end: 20 },
    ]);
    reassembler.insert(35, new Uint8Array(10)); // extends the middle run to [30, 45)
    expect(reassembler.sackRanges(2)).toEqual([
      { start: 30, end: 45 },
      { start: 50, end: 60 },
    ]);
    reassembler.insert(45, new Uint8Array(5)); // bridges [30, 45) and [50, 60)
    expect(reassembler.sackRanges(8)).toEqual([
      { start: 30, end: 60 },
      { start: 10, end: 20 },
    ]);
    reassembler.insert(12, new Uint8Array(2)); // a duplicate still counts as the latest arrival
    expect(reassembler.sackRanges(1)).toEqual([{ start: 10, end: 20 }]);
    expect(reassembler.sackRanges(0)).toEqual([]);
  });

  it('puts the run holding an offset first, then the others by recency', () => {
    const reassembler = new Reassembler(1000);
    for (const offset of [10, 50, 30, 70]) reassembler.insert(offset, new Uint8Array(10));
    reassembler.insert(60, new Uint8Array(5)); // a fifth arrival extends [50, 60) to [50, 65)
    const byRecency = [
      { start: 50, end: 65 },
      { start: 70, end: 80 },
      { start: 30, end: 40 },
      { start: 10, end: 20 },
    ];
    expect(reassembler.sackRanges(4)).toEqual(byRecency);
    expect(reassembler.sackRanges(4, 15)).toEqual([{ start: 10, end: 20 }, ...byRecency.slice(0, 3)]);
    expect(reassembler.sackRanges(2, 35)).toEqual([
      { start: 30, end: 40 },
      { start: 50, end: 65 },
    ]);
    // An offset in no run, or at a run's end (not in it): recency alone.
    expect(reassembler.sackRanges(3, 25)).toEqual(byRecency.slice(0, 3));
    expect(reassembler.sackRanges(3, 20)).toEqual(byRecency.slice(0, 3));
  });

  it('chooses SACK ranges as sorting the runs by recency would, for any arrivals', () => {
    // The reference: every held run with the arrival that last touched it, sorted newest first.
    fc.assert(
      fc.property(
        fc.array(fc.record({ offset: fc.nat(300), length: fc.integer({ min: 1, max: 20 }) }), { minLength: 1, maxLength: 30 }),
        fc.nat(),
        fc.integer({ min: 1, max: 5 }),
        (segments, pick, max) => {
          const reassembler = new Reassembler(1000);
          const touched = new Map<number, number>(); // offset → arrival
          segments.forEach(({ offset, length }, arrival) => {
            reassembler.insert(offset, new Uint8Array(length));
            for (let i = offset; i < offset + length; i++) touched.set(i, arrival);
          });
          const runs = reassembler.sackRanges(1000).map((run) => {
            let last = 0;
            for (let i = run.start; i < run.end; i++) last = Math.max(last, touched.get(i)!);
            return { ...run, last };
          });
          const byRecency = [...runs].sort((a, b) => b.last - a.last);
          const strip = ({ start, end }: { start: number; end: number }) => ({ start, end });
          expect(reassembler.sackRanges(max)).toEqual(byRecency.slice(0, max).map(strip));
          const answered = segments[pick % segments.length]!.offset;
          const holding = runs.find((run) => run.start <= answered && answered < run.end)!;
          const expected = [holding, ...byRecency.filter((run) => run !== holding)];
          expect(reassembler.sackRanges(max, answered)).toEqual(expected.slice(0, max).map(strip));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('stores and returns runs that straddle the end of its ring', () => {
    const reassembler = new Reassembler(50, 50);
    reassembler.insert(40, Uint8Array.of(1)); // allocates the 50-byte ring
    reassembler.advance(41); // RCV.NXT now sits at ring index 41
    const bytes = new Uint8Array(20).map((_, i) => 100 + i);
    expect(reassembler.insert(1, bytes)).toBe(20); // ring indexes 42..49 then 0..11
    reassembler.advance(1);
    expect(Array.from(reassembler.takeReady() ?? [])).toEqual(Array.from(bytes));
  });

  it('hands a run out as views of its ring, the part up to the ring end first, then the rest', () => {
    const reassembler = new Reassembler(50, 50);
    reassembler.insert(40, Uint8Array.of(1));
    reassembler.advance(41);
    const bytes = new Uint8Array(20).map((_, i) => 100 + i);
    reassembler.insert(1, bytes); // ring indexes 42..49 then 0..11
    reassembler.insert(30, Uint8Array.of(7)); // a later run, beyond a hole
    reassembler.advance(1);
    const first = reassembler.takeReadyView();
    expect(Array.from(first ?? [])).toEqual(Array.from(bytes.subarray(0, 8)));
    reassembler.advance(first?.length ?? 0);
    const second = reassembler.takeReadyView();
    expect(Array.from(second ?? [])).toEqual(Array.from(bytes.subarray(8)));
    // Both are views of one store, not copies; the later run is still held, and still reported.
    expect(second?.buffer).toBe(first?.buffer);
    reassembler.advance(second?.length ?? 0);
    expect(reassembler.takeReadyView()).toBeUndefined();
    expect(reassembler.bufferedBytes).toBe(1);
    expect(reassembler.sackRanges(4)).toEqual([{ start: 9, end: 10 }]);
  });

  it('hands a long run out 64 KiB at a time, the rest still held and reported', () => {
    const reassembler = new Reassembler(1 << 20);
    const run = new Uint8Array(200 * 1024).map((_, i) => (i * 7) & 0xff);
    expect(reassembler.insert(1, run)).toBe(run.length);
    expect(reassembler.insert(run.length + 10, Uint8Array.of(5))).toBe(1); // a later run, beyond a hole
    reassembler.advance(1); // the hole before the long run is filled
    const pieces: Uint8Array[] = [];
    for (let piece = reassembler.takeReady(); piece !== undefined; piece = reassembler.takeReady()) {
      pieces.push(piece);
      reassembler.advance(piece.length);
      // What is not taken yet is still held, and the later run keeps its place.
      expect(reassembler.bufferedBytes).toBe(run.length - pieces.reduce((sum, p) => sum + p.length, 0) + 1);
    }
    expect(pieces.map((p) => p.length)).toEqual([65536, 65536, 65536, 200 * 1024 - 3 * 65536]);
    expect(Buffer.concat(pieces).equals(Buffer.from(run))).toBe(true);
    expect(reassembler.sackRanges(4)).toEqual([{ start: 9, end: 10 }]);
  });

  it('grows its storage up to the limit without losing held bytes', () => {
    const limit = 1 << 20;
    const reassembler = new Reassembler(limit, 16);
    const far = new Uint8Array(1000).map((_, i) => i & 0xff);
    expect(reassembler.insert(limit - 1000, far)).toBe(1000);
    expect(reassembler.insert(5, Uint8Array.of(9, 8, 7))).toBe(3);
    reassembler.advance(5);
    expect(Array.from(reassembler.takeReady() ?? [])).toEqual([9, 8, 7]);
    reassembler.advance(3);
    reassembler.advance(limit - 1000 - 8);
    expect(Array.from(reassembler.takeReady() ?? [])).toEqual(Array.from(far));
    expect(reassembler.isEmpty).toBe(true);
  });
});
