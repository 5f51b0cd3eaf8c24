import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ArpOperation, arpReplyFor, decodeArp, encodeArp } from './arp.js';
import { arpPacket } from './fixtures/arbitraries.js';

describe('ARP for Ethernet/IPv4 (RFC 826)', () => {
  it('round-trips every packet', () => {
    fc.assert(
      fc.property(arpPacket, (packet) => {
        expect(decodeArp(encodeArp(packet))).toEqual({ _tag: 'Right', right: packet });
      }),
    );
  });

  it('tolerates Ethernet padding after the packet', () => {
    fc.assert(
      fc.property(arpPacket, fc.uint8Array({ maxLength: 18 }), (packet, padding) => {
        const padded = Uint8Array.of(...encodeArp(packet), ...padding);
        expect(decodeArp(padded)).toEqual({ _tag: 'Right', right: packet });
      }),
    );
  });

  const valid = encodeArp({ operation: ArpOperation.Request, senderMac: 1, senderIp: 2, targetMac: 0, targetIp: 3 });
  const altered = (index: number, value: number): Uint8Array => {
    const copy = valid.slice();
    copy[index] = value;
    return copy;
  };

  it.each([
    ['hardwareType', altered(1, 6)],
    ['protocolType', altered(2, 0x86)],
    ['hardwareLength', altered(4, 8)],
    ['protocolLength', altered(5, 16)],
    ['operation', altered(7, 3)],
    ['length', valid.subarray(0, 27)],
  ])('refuses a bad %s', (field, bytes) => {
    expect(decodeArp(bytes)).toMatchObject({ _tag: 'Left', left: { layer: 'arp', field } });
  });

  it('builds the reply to a request', () => {
    fc.assert(
      fc.property(arpPacket, fc.integer({ min: 0, max: 2 ** 48 - 1 }), (request, ourMac) => {
        const reply = arpReplyFor(request, ourMac);
        expect(reply).toEqual({
          operation: ArpOperation.Reply,
          senderMac: ourMac,
          senderIp: request.targetIp,
          targetMac: request.senderMac,
          targetIp: request.senderIp,
        });
      }),
    );
  });
});
