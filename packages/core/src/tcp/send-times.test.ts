import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SendTimes } from './send-times.js';
import { seqAdd, seqDiff } from './seq.js';

/** Close to 2^32, so that ranges cross the wrap. */
const BASE = 0xffff_ff00;

type Op =
  | { kind: 'send'; length: number }
  | { kind: 'resend'; from: number; length: number }
  | { kind: 'ack'; upTo: number };

describe('SendTimes', () => {
  it('knows, for every unacknowledged byte, when it was last sent and whether that was a retransmission', () => {
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant('send' as const), length: fc.integer({ min: 1, max: 300 }) }),
      fc.record({
        kind: fc.constant('resend' as const),
        from: fc.double({ min: 0, max: 1, noNaN: true }),
        length: fc.integer({ min: 1, max: 300 }),
      }),
      fc.record({ kind: fc.constant('ack' as const), upTo: fc.double({ min: 0, max: 1, noNaN: true }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const times = new SendTimes();
        // The model: per byte offset from BASE, [time, retransmitted].
        const model: Array<[number, boolean] | undefined> = [];
        let una = 0;
        let next = 0;
        ops.forEach((o, now) => {
          if (o.kind === 'send') {
            times.record(seqAdd(BASE, next), seqAdd(BASE, next + o.length), now, false);
            for (let i = next; i < next + o.length; i++) model[i] = [now, false];
            next += o.length;
          } else if (o.kind === 'resend') {
            if (next === una) return;
            const start = una + Math.floor(o.from * (next - una));
            const end = Math.min(start + o.length, next);
            if (start >= end) return;
            times.record(seqAdd(BASE, start), seqAdd(BASE, end), now, true);
            for (let i = start; i < end; i++) model[i] = [now, true];
          } else {
            una += Math.floor(o.upTo * (next - una));
            times.forget(seqAdd(BASE, una));
          }
        });
        for (let i = una; i < next; i++) {
          const record = times.find(seqAdd(BASE, i));
          expect(record, `byte ${i}`).toBeDefined();
          expect([record!.at, record!.retransmitted]).toEqual(model[i]);
        }
        expect(times.find(seqAdd(BASE, next))).toBeUndefined();
        if (una > 0) expect(times.find(seqAdd(BASE, una - 1))).toBeUndefined();
        // The records overlapping the whole unacknowledged range tile it, in order.
        let cursor = una;
        for (const r of times.overlapping(seqAdd(BASE, una), seqAdd(BASE, next))) {
          expect(seqDiff(r.start, BASE)).toBe(cursor);
          cursor = seqDiff(r.end, BASE);
        }
        expect(cursor).toBe(next);
      }),
      { numRuns: 300 },
    );
  });
});
