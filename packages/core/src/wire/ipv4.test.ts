import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { internetChecksum } from './checksum.js';
import { EtherType, decodeEthernet, encodeEthernet } from './ethernet.js';
import { ipv4Packet } from './fixtures/arbitraries.js';
import { IPV4_HEADER_LENGTH, IpProtocol, decodeIpv4, encodeIpv4, encodeIpv4Into } from './ipv4.js';
import { OVERSIZED_BY_OFFLOAD_REASON, offloadSymptomOf } from './offload.js';

const sample = {
  src: 0xc6126301,
  dst: 0xc6126302,
  protocol: IpProtocol.TCP,
  ttl: 64,
  identification: 0x1234,
  dontFragment: true,
  dscpEcn: 0,
  payload: Uint8Array.of(1, 2, 3, 4, 5),
};

/** Rewrites the header checksum of `bytes` over its first `headerLength` bytes. */
const withHeaderChecksum = (bytes: Uint8Array, headerLength: number): Uint8Array => {
  bytes[10] = 0;
  bytes[11] = 0;
  const checksum = internetChecksum(bytes, 0, headerLength);
  bytes[10] = checksum >>> 8;
  bytes[11] = checksum & 0xff;
  return bytes;
};

/** Applies `edit` to an encoded packet, then fixes the header checksum so only the edit is wrong. */
const edited = (edit: (bytes: Uint8Array) => void): Uint8Array => {
  const bytes = encodeIpv4(sample);
  edit(bytes);
  return withHeaderChecksum(bytes, Math.min((bytes[0]! & 0x0f) * 4, bytes.length));
};

describe('IPv4 (RFC 791)', () => {
  it('round-trips every packet', () => {
    fc.assert(
      fc.property(ipv4Packet, (packet) => {
        expect(decodeIpv4(encodeIpv4(packet))).toEqual({ _tag: 'Right', right: packet });
      }),
    );
  });

  it('encodes at an offset', () => {
    fc.assert(
      fc.property(ipv4Packet, fc.nat(9), (packet, offset) => {
        const buffer = new Uint8Array(offset + IPV4_HEADER_LENGTH + packet.payload.length);
        expect(encodeIpv4Into(buffer, offset, packet)).toBe(IPV4_HEADER_LENGTH + packet.payload.length);
        expect(buffer.subarray(offset)).toEqual(encodeIpv4(packet));
      }),
    );
  });

  it('writes a header whose checksum verifies', () => {
    fc.assert(
      fc.property(ipv4Packet, (packet) => {
        expect(internetChecksum(encodeIpv4(packet), 0, IPV4_HEADER_LENGTH)).toBe(0);
      }),
    );
  });

  it('refuses a corrupted header with reason checksum', () => {
    const bytes = encodeIpv4(sample);
    bytes[8]! ^= 0x01;
    expect(decodeIpv4(bytes)).toEqual({ _tag: 'Left', left: { layer: 'ipv4', field: 'checksum', reason: 'mismatch' } });
  });

  it('refuses fragments, saying the host reassembles them', () => {
    const moreFragments = edited((b) => (b[6]! |= 0x20));
    const laterFragment = edited((b) => (b[7] = 0xb9)); // offset 185 × 8
    for (const bytes of [moreFragments, laterFragment]) {
      const result = decodeIpv4(bytes);
      expect(result).toMatchObject({ _tag: 'Left', left: { layer: 'ipv4', field: 'fragment' } });
      if (result._tag === 'Left') expect(result.left.reason).toContain('reassembled by the host');
    }
  });

  it('refuses a bad version or IHL', () => {
    expect(decodeIpv4(edited((b) => (b[0] = 0x65)))).toMatchObject({ left: { field: 'version' } });
    expect(decodeIpv4(edited((b) => (b[0] = 0x44)))).toMatchObject({ left: { field: 'ihl' } });
    expect(decodeIpv4(edited((b) => (b[0] = 0x4f)))).toMatchObject({ left: { field: 'ihl' } }); // 60 bytes > 25
    expect(decodeIpv4(new Uint8Array(19))).toMatchObject({ left: { field: 'length' } });
  });

  it('refuses a total length beyond the buffer or inside the header', () => {
    expect(decodeIpv4(edited((b) => (b[3] = 26)))).toMatchObject({ left: { field: 'totalLength' } });
    expect(decodeIpv4(edited((b) => (b[3] = 19)))).toMatchObject({ left: { field: 'totalLength' } });
  });

  it('skips options (IHL above 5)', () => {
    const plain = encodeIpv4({ ...sample, payload: Uint8Array.of(7, 8, 9) });
    const withOptions = new Uint8Array(plain.length + 4);
    withOptions.set(plain.subarray(0, 20));
    withOptions.set([0x01, 0x01, 0x01, 0x00], 20); // NOP, NOP, NOP, EOL
    withOptions.set(plain.subarray(20), 24);
    withOptions[0] = 0x46;
    withOptions[3] = withOptions.length;
    expect(decodeIpv4(withHeaderChecksum(withOptions, 24))).toEqual({
      _tag: 'Right',
      right: { ...sample, payload: Uint8Array.of(7, 8, 9) },
    });
  });

  it('cuts Ethernet padding off the payload', () => {
    fc.assert(
      fc.property(ipv4Packet, (packet) => {
        const ip = encodeIpv4(packet);
        const frame = encodeEthernet({ dst: 1, src: 2, etherType: EtherType.IPv4, payload: ip });
        const padded = new Uint8Array(Math.max(60, frame.length));
        padded.set(frame);
        padded.fill(0xee, frame.length);
        const ethernet = decodeEthernet(padded);
        if (ethernet._tag === 'Left') throw new Error('expected a frame');
        expect(decodeIpv4(ethernet.right.payload)).toEqual({ _tag: 'Right', right: packet });
      }),
    );
  });

  it('refuses packets above the MTU when given one, marking offload', () => {
    const big = encodeIpv4({ ...sample, payload: new Uint8Array(1481) });
    expect(decodeIpv4(big, 1501)._tag).toBe('Right');
    const refused = decodeIpv4(big, 1500);
    expect(refused).toEqual({ _tag: 'Left', left: { layer: 'ipv4', field: 'totalLength', reason: OVERSIZED_BY_OFFLOAD_REASON } });
    if (refused._tag === 'Left') expect(offloadSymptomOf(refused.left)).toBe('oversized');
  });
});
