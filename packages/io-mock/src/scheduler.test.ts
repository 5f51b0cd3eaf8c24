import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from './clock.js';
import { EventQueue } from './scheduler.js';

describe('EventQueue', () => {
  it('pops in time order, FIFO among equal times', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 300 }), (times) => {
        const queue = new EventQueue<number>();
        times.forEach((time, index) => queue.push(time, index));
        const popped: { time: number; index: number }[] = [];
        for (let entry = queue.pop(); entry !== undefined; entry = queue.pop()) {
          popped.push({ time: entry.time, index: entry.item });
        }
        const expected = times.map((time, index) => ({ time, index }));
        expected.sort((a, b) => a.time - b.time || a.index - b.index);
        expect(popped).toEqual(expected);
      }),
    );
  });

  it('stays ordered when pushes and pops interleave', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.record({ push: fc.double({ min: 0, max: 100, noNaN: true }) }), fc.constant('pop' as const)), {
          maxLength: 300,
        }),
        (operations) => {
          const queue = new EventQueue<number>();
          // Reference model: a list kept sorted by (time, insertion number).
          const model: { time: number; order: number }[] = [];
          let order = 0;
          for (const operation of operations) {
            if (operation === 'pop') {
              model.sort((a, b) => a.time - b.time || a.order - b.order);
              const expected = model.shift();
              const actual = queue.pop();
              expect(actual === undefined ? undefined : { time: actual.time, order: actual.item }).toEqual(expected);
            } else {
              queue.push(operation.push, order);
              model.push({ time: operation.push, order });
              order++;
            }
            expect(queue.size).toBe(model.length);
          }
        },
      ),
    );
  });

  it('reports the earliest time without removing it', () => {
    const queue = new EventQueue<string>();
    expect(queue.peekTime()).toBeUndefined();
    queue.push(5, 'late');
    queue.push(2, 'early');
    expect(queue.peekTime()).toBe(2);
    expect(queue.size).toBe(2);
    expect(queue.pop()?.item).toBe('early');
    expect(queue.peekTime()).toBe(5);
  });
});

describe('VirtualClock', () => {
  it('moves forward and refuses to go back', () => {
    const clock = new VirtualClock();
    expect(clock.now).toBe(0);
    clock.advanceTo(10.5);
    clock.advanceTo(10.5);
    expect(clock.now).toBe(10.5);
    expect(() => clock.advanceTo(3)).toThrow(RangeError);
    expect(() => clock.advanceTo(Number.NaN)).toThrow(RangeError);
  });
});
