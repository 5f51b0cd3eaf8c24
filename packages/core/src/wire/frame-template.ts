import { foldSum } from './checksum.js';
import { ETHERNET_HEADER_LENGTH } from './ethernet.js';
import { type FrameAddressing, writeHeaders } from './frame.js';
import { IPV4_HEADER_LENGTH } from './ipv4.js';
import { encodeTcpInto, type TcpChecksumMode } from './tcp.js';
import type { TcpSegment } from './tcp-types.js';

const HEADERS_LENGTH = ETHERNET_HEADER_LENGTH + IPV4_HEADER_LENGTH;
const TOTAL_LENGTH = ETHERNET_HEADER_LENGTH + 2;
const IDENTIFICATION = ETHERNET_HEADER_LENGTH + 4;
const HEADER_CHECKSUM = ETHERNET_HEADER_LENGTH + 10;

/** What a flow's frames share below the transport: `FrameAddressing` without the identification each frame takes. */
export type FlowAddressing = Omit<FrameAddressing, 'identification'>;

/**
 * The Ethernet and IPv4 headers of one flow's frames, written once. A frame
 * copies them and fills in the three fields that change (total length,
 * identification, header checksum), which costs a fraction of writing each
 * field and summing the header, above all in code V8 has not optimized yet: a
 * fresh process's first transfer sends thousands of ACKs from such code.
 * The bytes are those `writeHeaders` gives (a property checks it).
 */
export class FrameHeaderTemplate {
  private readonly headers = new Uint8Array(HEADERS_LENGTH);
  /** Folded sum of the IPv4 header's fixed words: all but total length, identification and checksum (RFC 1071). */
  private readonly fixedSum: number;

  constructor(
    readonly addressing: FlowAddressing,
    protocol: number,
  ) {
    writeHeaders(this.headers, 0, { ...addressing, identification: 0 }, protocol, 0);
    // Written for no transport bytes and identification 0, the checksum is the complement of the
    // fixed words' sum plus the total length then, 20: the 20 is taken out again.
    const checksum = (this.headers[HEADER_CHECKSUM]! << 8) | this.headers[HEADER_CHECKSUM + 1]!;
    this.fixedSum = foldSum((~checksum & 0xffff) + 0xffff - IPV4_HEADER_LENGTH);
  }

  /** Writes both headers at `offset` for a datagram carrying `transportLength` bytes. */
  write(buffer: Uint8Array, offset: number, identification: number, transportLength: number): void {
    buffer.set(this.headers, offset);
    const totalLength = IPV4_HEADER_LENGTH + transportLength;
    buffer[offset + TOTAL_LENGTH] = totalLength >>> 8;
    buffer[offset + TOTAL_LENGTH + 1] = totalLength;
    buffer[offset + IDENTIFICATION] = identification >>> 8;
    buffer[offset + IDENTIFICATION + 1] = identification;
    const checksum = ~foldSum(this.fixedSum + totalLength + identification) & 0xffff;
    buffer[offset + HEADER_CHECKSUM] = checksum >>> 8;
    buffer[offset + HEADER_CHECKSUM + 1] = checksum;
  }

  /** As `encodeTcpFrameInto`, with these headers: writes the frame at `offset` and returns its length. */
  writeTcpFrame(
    buffer: Uint8Array,
    offset: number,
    identification: number,
    segment: TcpSegment,
    checksumMode: TcpChecksumMode,
  ): number {
    const { srcIp, dstIp } = this.addressing;
    const tcpLength = encodeTcpInto(buffer, offset + HEADERS_LENGTH, segment, srcIp, dstIp, checksumMode);
    this.write(buffer, offset, identification, tcpLength);
    return HEADERS_LENGTH + tcpLength;
  }
}
