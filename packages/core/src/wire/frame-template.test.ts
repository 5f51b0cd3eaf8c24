import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ipv4Address, mac, tcpSegment, u16, u8 } from './fixtures/arbitraries.js';
import { encodeTcpFrameInto, tcpFrameLength } from './frame.js';
import { type FlowAddressing, FrameHeaderTemplate } from './frame-template.js';
import { IpProtocol } from './ipv4.js';

const flow: fc.Arbitrary<FlowAddressing> = fc.record(
  { srcMac: mac, dstMac: mac, srcIp: ipv4Address, dstIp: ipv4Address, ttl: u8, dontFragment: fc.boolean(), dscpEcn: u8 },
  { requiredKeys: ['srcMac', 'dstMac', 'srcIp', 'dstIp', 'ttl'] },
);

describe('FrameHeaderTemplate', () => {
  it('writes, frame after frame, the bytes encodeTcpFrameInto writes', () => {
    fc.assert(
      fc.property(
        flow,
        fc.array(fc.tuple(u16, tcpSegment(), fc.nat(31), fc.constantFrom('full' as const, 'pseudo-header' as const)), {
          minLength: 1,
          maxLength: 5,
        }),
        (addressing, frames) => {
          const template = new FrameHeaderTemplate(addressing, IpProtocol.TCP);
          for (const [identification, segment, offset, mode] of frames) {
            // Left over from the frame before: the template must write every byte of its headers.
            const ours = new Uint8Array(2048).fill(0xa5);
            const reference = new Uint8Array(2048).fill(0xa5);
            const written = template.writeTcpFrame(ours, offset, identification, segment, mode);
            encodeTcpFrameInto(reference, offset, { ...addressing, identification }, segment, mode);
            expect(written).toBe(tcpFrameLength(segment));
            expect(ours).toEqual(reference);
          }
        },
      ),
    );
  });
});
