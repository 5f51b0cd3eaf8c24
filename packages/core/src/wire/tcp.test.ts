import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { internetChecksum, pseudoHeaderSum } from './checksum.js';
import { tcpOptions, tcpSegment, u32 } from './fixtures/arbitraries.js';
import { decodeTcp, encodeTcp, encodeTcpInto, tcpHeaderLength, tcpSegmentLength } from './tcp.js';
import { EMPTY_TCP_OPTIONS, MAX_TCP_OPTIONS_LENGTH, decodeTcpOptions, tcpOptionsLength } from './tcp-options.js';
import { TcpFlag, type TcpSegment } from './tcp-types.js';

const SRC = 0xc6126301;
const DST = 0xc6126302;

const base: TcpSegment = {
  srcPort: 40000,
  dstPort: 80,
  seq: 1000,
  ack: 2000,
  flags: TcpFlag.ACK,
  window: 512,
  urgent: 0,
  options: EMPTY_TCP_OPTIONS,
  payload: new Uint8Array(0),
};

/** Fills in the TCP checksum of raw segment bytes sent from SRC to DST. */
const withChecksum = (bytes: Uint8Array): Uint8Array => {
  bytes[16] = 0;
  bytes[17] = 0;
  const checksum = internetChecksum(bytes, 0, bytes.length, pseudoHeaderSum(SRC, DST, 6, bytes.length));
  bytes[16] = checksum >>> 8;
  bytes[17] = checksum & 0xff;
  return bytes;
};

/** A segment whose header carries exactly `options` (padded with EOL to a 32-bit boundary). */
const withRawOptions = (options: readonly number[], payload: readonly number[] = []): Uint8Array => {
  const optionsLength = Math.ceil(options.length / 4) * 4;
  const bytes = new Uint8Array(20 + optionsLength + payload.length);
  bytes.set(encodeTcp(base, SRC, DST));
  bytes.set(options, 20);
  bytes.set(payload, 20 + optionsLength);
  bytes[12] = ((20 + optionsLength) / 4) << 4;
  return withChecksum(bytes);
};

const decodedOptions = (options: readonly number[]) => {
  const result = decodeTcp(withRawOptions(options), SRC, DST);
  if (result._tag === 'Left') throw new Error(`refused: ${result.left.field}: ${result.left.reason}`);
  return result.right.options;
};

describe('TCP header (RFC 9293 §3.1)', () => {
  it('round-trips every segment, with every combination of options', () => {
    fc.assert(
      fc.property(tcpSegment(), u32, u32, (segment, src, dst) => {
        expect(decodeTcp(encodeTcp(segment, src, dst), src, dst)).toEqual({ _tag: 'Right', right: segment });
      }),
      { numRuns: 1000 },
    );
  });

  it('encodes into a buffer at an offset, returning the bytes written', () => {
    fc.assert(
      fc.property(tcpSegment(), fc.nat(13), (segment, offset) => {
        const buffer = new Uint8Array(offset + tcpSegmentLength(segment) + 3).fill(0x55);
        const written = encodeTcpInto(buffer, offset, segment, SRC, DST);
        expect(written).toBe(tcpSegmentLength(segment));
        expect(buffer.subarray(offset, offset + written)).toEqual(encodeTcp(segment, SRC, DST));
        expect(Array.from(buffer.subarray(offset + written))).toEqual([0x55, 0x55, 0x55]);
      }),
    );
  });

  it('pads options to 32 bits and keeps the header within 60 bytes', () => {
    fc.assert(
      fc.property(tcpOptions, (options) => {
        const length = tcpOptionsLength(options);
        expect(length % 4).toBe(0);
        expect(length).toBeLessThanOrEqual(MAX_TCP_OPTIONS_LENGTH);
        const bytes = encodeTcp({ ...base, options }, SRC, DST);
        expect((bytes[12]! >>> 4) * 4).toBe(20 + length);
        expect(tcpHeaderLength({ ...base, options })).toBe(20 + length);
      }),
    );
  });

  it('catches every single-bit flip with the checksum', () => {
    fc.assert(
      fc.property(tcpSegment(64), fc.nat(), fc.integer({ min: 0, max: 7 }), (segment, at, bit) => {
        const bytes = encodeTcp(segment, SRC, DST);
        bytes[at % bytes.length]! ^= 1 << bit;
        expect(decodeTcp(bytes, SRC, DST)).toMatchObject({ _tag: 'Left', left: { layer: 'tcp', field: 'checksum' } });
      }),
      { numRuns: 2000 },
    );
  });

  it('checksums over the pseudo-header: other addresses do not verify', () => {
    const bytes = encodeTcp(base, SRC, DST);
    expect(decodeTcp(bytes, SRC, DST + 1)).toMatchObject({ _tag: 'Left', left: { field: 'checksum', reason: 'mismatch' } });
  });

  it('decodes the payload as a view, without copying', () => {
    const bytes = encodeTcp({ ...base, payload: Uint8Array.of(1, 2, 3) }, SRC, DST);
    const result = decodeTcp(bytes, SRC, DST);
    if (result._tag === 'Left') throw new Error('refused');
    expect(result.right.payload.buffer).toBe(bytes.buffer);
    expect(result.right.payload.byteOffset).toBe(bytes.byteOffset + 20);
  });

  it('refuses a data offset below 5 words', () => {
    const bytes = encodeTcp(base, SRC, DST);
    bytes[12] = 4 << 4;
    expect(decodeTcp(withChecksum(bytes), SRC, DST)).toMatchObject({ _tag: 'Left', left: { field: 'dataOffset' } });
  });

  it('refuses a data offset beyond the segment', () => {
    const bytes = encodeTcp(base, SRC, DST);
    bytes[12] = 6 << 4;
    expect(decodeTcp(withChecksum(bytes), SRC, DST)).toMatchObject({ _tag: 'Left', left: { field: 'dataOffset' } });
  });

  it('refuses segments shorter than the header', () => {
    expect(decodeTcp(new Uint8Array(19), SRC, DST)).toMatchObject({ _tag: 'Left', left: { field: 'length' } });
  });

  it('writes control bits in header order', () => {
    const bytes = encodeTcp({ ...base, flags: TcpFlag.SYN | TcpFlag.ACK | TcpFlag.ECE }, SRC, DST);
    expect(bytes[13]).toBe(0x52);
  });
});

