import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { HUGE_PAGE_BYTES, hugePageMemory } from './huge-page-memory.js';
import { loadPacketRing } from './packet-ring-binding.js';

// The addon's slabs need no socket: these run as any user.
const addon = loadPacketRing();
const ADDON_FILE = fileURLToPath(new URL('../native/build/packet-ring.node', import.meta.url));

/** The system's transparent huge page mode: the bracketed word of always / madvise / never. */
const thpMode = (): string => /\[(\w+)\]/.exec(readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8'))?.[1] ?? 'never';

describe('huge-page chunk memory', () => {
  it('cuts a slab into separate buffers of the size asked for, each its own memory', () => {
    const pieces = addon.hugePageSlab(64 * 1024);
    expect(pieces).toHaveLength(HUGE_PAGE_BYTES / (64 * 1024));
    expect(new Set(pieces).size).toBe(pieces.length);
    pieces.forEach((piece, i) => {
      expect(piece.byteLength).toBe(64 * 1024);
      new Uint8Array(piece).fill(i);
    });
    // Writing one piece touched no other.
    pieces.forEach((piece, i) => {
      const bytes = new Uint8Array(piece);
      expect(bytes[0]).toBe(i);
      expect(bytes[bytes.length - 1]).toBe(i);
    });
    expect(addon.hugePageSlab(HUGE_PAGE_BYTES)).toHaveLength(1);
  });

  it('refuses sizes a slab cannot be cut into', () => {
    for (const bad of [0, 1000, 4095, 3 * 4096, 2 * HUGE_PAGE_BYTES, -1]) {
      expect(() => addon.hugePageSlab(bad)).toThrow(RangeError);
    }
  });

  it('hands out one piece per chunk, a new slab when they run out, and plain memory where slabs do not fit', () => {
    const asked: number[] = [];
    const memory = hugePageMemory({
      hugePageSlab: (bytes) => {
        asked.push(bytes);
        return addon.hugePageSlab(bytes);
      },
    });
    const chunks = Array.from({ length: 3 }, () => memory(1024 * 1024));
    expect(asked).toEqual([1024 * 1024, 1024 * 1024]);
    expect(new Set(chunks.map((chunk) => chunk.buffer)).size).toBe(3);
    for (const chunk of chunks) expect(chunk.length).toBe(1024 * 1024);
    const odd = memory(3000);
    expect(odd.length).toBe(3000);
    expect(asked).toHaveLength(2);
  });

  it('falls back to plain memory for good once the addon cannot map a slab', () => {
    let calls = 0;
    const memory = hugePageMemory({
      hugePageSlab: () => {
        calls++;
        throw Object.assign(new Error('mmap: Cannot allocate memory'), { code: 'E12' });
      },
    });
    expect(memory(64 * 1024).length).toBe(64 * 1024);
    expect(memory(64 * 1024).length).toBe(64 * 1024);
    expect(calls).toBe(1);
  });

  it('is backed by a huge page where the system has them, and unmapped once its pieces are collected', () => {
    // A process of its own, so that nothing else of the suite's maps or frees huge pages meanwhile.
    const script = `
      const addon = require(${JSON.stringify(ADDON_FILE)});
      const huge = () => Number(/AnonHugePages:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/self/smaps_rollup', 'utf8'))[1]);
      const before = huge();
      let pieces = addon.hugePageSlab(1 << 20);
      for (const piece of pieces) new Uint8Array(piece).fill(1);
      const touched = huge();
      pieces = undefined;
      const settle = (n) => n === 0 ? console.log(JSON.stringify({ before, touched, after: huge() })) : (gc(), setImmediate(() => settle(n - 1)));
      settle(5);`;
    const { before, touched, after } = JSON.parse(execFileSync(process.execPath, ['--expose-gc', '-e', script]).toString()) as {
      before: number;
      touched: number;
      after: number;
    };
    if (thpMode() === 'never') {
      expect(touched).toBe(before);
    } else {
      expect(touched - before).toBe(HUGE_PAGE_BYTES / 1024);
      expect(after).toBe(before);
    }
  });
});
