import fc from 'fast-check';
import { isRight } from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { tcpChecksumVerifies } from './checksum-offload.js';
import { RECEIVER_IP, RECEIVER_MAC, SENDER_IP, SENDER_MAC, tcpBurst } from './fixtures/bursts.js';
import { encodeTcpFrame, type FrameAddressing } from './frame.js';
import { ipv4HeaderError, ipv4PayloadEnd, ipv4PayloadStart } from './ipv4.js';
import { coalesceTcpFrames, type CoalescedFrame } from './receive-coalescing.js';
import { decodeTcpAt } from './tcp.js';
import { TcpFlag, type TcpSegment } from './tcp-types.js';

const addressing = (identification: number): FrameAddressing => ({
  srcMac: SENDER_MAC,
  dstMac: RECEIVER_MAC,
  srcIp: SENDER_IP,
  dstIp: RECEIVER_IP,
  ttl: 64,
  identification,
});

const segment = (seq: number, length: number, flags: number = TcpFlag.ACK, fill = seq): TcpSegment => ({
  srcPort: 8080,
  dstPort: 40_000,
  seq,
  ack: 1,
  flags,
  window: 500,
  urgent: 0,
  options: { timestamps: { value: 7, echo: 3 } },
  payload: Uint8Array.from({ length }, (_, i) => (fill + i) & 0xff),
});

/** Frames of consecutive segments of `sizes` bytes from sequence number 1000, the i-th with identification i. */
const run = (sizes: readonly number[], flagsOf: (i: number) => number = () => TcpFlag.ACK): Uint8Array[] => {
  let seq = 1000;
  return sizes.map((size, i) => {
    const frame = encodeTcpFrame(addressing(i), segment(seq, size, flagsOf(i)));
    seq += size;
    return frame;
  });
};

/** The TCP segment of a frame, decoded by the host's own rules (checksum summed, not trusted). */
const decode = (frame: Uint8Array): TcpSegment | undefined => {
  if (ipv4HeaderError(frame, 14, frame.length) !== undefined) return undefined;
  const tcp = decodeTcpAt(frame, ipv4PayloadStart(frame, 14), ipv4PayloadEnd(frame, 14), SENDER_IP, RECEIVER_IP, false);
  return isRight(tcp) ? tcp.right : undefined;
};

/** What the receiver makes of a frame out of the coalescer: the segments as they were sent, or the frame as it came. */
const asSent = ({ frame, segmentSize }: CoalescedFrame): string[] => {
  const seg = decode(frame);
  if (seg === undefined) return [Buffer.from(frame).toString('hex')];
  const size = segmentSize === 0 ? Math.max(seg.payload.length, 1) : segmentSize;
  const parts: string[] = [];
  for (let at = 0; at < Math.max(seg.payload.length, 1); at += size) {
    const data = Buffer.from(seg.payload.subarray(at, at + size)).toString('hex');
    parts.push(`${seg.srcPort} ${(seg.seq + at) >>> 0} ${data}`);
  }
  return parts;
};

describe('receive coalescing (as GRO)', () => {
  it('merges a run of full segments and a short last one into the frame the sender would have sent as one', () => {
    const frames = run([1448, 1448, 1448, 1448, 1448, 100]);
    const out = coalesceTcpFrames(frames);
    expect(out).toHaveLength(1);
    expect(out[0]!.segmentSize).toBe(1448);
    // Byte for byte the frame of one segment with all the data: the first one's headers, lengths and sums anew.
    const whole = Buffer.concat(frames.map((f) => decode(f)!.payload));
    const expected = encodeTcpFrame(addressing(0), { ...segment(1000, 0), payload: whole });
    expect(Buffer.from(out[0]!.frame).equals(Buffer.from(expected))).toBe(true);
  });

  it('passes a lone segment, and every frame that is not a plain data segment, as it came', () => {
    const lone = run([1448]);
    expect(coalesceTcpFrames(lone)).toEqual([{ frame: lone[0], segmentSize: 0 }]);
    const fin = run([1448, 1448, 1448], (i) => (i === 1 ? TcpFlag.ACK | TcpFlag.FIN : TcpFlag.ACK));
    expect(coalesceTcpFrames(fin).map((f) => f.segmentSize)).toEqual([0, 0, 0]);
    const bareAcks = run([0, 0, 0]);
    expect(coalesceTcpFrames(bareAcks).map((f) => f.frame)).toEqual(bareAcks);
  });

  it('ends a run after PSH and after a short segment, and at a frame whose checksum is wrong', () => {
    const pushed = run([1448, 1448, 1448, 1448], (i) => (i === 1 ? TcpFlag.ACK | TcpFlag.PSH : TcpFlag.ACK));
    const out = coalesceTcpFrames(pushed);
    expect(out.map((f) => f.segmentSize)).toEqual([1448, 1448]);
    expect(decode(out[0]!.frame)!.flags).toBe(TcpFlag.ACK | TcpFlag.PSH);
    expect(decode(out[1]!.frame)!.flags).toBe(TcpFlag.ACK);

    const short = coalesceTcpFrames(run([1448, 700, 1448, 1448]));
    expect(short.map((f) => decode(f.frame)!.payload.length)).toEqual([2148, 2896]);

    const corrupted = run([1448, 1448, 1448, 1448]);
    corrupted[2]![60]! ^= 1;
    const around = coalesceTcpFrames(corrupted);
    expect(around.map((f) => f.segmentSize)).toEqual([1448, 0, 0]);
    expect(around[1]!.frame).toBe(corrupted[2]);
  });

  it('keeps a merged frame within one IPv4 datagram', () => {
    const out = coalesceTcpFrames(run(Array.from({ length: 50 }, () => 1448)));
    // 20 + 32 bytes of headers leave room for 45 segments in 65535.
    expect(out.map((f) => decode(f.frame)!.payload.length / 1448)).toEqual([45, 5]);
    expect(out[0]!.frame.length).toBeLessThanOrEqual(14 + 65535);
  });

  it('for any burst: the receiver gets every segment as sent, in order, and every merged frame is whole and sound', () => {
    fc.assert(
      fc.property(tcpBurst, (frames) => {
        const out = coalesceTcpFrames(frames);
        expect(out.flatMap(asSent)).toEqual(frames.flatMap((frame) => asSent({ frame, segmentSize: 0 })));
        for (const { frame, segmentSize } of out) {
          if (segmentSize === 0) {
            expect(frames).toContain(frame);
            continue;
          }
          const merged = decode(frame)!;
          expect(merged).toBeDefined();
          expect(tcpChecksumVerifies(frame)).toBe(true);
          expect(merged.payload.length).toBeGreaterThan(segmentSize);
          expect(frame.length).toBeLessThanOrEqual(14 + 65535);
          expect([TcpFlag.ACK, TcpFlag.ACK | TcpFlag.PSH]).toContain(merged.flags);
        }
      }),
      { numRuns: 300 },
    );
  });
});
