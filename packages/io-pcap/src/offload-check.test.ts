import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { inspectFrame, onesComplementSum } from './offload-check.js';

/** Reference sum: add 16-bit words with no folding, then fold once at the end. */
function referenceSum(words: number[]): number {
  let total = words.reduce((a, b) => a + b, 0);
  while (total > 0xffff) total = (total % 0x10000) + Math.floor(total / 0x10000);
  return total;
}

function wordsOf(bytes: Uint8Array): number[] {
  const words: number[] = [];
  for (let i = 0; i < bytes.length; i += 2) words.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  return words;
}

interface SegmentShape {
  src: number[];
  dst: number[];
  srcPort: number;
  dstPort: number;
  payload: Uint8Array;
}

/** Ethernet + IPv4 + TCP (no options) with checksum field `0`, and its pseudo-header words. */
function buildFrame(shape: SegmentShape): { frame: Uint8Array; pseudoWords: number[]; tcpStart: number } {
  const tcpLength = 20 + shape.payload.length;
  const frame = new Uint8Array(14 + 20 + tcpLength);
  frame.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00], 0);
  const ip = 14;
  frame.set([0x45, 0, (20 + tcpLength) >> 8, (20 + tcpLength) & 0xff, 0, 1, 0x40, 0, 64, 6, 0, 0], ip);
  frame.set(shape.src, ip + 12);
  frame.set(shape.dst, ip + 16);
  const tcp = ip + 20;
  frame.set([shape.srcPort >> 8, shape.srcPort & 0xff, shape.dstPort >> 8, shape.dstPort & 0xff], tcp);
  frame[tcp + 12] = 0x50;
  frame[tcp + 13] = 0x18;
  frame.set(shape.payload, tcp + 20);
  const pseudoWords = [...wordsOf(Uint8Array.from([...shape.src, ...shape.dst])), 6, tcpLength];
  return { frame, pseudoWords, tcpStart: tcp };
}

function writeField(frame: Uint8Array, tcpStart: number, value: number): void {
  frame[tcpStart + 16] = value >> 8;
  frame[tcpStart + 17] = value & 0xff;
}

const address = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 });
const segmentShape = fc.record({
  src: address,
  dst: address,
  srcPort: fc.integer({ min: 1, max: 65535 }),
  dstPort: fc.integer({ min: 1, max: 65535 }),
  payload: fc.uint8Array({ maxLength: 1460 }),
});

describe('onesComplementSum', () => {
  it('gives the RFC 1071 §3 example sum', () => {
    expect(onesComplementSum(Uint8Array.of(0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7), 0, 8)).toBe(0xddf2);
  });

  it('agrees with a fold-once reference, odd lengths padded with zero', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), (bytes) => {
        return onesComplementSum(bytes, 0, bytes.length) === referenceSum(wordsOf(bytes));
      }),
    );
  });
});

describe('inspectFrame', () => {
  it('passes segments with a correct checksum', () => {
    fc.assert(
      fc.property(segmentShape, (shape) => {
        const { frame, pseudoWords, tcpStart } = buildFrame(shape);
        const sum = referenceSum([...pseudoWords, ...wordsOf(frame.subarray(tcpStart))]);
        writeField(frame, tcpStart, 0xffff - sum);
        return inspectFrame(frame, 1500) === 'ok';
      }),
    );
  });

  it('flags segments whose checksum field still holds the pseudo-header seed', () => {
    fc.assert(
      fc.property(segmentShape, (shape) => {
        const { frame, pseudoWords, tcpStart } = buildFrame(shape);
        const seed = referenceSum(pseudoWords);
        writeField(frame, tcpStart, seed);
        const verifies = referenceSum([...pseudoWords, ...wordsOf(frame.subarray(tcpStart))]) === 0xffff;
        return inspectFrame(frame, 1500) === (verifies ? 'ok' : 'partial-checksum');
      }),
    );
  });

  it('leaves other bad checksums to the host', () => {
    fc.assert(
      fc.property(segmentShape, fc.integer({ min: 0, max: 0xffff }), (shape, field) => {
        const { frame, pseudoWords, tcpStart } = buildFrame(shape);
        fc.pre(field !== referenceSum(pseudoWords));
        writeField(frame, tcpStart, field);
        return inspectFrame(frame, 1500) === 'ok';
      }),
    );
  });

  it('flags frames longer than the MTU plus the Ethernet header', () => {
    fc.assert(
      fc.property(fc.integer({ min: 576, max: 9000 }), fc.integer({ min: -100, max: 100 }), (mtu, excess) => {
        const frame = new Uint8Array(Math.max(60, mtu + 14 + excess));
        const expected = frame.length > mtu + 14 ? 'oversized' : 'ok';
        return inspectFrame(frame, mtu) === expected;
      }),
    );
  });

  it('ignores non-IPv4 frames and fragments', () => {
    const { frame, pseudoWords, tcpStart } = buildFrame({
      src: [198, 18, 10, 1],
      dst: [198, 18, 10, 2],
      srcPort: 80,
      dstPort: 50000,
      payload: Uint8Array.of(1, 2, 3),
    });
    writeField(frame, tcpStart, referenceSum(pseudoWords));
    expect(inspectFrame(frame, 1500)).toBe('partial-checksum');
    const fragment = frame.slice();
    fragment[14 + 6] = 0x20; // more fragments
    expect(inspectFrame(fragment, 1500)).toBe('ok');
    const arp = frame.slice();
    arp[13] = 0x06;
    expect(inspectFrame(arp, 1500)).toBe('ok');
  });
});
