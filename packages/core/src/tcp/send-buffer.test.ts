import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SendBuffer } from './send-buffer.js';

type Operation =
  | { readonly kind: 'append'; readonly data: Uint8Array }
  | { readonly kind: 'acknowledge'; readonly fraction: number }
  | { readonly kind: 'peek'; readonly start: number; readonly end: number };

const operation: fc.Arbitrary<Operation> = fc.oneof(
  fc.uint8Array({ maxLength: 90 }).map((data) => ({ kind: 'append' as const, data })),
  fc.double({ min: 0, max: 1, noNaN: true }).map((fraction) => ({ kind: 'acknowledge' as const, fraction })),
  fc
    .tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }))
    .map(([a, b]) => ({ kind: 'peek' as const, start: Math.min(a, b), end: Math.max(a, b) })),
);

describe('SendBuffer', () => {
  it('behaves like a plain byte queue under any appends, acknowledgments and peeks', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), fc.array(operation, { maxLength: 80 }), (capacity, operations) => {
        const buffer = new SendBuffer(capacity);
        let model: number[] = [];
        for (const op of operations) {
          if (op.kind === 'append') {
            const expected = Math.min(op.data.length, capacity - model.length);
            expect(buffer.append(op.data)).toBe(expected);
            model = model.concat(Array.from(op.data.subarray(0, expected)));
          } else if (op.kind === 'acknowledge') {
            const bytes = Math.floor(op.fraction * model.length);
            buffer.acknowledge(bytes);
            model = model.slice(bytes);
          } else {
            const offset = Math.floor(op.start * model.length);
            const end = Math.floor(op.end * model.length);
            expect(Array.from(buffer.peek(offset, end - offset))).toEqual(model.slice(offset, end));
          }
          expect(buffer.length).toBe(model.length);
          expect(buffer.free).toBe(capacity - model.length);
        }
        expect(Array.from(buffer.peek(0, buffer.length))).toEqual(model);
      }),
    );
  });

  it('applies back-pressure: never takes more than is free', () => {
    const buffer = new SendBuffer(10);
    expect(buffer.append(new Uint8Array(7).fill(1))).toBe(7);
    expect(buffer.append(new Uint8Array(7).fill(2))).toBe(3);
    expect(buffer.free).toBe(0);
    expect(buffer.append(new Uint8Array(1))).toBe(0);
    expect(Array.from(buffer.peek(0, 10))).toEqual([1, 1, 1, 1, 1, 1, 1, 2, 2, 2]);
  });

  it('hands out views without copying when the range does not wrap, copies when it does', () => {
    const buffer = new SendBuffer(8);
    buffer.append(Uint8Array.of(0, 1, 2, 3, 4, 5));
    const first = buffer.peek(1, 3);
    const second = buffer.peek(2, 2);
    expect(first.buffer).toBe(second.buffer);
    expect(second.byteOffset).toBe(first.byteOffset + 1);

    buffer.acknowledge(5);
    buffer.append(Uint8Array.of(6, 7, 8, 9)); // fills ring indexes 6, 7, 0, 1
    const wrapped = buffer.peek(0, 5);
    expect(Array.from(wrapped)).toEqual([5, 6, 7, 8, 9]);
    expect(wrapped.buffer).not.toBe(first.buffer);
  });

  it('restarts at the front of the ring once everything is acknowledged', () => {
    const buffer = new SendBuffer(4);
    buffer.append(Uint8Array.of(1, 2, 3));
    buffer.acknowledge(3);
    buffer.append(Uint8Array.of(4, 5, 6, 7));
    const view = buffer.peek(0, 4);
    expect(Array.from(view)).toEqual([4, 5, 6, 7]);
    expect(view.byteOffset).toBe(0);
    expect(view.length).toBe(4);
  });

  it('rejects acknowledging or peeking beyond what is held', () => {
    const buffer = new SendBuffer(4);
    buffer.append(Uint8Array.of(1, 2));
    expect(() => buffer.acknowledge(3)).toThrow(RangeError);
    expect(() => buffer.peek(1, 2)).toThrow(RangeError);
    expect(() => new SendBuffer(-1)).toThrow(RangeError);
  });
});