describe('TCP options', () => {
  it('shares one frozen empty object when there are none', () => {
    const none = decodeTcp(encodeTcp(base, SRC, DST), SRC, DST);
    if (none._tag === 'Left') throw new Error('refused');
    expect(none.right.options).toBe(EMPTY_TCP_OPTIONS);
    expect(Object.isFrozen(EMPTY_TCP_OPTIONS)).toBe(true);
    // Padding only, or options we do not know, still allocate nothing.
    expect(decodedOptions([1, 1, 1, 0])).toBe(EMPTY_TCP_OPTIONS);
    expect(decodedOptions([30, 4, 0xab, 0xcd])).toBe(EMPTY_TCP_OPTIONS);
  });

  it('decodes MSS, window scale, SACK-permitted and timestamps', () => {
    expect(decodedOptions([2, 4, 0x05, 0xb4, 1, 3, 3, 7, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2])).toEqual({
      mss: 1460,
      windowScale: 7,
      sackPermitted: true,
      timestamps: { value: 1, echo: 2 },
    });
  });

  it('clamps a window scale above 14 to 14 (RFC 7323 §2.3)', () => {
    expect(decodedOptions([3, 3, 15, 0])).toEqual({ windowScale: 14 });
    expect(decodedOptions([3, 3, 255, 0])).toEqual({ windowScale: 14 });
  });

  it('decodes a SACK option with four blocks', () => {
    const blocks = [1, 2, 3, 4, 5, 6, 7, 8];
    const bytes = [1, 1, 5, 34, ...blocks.flatMap((n) => [0, 0, 0, n])];
    expect(decodedOptions(bytes)).toEqual({
      sack: [
        { left: 1, right: 2 },
        { left: 3, right: 4 },
        { left: 5, right: 6 },
        { left: 7, right: 8 },
      ],
    });
  });

  it('skips unknown options by their length and stops at end-of-list', () => {
    expect(decodedOptions([254, 6, 1, 2, 3, 4, 2, 4, 0x02, 0x18])).toEqual({ mss: 536 });
    expect(decodedOptions([0, 0, 0, 0, 2, 4, 0x02, 0x18])).toBe(EMPTY_TCP_OPTIONS);
  });

  it.each([
    ['length 0', [2, 0, 0, 0]],
    ['length 1', [30, 1, 0, 0]],
    ['a length past the header end', [30, 8, 0, 0]],
    ['no length byte', [1, 1, 1, 30]],
    ['an MSS of length 3', [2, 3, 0, 0]],
    ['a window scale of length 4', [3, 4, 0, 0]],
    ['a timestamps option of length 8', [8, 8, 0, 0, 0, 0, 0, 0]],
    ['a SACK with half a block', [5, 6, 0, 0, 0, 0, 0, 0]],
    ['an empty SACK', [5, 2, 0, 0]],
  ])('refuses %s with field options', (_, options) => {
    expect(decodeTcp(withRawOptions(options), SRC, DST)).toMatchObject({ _tag: 'Left', left: { layer: 'tcp', field: 'options' } });
  });

  it('decodes options from any range without throwing', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        const result = decodeTcpOptions(bytes, 0, bytes.length);
        expect(['Left', 'Right']).toContain(result._tag);
      }),
    );
  });

  it('encodes in the layout Linux uses for a SYN', () => {
    const bytes = encodeTcp(
      { ...base, options: { mss: 1460, sackPermitted: true, timestamps: { value: 1, echo: 0 }, windowScale: 10 } },
      SRC,
      DST,
    );
    expect(Array.from(bytes.subarray(20))).toEqual([2, 4, 5, 180, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 10]);
  });

  it('leaves out the SACK blocks that do not fit, keeping the first', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ left: u32, right: u32 }), { minLength: 1, maxLength: 6 }), (sack) => {
        const options = { timestamps: { value: 5, echo: 6 }, sack };
        const result = decodeTcp(encodeTcp({ ...base, options }, SRC, DST), SRC, DST);
        if (result._tag === 'Left') throw new Error('refused');
        // Timestamps take 12 bytes: 28 remain, room for 3 blocks (RFC 2018 §3).
        expect(result.right.options.sack).toEqual(sack.slice(0, 3));
        expect(result.right.options.timestamps).toEqual({ value: 5, echo: 6 });
      }),
    );
  });
});
