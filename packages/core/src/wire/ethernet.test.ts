import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EtherType, decodeEthernet, encodeEthernet, encodeEthernetInto } from './ethernet.js';
import { ethernetFrame } from './fixtures/arbitraries.js';

describe('Ethernet II', () => {
  it('round-trips every frame', () => {
    fc.assert(
      fc.property(ethernetFrame, (frame) => {
        expect(decodeEthernet(encodeEthernet(frame))).toEqual({ _tag: 'Right', right: frame });
      }),
    );
  });

  it('encodes at an offset into a larger buffer', () => {
    fc.assert(
      fc.property(ethernetFrame, fc.nat(20), (frame, offset) => {
        const buffer = new Uint8Array(offset + 14 + frame.payload.length + 5).fill(0xaa);
        const written = encodeEthernetInto(buffer, offset, frame);
        expect(written).toBe(14 + frame.payload.length);
        expect(buffer.subarray(offset, offset + written)).toEqual(encodeEthernet(frame));
        expect(buffer[offset + written]).toBe(0xaa);
      }),
    );
  });

  it('lays out destination, source and type in order', () => {
    const bytes = encodeEthernet({ dst: 0xffffffffffff, src: 0x020000990001, etherType: EtherType.ARP, payload: Uint8Array.of(7) });
    expect(Array.from(bytes)).toEqual([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0x99, 0, 1, 0x08, 0x06, 7]);
  });

  it('refuses frames shorter than the header', () => {
    expect(decodeEthernet(new Uint8Array(13))).toMatchObject({ _tag: 'Left', left: { layer: 'ethernet', field: 'length' } });
  });

  it('refuses IEEE 802.3 length fields', () => {
    const bytes = encodeEthernet({ dst: 1, src: 2, etherType: 0x0800, payload: new Uint8Array(46) });
    bytes[12] = 0x00;
    bytes[13] = 46;
    expect(decodeEthernet(bytes)).toMatchObject({ _tag: 'Left', left: { field: 'etherType' } });
  });

  it('keeps trailing padding in the payload view without copying', () => {
    const frame = new Uint8Array(60);
    frame[12] = 0x08;
    const decoded = decodeEthernet(frame);
    if (decoded._tag === 'Left') throw new Error('expected a frame');
    expect(decoded.right.payload.length).toBe(46);
    expect(decoded.right.payload.buffer).toBe(frame.buffer);
  });
});
