import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChunkPool, DeliveryBuffer, LARGE_CHUNK, SMALL_CHUNK } from './delivery-buffer.js';

const concat = (parts: readonly Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
};

/** Whether a held view still has the bytes it had when taken (a memcmp: views are up to 64 KiB). */
const unchanged = ({ view, copy }: { view: Uint8Array; copy: Uint8Array }): boolean =>
  Buffer.compare(Buffer.from(view.buffer, view.byteOffset, view.length), copy) === 0;

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

  it('reuses released memory, and never writes over bytes still held', () => {
    const step = fc.oneof(
      fc.record({ append: fc.integer({ min: 1, max: 70_000 }) }),
      fc.record({ take: fc.constant(true) }),
      fc.record({ release: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const pool = new ChunkPool();
        const buffer = new DeliveryBuffer(pool);
        const held: Array<{ view: Uint8Array; copy: Uint8Array }> = [];
        let fill = 0;
        const takeAll = () => {
          for (let view = buffer.take(); view !== undefined; view = buffer.take()) held.push({ view, copy: view.slice() });
        };
        for (const s of steps) {
          if ('append' in s) buffer.append(new Uint8Array(s.append).fill(++fill & 0xff));
          else if ('take' in s) takeAll();
          else if (held.length > 0) pool.release(held.splice(s.release % held.length, 1)[0]!.view);
          for (const h of held) expect(unchanged(h)).toBe(true);
        }
        takeAll();
        for (const h of held) expect(unchanged(h)).toBe(true);
      }),
      { numRuns: 200 },
    );
    // Released as they are taken, a long stream of chunks lives in a few buffers.
    const pool = new ChunkPool();
    const buffer = new DeliveryBuffer(pool);
    const buffers = new Set<ArrayBufferLike>();
    for (let i = 0; i < 1000; i++) {
      buffer.append(new Uint8Array(20_000).fill(i & 0xff));
      for (let view = buffer.take(); view !== undefined; view = buffer.take()) {
        expect(view[0]).toBe(i & 0xff);
        buffers.add(view.buffer);
        pool.release(view);
      }
    }
    // A few of each size: the first MiB went into small chunks, the rest into large ones.
    expect(buffers.size).toBeLessThanOrEqual(6);
  });

  it('gives a connection small chunks until it has received a large chunk\'s worth, then large ones', () => {
    const buffer = new DeliveryBuffer();
    const sizes: number[] = [];
    let received = 0;
    for (let i = 0; i < 3000; i++) {
      buffer.append(new Uint8Array(1448).fill(i & 0xff));
      for (let view = buffer.take(); view !== undefined; view = buffer.take()) {
        sizes.push(view.buffer.byteLength);
        // A view's chunk is small exactly when the view starts in the connection's first MiB.
        expect(view.buffer.byteLength).toBe(received < LARGE_CHUNK ? SMALL_CHUNK : LARGE_CHUNK);
        expect(view[0]).toBe(Math.floor(received / 1448) & 0xff);
        received += view.length;
      }
    }
    expect(received).toBe(3000 * 1448);
    expect(sizes).toContain(SMALL_CHUNK);
    expect(sizes).toContain(LARGE_CHUNK);
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
