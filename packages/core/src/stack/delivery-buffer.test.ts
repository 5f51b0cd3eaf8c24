import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DeliveryBuffer } from './delivery-buffer.js';

const concat = (parts: readonly Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
};

describe('DeliveryBuffer', () => {
  it('hands out every appended byte once, in order, in views that later appends and reused sources never change', () => {
    const step = fc.oneof(
      fc.record({ append: fc.uint8Array({ maxLength: 70_000 }) }),
      fc.record({ take: fc.constant(true) }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 30 }), (steps) => {
        const buffer = new DeliveryBuffer();
        const appended: Uint8Array[] = [];
        const taken: Array<{ view: Uint8Array; copy: Uint8Array }> = [];
        const takeAll = () => {
          for (let view = buffer.take(); view !== undefined; view = buffer.take()) taken.push({ view, copy: view.slice() });
        };
        for (const s of steps) {
          if ('append' in s) {
            const source = s.append.slice();
            buffer.append(source);
            appended.push(s.append);
            source.fill(0xee); // the caller reuses its buffer
          } else {
            takeAll();
          }
        }
        takeAll();
        expect(buffer.isEmpty).toBe(true);
        expect(concat(taken.map((t) => t.view))).toEqual(concat(appended));
        for (const t of taken) {
          expect(t.view.length).toBeGreaterThan(0);
          expect(t.view).toEqual(t.copy);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('coalesces small appends into one view', () => {
    const buffer = new DeliveryBuffer();
    for (let i = 0; i < 40; i++) buffer.append(new Uint8Array(1448).fill(i));
    const view = buffer.take();
    expect(view?.length).toBe(40 * 1448);
    expect(view?.[1448 * 39]).toBe(39);
    expect(buffer.take()).toBeUndefined();
    expect(buffer.isEmpty).toBe(true);
  });
});
