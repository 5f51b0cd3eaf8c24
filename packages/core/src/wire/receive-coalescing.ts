/**
 * Receive coalescing, as Linux's GRO does for a NIC (and as the packet-ring
 * addon does in C, which its tests compare with this): consecutive segments
 * of one flow in a burst become one frame, so that the host decodes and
 * processes the run once. The host is told the size of the segments merged
 * (`HostApi.receiveFrame`'s `segmentSize`) and acknowledges them as the
 * segments they were (RFC 5681 §4.2: at least every second one).
 *
 * Only what TCP would treat alike is merged: verified, in-order data segments
 * of one flow whose headers are the same but for the sequence number (and PSH
 * on the last), all of one size but the last. Any other segment or frame ends
 * a run and passes as it came. A merged frame is a whole valid frame: total
 * length, IPv4 and TCP checksums computed anew, PSH as the last part had it.
 */
import { readU32, writeU16 } from './bytes.js';
import { internetChecksum, onesComplementSum, pseudoHeaderSum } from './checksum.js';
import { tcpChecksumVerifies, tcpSegmentBounds } from './checksum-offload.js';
import { ETHERNET_HEADER_LENGTH } from './ethernet.js';
import { IPV4_HEADER_LENGTH, IpProtocol, readIpv4Dst, readIpv4Src } from './ipv4.js';
import { TcpFlag } from './tcp-types.js';

/** The largest IPv4 datagram, and so the largest merged frame's IP total length (RFC 791). */
const MAX_IPV4_TOTAL = 0xffff;
const IP = ETHERNET_HEADER_LENGTH;
const TCP = IP + IPV4_HEADER_LENGTH;

/** One frame out of `coalesceTcpFrames`: as it came (`segmentSize` 0), or merged from segments of `segmentSize` bytes. */
export interface CoalescedFrame {
  readonly frame: Uint8Array;
  readonly segmentSize: number;
}

interface Part {
  readonly frame: Uint8Array;
  readonly tcpHeader: number;
  readonly payload: number;
  readonly seq: number;
  readonly flags: number;
}

/** A frame that may take part in a run: IPv4 without options, verified checksums, a plain ACK (or ACK+PSH) with data. */
const asPart = (frame: Uint8Array): Part | undefined => {
  const bounds = tcpSegmentBounds(frame);
  if (bounds === undefined || bounds.start !== TCP || !tcpChecksumVerifies(frame)) return undefined;
  if (onesComplementSum(frame, IP, TCP) !== 0xffff) return undefined; // the host drops it for its IPv4 checksum
  const tcpHeader = (frame[TCP + 12]! >> 4) * 4;
  const flags = frame[TCP + 13]!;
  const segment = bounds.end - bounds.start;
  if (tcpHeader < 20 || tcpHeader >= segment) return undefined;
  if (flags !== TcpFlag.ACK && flags !== (TcpFlag.ACK | TcpFlag.PSH)) return undefined;
  return { frame, tcpHeader, payload: segment - tcpHeader, seq: readU32(frame, TCP + 4), flags };
};

const sameBytes = (a: Uint8Array, b: Uint8Array, start: number, end: number): boolean => {
  for (let i = start; i < end; i++) if (a[i] !== b[i]) return false;
  return true;
};

/**
 * Whether `part` continues a run that began with `head`: the same Ethernet
 * header; IPv4 version, TOS, fragment field, TTL, protocol and addresses; TCP
 * ports, acknowledgment, header length, window, urgent pointer and options;
 * its sequence number where the run ends; no more data than the head.
 */
const continues = (head: Part, last: Part, length: number, part: Part): boolean =>
  last.flags === TcpFlag.ACK &&
  last.payload === head.payload &&
  part.seq === (last.seq + last.payload) >>> 0 &&
  part.payload <= head.payload &&
  part.tcpHeader === head.tcpHeader &&
  length + part.payload <= IP + MAX_IPV4_TOTAL &&
  sameBytes(head.frame, part.frame, 0, IP + 2) &&
  sameBytes(head.frame, part.frame, IP + 6, IP + 10) &&
  sameBytes(head.frame, part.frame, IP + 12, TCP + 4) &&
  sameBytes(head.frame, part.frame, TCP + 8, TCP + 13) &&
  sameBytes(head.frame, part.frame, TCP + 14, TCP + 16) &&
  sameBytes(head.frame, part.frame, TCP + 18, TCP + head.tcpHeader);

/** The merged frame of a run of two parts or more. */
const merge = (run: readonly Part[]): Uint8Array => {
  const head = run[0]!;
  const headerEnd = TCP + head.tcpHeader;
  const length = run.reduce((sum, part) => sum + part.payload, headerEnd);
  const frame = new Uint8Array(length);
  frame.set(head.frame.subarray(0, headerEnd));
  let at = headerEnd;
  for (const part of run) {
    frame.set(part.frame.subarray(TCP + part.tcpHeader, TCP + part.tcpHeader + part.payload), at);
    at += part.payload;
  }
  writeU16(frame, IP + 2, length - IP);
  writeU16(frame, IP + 10, 0);
  writeU16(frame, IP + 10, internetChecksum(frame, IP, TCP));
  frame[TCP + 13] = run[run.length - 1]!.flags;
  writeU16(frame, TCP + 16, 0);
  const pseudoHeader = pseudoHeaderSum(readIpv4Src(frame, IP), readIpv4Dst(frame, IP), IpProtocol.TCP, length - TCP);
  writeU16(frame, TCP + 16, internetChecksum(frame, TCP, length, pseudoHeader));
  return frame;
};

/** The frames of one burst, in order, with runs of segments merged. */
export const coalesceTcpFrames = (frames: readonly Uint8Array[]): CoalescedFrame[] => {
  const out: CoalescedFrame[] = [];
  let run: Part[] = [];
  let length = 0;
  const endRun = (): void => {
    if (run.length === 1) out.push({ frame: run[0]!.frame, segmentSize: 0 });
    else if (run.length > 1) out.push({ frame: merge(run), segmentSize: run[0]!.payload });
    run = [];
  };
  for (const frame of frames) {
    const part = asPart(frame);
    if (part === undefined) {
      endRun();
      out.push({ frame, segmentSize: 0 });
      continue;
    }
    if (run.length > 0 && continues(run[0]!, run[run.length - 1]!, length, part)) {
      run.push(part);
      length += part.payload;
      continue;
    }
    endRun();
    run = [part];
    length = TCP + part.tcpHeader + part.payload;
  }
  endRun();
  return out;
};
