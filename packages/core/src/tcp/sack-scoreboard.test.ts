import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SackScoreboard } from './sack-scoreboard.js';
import { seqAdd } from './seq.js';

describe('SACK scoreboard', () => {
  it('agrees with a byte-set model for any blocks and cumulative ACKs, across the wrap', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.array(
          fc.oneof(
            fc.record({ kind: fc.constant('sack' as const), left: fc.nat(400), len: fc.integer({ min: -5, max: 60 }) }),
            fc.record({ kind: fc.constant('ack' as const), by: fc.nat(40) }),
          ),
          { maxLength: 40 },
        ),
        (base, ops) => {
          const board = new SackScoreboard();
          const held = new Set<number>(); // offsets from base
          let una = 0;
          const max = 400;
          for (const op of ops) {
            if (op.kind === 'sack') {
              const right = op.left + op.len;
              const newly: Array<{ start: number; end: number }> = [];
              board.add([{ left: seqAdd(base, op.left), right: seqAdd(base, right) }], seqAdd(base, una), seqAdd(base, max), newly);
              const before = new Set(held);
              if (op.len > 0 && right > una && right <= max) for (let o = Math.max(op.left, una); o < right; o++) held.add(o);
              // The newly held ranges are exactly the bytes added, in order, disjoint.
              const reported: number[] = [];
              for (const r of newly) for (let s = r.start; s !== r.end; s = seqAdd(s, 1)) reported.push((s - base) >>> 0);
              expect(reported).toEqual([...held].filter((o) => !before.has(o)).sort((a, b) => a - b));
            } else {
              una = Math.min(una + op.by, max);
              board.acknowledge(seqAdd(base, una));
              for (const o of [...held]) if (o < una) held.delete(o);
            }
            expect(board.sackedBytes).toBe(held.size);
            const probe = una + 7;
            expect(board.sackedAbove(seqAdd(base, probe))).toBe([...held].filter((o) => o >= probe).length);
            const hole = board.holeFrom(seqAdd(base, una));
            const highest = held.size ? Math.max(...held) + 1 : undefined;
            if (highest === undefined) expect(hole).toBeUndefined();
            else {
              let first = una;
              while (held.has(first)) first++;
              if (first >= highest) expect(hole).toBeUndefined();
              else expect(hole?.start).toBe(seqAdd(base, first));
            }
          }
        },
      ),
    );
  });

  it('ignores blocks outside SND.UNA..SND.MAX and counts lost holes by DupThresh', () => {
    const board = new SackScoreboard();
    board.add([{ left: 5000, right: 6000 }], 1000, 4000); // beyond SND.MAX
    board.add([{ left: 0, right: 900 }], 1000, 4000); // below SND.UNA
    expect(board.isEmpty).toBe(true);
    board.add([{ left: 2000, right: 3000 }, { left: 3500, right: 4000 }], 1000, 4000);
    expect(board.holeFrom(1000)).toEqual({ start: 1000, end: 2000 });
    expect(board.lostBytesFrom(1000, 1500)).toBe(1000); // 1500 held above the first hole: lost
    expect(board.lostBytesFrom(1000, 1501)).toBe(0);
    expect(board.heldUntil(2500)).toBe(3000);
    expect(board.heldUntil(3200)).toBeUndefined();
  });
});
