import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { icmpMessage } from './fixtures/arbitraries.js';
import { IcmpType, decodeIcmp, echoReplyFor, encodeIcmp, encodeIcmpInto, icmpLength } from './icmp.js';

describe('ICMP (RFC 792)', () => {
  it('round-trips every message', () => {
    fc.assert(
      fc.property(icmpMessage, (message) => {
        expect(decodeIcmp(encodeIcmp(message))).toEqual({ _tag: 'Right', right: message });
      }),
    );
  });

  it('encodes at an offset', () => {
    fc.assert(
      fc.property(icmpMessage, fc.nat(9), (message, offset) => {
        const buffer = new Uint8Array(offset + icmpLength(message));
        expect(encodeIcmpInto(buffer, offset, message)).toBe(icmpLength(message));
        expect(buffer.subarray(offset)).toEqual(encodeIcmp(message));
      }),
    );
  });

  it('verifies the checksum', () => {
    fc.assert(
      fc.property(icmpMessage, fc.nat(), fc.integer({ min: 0, max: 7 }), (message, at, bit) => {
        const bytes = encodeIcmp(message);
        bytes[at % bytes.length]! ^= 1 << bit;
        expect(decodeIcmp(bytes)).toMatchObject({ _tag: 'Left', left: { layer: 'icmp', field: 'checksum' } });
      }),
    );
  });

  it('decodes an echo request and answers it', () => {
    const request = encodeIcmp({ kind: 'echo-request', identifier: 0x1234, sequence: 7, data: Uint8Array.of(1, 2, 3) });
    expect(request[0]).toBe(IcmpType.EchoRequest);
    const decoded = decodeIcmp(request);
    if (decoded._tag === 'Left' || decoded.right.kind !== 'echo-request') throw new Error('expected an echo request');
    const reply = encodeIcmp(echoReplyFor(decoded.right));
    expect(reply[0]).toBe(IcmpType.EchoReply);
    expect(Array.from(reply.subarray(4))).toEqual(Array.from(request.subarray(4)));
  });

  it('keeps other types as raw fields', () => {
    const unreachable = encodeIcmp({ kind: 'other', type: 3, code: 4, body: Uint8Array.of(0, 0, 0x05, 0xdc, 0x45) });
    expect(decodeIcmp(unreachable)).toEqual({
      _tag: 'Right',
      right: { kind: 'other', type: 3, code: 4, body: Uint8Array.of(0, 0, 0x05, 0xdc, 0x45) },
    });
  });

  it('refuses messages shorter than the header', () => {
    expect(decodeIcmp(new Uint8Array(7))).toMatchObject({ _tag: 'Left', left: { field: 'length' } });
  });
});
