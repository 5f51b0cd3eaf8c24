import { type Either, left, right } from 'fp-ts/lib/Either.js';
import { allocateBytes, readU16, readU32, writeU16, writeU32 } from './bytes.js';
import { internetChecksum, onesComplementSum } from './checksum.js';
import { type DecodeError, decodeError } from './decode-error.js';
import { IpProtocol, ipv4PayloadStart, readIpv4Protocol } from './ipv4.js';

/** ICMP message types (RFC 792). */
export const IcmpType = {
  EchoReply: 0,
  DestinationUnreachable: 3,
  SourceQuench: 4,
  Redirect: 5,
  EchoRequest: 8,
  TimeExceeded: 11,
  ParameterProblem: 12,
} as const;

/** Time Exceeded's code when a datagram's fragments did not all arrive in time (RFC 792). */
export const FRAGMENT_REASSEMBLY_TIME_EXCEEDED = 1;
/** Destination Unreachable's code for a datagram that needed fragmenting and had DF set (RFC 792). */
export const FRAGMENTATION_NEEDED = 4;

/** The types that report an error: RFC 1122 §3.2.2 forbids answering one of them with another. */
export const isIcmpErrorType = (type: number): boolean =>
  type === IcmpType.DestinationUnreachable ||
  type === IcmpType.SourceQuench ||
  type === IcmpType.Redirect ||
  type === IcmpType.TimeExceeded ||
  type === IcmpType.ParameterProblem;

/** Every ICMP message starts with type, code, checksum and four more header bytes (RFC 792). */
export const ICMP_HEADER_LENGTH = 8;

export interface IcmpEcho {
  readonly kind: 'echo-request' | 'echo-reply';
  readonly identifier: number;
  readonly sequence: number;
  /** A view into the decoded packet; replies must carry it back unchanged. */
  readonly data: Uint8Array;
}

/** Any other message (and echo with a non-zero code), kept as raw fields. */
export interface IcmpOther {
  readonly kind: 'other';
  readonly type: number;
  readonly code: number;
  /** Everything after the checksum: the rest of the header, then the data. */
  readonly body: Uint8Array;
}

export type IcmpMessage = IcmpEcho | IcmpOther;

export const decodeIcmp = (bytes: Uint8Array): Either<DecodeError, IcmpMessage> => {
  if (bytes.length < ICMP_HEADER_LENGTH) {
    return left(decodeError('icmp', 'length', `${bytes.length} bytes is shorter than the 8-byte header`));
  }
  // RFC 792: the checksum covers the whole ICMP message.
  if (onesComplementSum(bytes) !== 0xffff) return left(decodeError('icmp', 'checksum', 'mismatch'));
  const type = bytes[0]!;
  const code = bytes[1]!;
  if (code === 0 && (type === IcmpType.EchoRequest || type === IcmpType.EchoReply)) {
    return right({
      kind: type === IcmpType.EchoRequest ? 'echo-request' : 'echo-reply',
      identifier: readU16(bytes, 4),
      sequence: readU16(bytes, 6),
      data: bytes.subarray(ICMP_HEADER_LENGTH),
    });
  }
  return right({ kind: 'other', type, code, body: bytes.subarray(4) });
};

export const icmpLength = (message: IcmpMessage): number =>
  message.kind === 'other' ? 4 + message.body.length : ICMP_HEADER_LENGTH + message.data.length;

/** Writes the message at `offset`, checksum included; returns the bytes written. */
export const encodeIcmpInto = (buffer: Uint8Array, offset: number, message: IcmpMessage): number => {
  const length = icmpLength(message);
  writeU16(buffer, offset + 2, 0);
  if (message.kind === 'other') {
    buffer[offset] = message.type;
    buffer[offset + 1] = message.code;
    buffer.set(message.body, offset + 4);
  } else {
    buffer[offset] = message.kind === 'echo-request' ? IcmpType.EchoRequest : IcmpType.EchoReply;
    buffer[offset + 1] = 0;
    writeU16(buffer, offset + 4, message.identifier);
    writeU16(buffer, offset + 6, message.sequence);
    buffer.set(message.data, offset + ICMP_HEADER_LENGTH);
  }
  writeU16(buffer, offset + 2, internetChecksum(buffer, offset, offset + length));
  return length;
};

export const encodeIcmp = (message: IcmpMessage): Uint8Array => {
  const buffer = allocateBytes(icmpLength(message));
  encodeIcmpInto(buffer, 0, message);
  return buffer;
};

/** The reply to an echo request: same identifier, sequence and data (RFC 792, "Echo or Echo Reply Message"). */
export const echoReplyFor = (request: IcmpEcho): IcmpEcho => ({
  kind: 'echo-reply',
  identifier: request.identifier,
  sequence: request.sequence,
  data: request.data,
});

/** RFC 792: an ICMP error quotes the datagram's header and the first 64 bits of its data. */
export const ICMP_QUOTED_DATA = 8;

/** What an ICMP error about the IPv4 datagram at `bytes[start..end)` quotes of it. */
export const icmpQuoteOf = (bytes: Uint8Array, start: number, end = bytes.length): Uint8Array =>
  bytes.subarray(start, Math.min(end, ipv4PayloadStart(bytes, start) + ICMP_QUOTED_DATA));

/**
 * RFC 1122 §3.2.2: no ICMP error is sent about an ICMP error, so that a lost one
 * stays lost. `quote` starts at the datagram's IPv4 header; one whose ICMP type
 * is cut off counts as an error, on the side that sends nothing.
 */
export const isIcmpErrorDatagram = (quote: Uint8Array): boolean => {
  if (readIpv4Protocol(quote, 0) !== IpProtocol.ICMP) return false;
  const type = quote[ipv4PayloadStart(quote, 0)];
  return type === undefined || isIcmpErrorType(type);
};

/** An ICMP error: the 4 bytes after the checksum (`rest`), then the quote (RFC 792). */
const icmpError = (type: number, code: number, quote: Uint8Array, rest = 0): IcmpOther => {
  const body = new Uint8Array(4 + quote.length);
  writeU32(body, 0, rest);
  body.set(quote, 4);
  return { kind: 'other', type, code, body };
};

/** Time Exceeded for a datagram whose reassembly timed out (RFC 792, RFC 1122 §3.3.2), quoting its fragment zero. */
export const reassemblyTimeExceeded = (quote: Uint8Array): IcmpOther =>
  icmpError(IcmpType.TimeExceeded, FRAGMENT_REASSEMBLY_TIME_EXCEEDED, quote);

/** A router's "fragmentation needed and DF set", the next hop's MTU in the low 16 bits of the rest (RFC 1191 §4). */
export const fragmentationNeeded = (quote: Uint8Array, nextHopMtu: number): IcmpOther =>
  icmpError(IcmpType.DestinationUnreachable, FRAGMENTATION_NEEDED, quote, nextHopMtu & 0xffff);

/**
 * What an ICMP error means to TCP (RFC 9293 §3.9.2.2): Source Quench is
 * discarded (MUST-55, RFC 6633); Destination Unreachable codes 0, 1, 5, Time
 * Exceeded and Parameter Problem are soft errors, which never abort (MUST-56);
 * Destination Unreachable codes 2 and 3 are hard errors. Code 4, which the RFC
 * lists with them, is a router's "fragmentation needed and DF set": with path
 * MTU discovery (RFC 1191) it is a segment too big for the path, answered by
 * sending smaller ones. The other unreachable codes the RFC does not
 * classify: they are taken as soft, the side that cannot break a connection.
 * Undefined for messages that report no error.
 */
export type IcmpErrorClass = 'source-quench' | 'soft' | 'hard' | 'packet-too-big';


export const classifyIcmpError = (type: number, code: number): IcmpErrorClass | undefined => {
  switch (type) {
    case IcmpType.SourceQuench:
      return 'source-quench';
    case IcmpType.DestinationUnreachable:
      if (code === FRAGMENTATION_NEEDED) return 'packet-too-big';
      return code === 2 || code === 3 ? 'hard' : 'soft';
    case IcmpType.TimeExceeded:
    case IcmpType.ParameterProblem:
      return 'soft';
    default:
      return undefined; // echo, and Redirect, which changes a route and nothing in TCP
  }
};

/** The TCP segment an ICMP error quotes: enough of it to find its connection (RFC 792: header and 64 bits of data). */
export interface QuotedTcpSegment {
  readonly src: number;
  readonly dst: number;
  readonly srcPort: number;
  readonly dstPort: number;
  readonly seq: number;
  /** The quoted datagram's total length, as its header gives it. */
  readonly datagramLength: number;
}

/**
 * RFC 1191 §7's plateaus, for a router that says "fragmentation needed" without the
 * next hop's MTU (§4: the field is zero then): the largest below the datagram it dropped.
 */
const MTU_PLATEAUS = [65535, 32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, 68];

/**
 * The path MTU a "fragmentation needed" tells (RFC 1191 §4): the next hop's MTU from
 * bytes 6–7 of the ICMP header (2–3 of `body`), or, where a router left it zero, the
 * plateau below the length of the datagram it quotes.
 */
export const nextHopMtu = (body: Uint8Array, quotedLength: number): number => {
  const mtu = body.length >= 4 ? readU16(body, 2) : 0;
  if (mtu !== 0) return mtu;
  return MTU_PLATEAUS.find((plateau) => plateau < quotedLength) ?? 68;
};

/** Reads the quote of an ICMP error (`body` as `IcmpOther` has it); undefined when it quotes no TCP segment. */
export const quotedTcpSegment = (body: Uint8Array): QuotedTcpSegment | undefined => {
  const quote = body.subarray(4);
  if (quote.length < 20 || quote[0]! >> 4 !== 4) return undefined;
  const headerLength = (quote[0]! & 0x0f) * 4;
  // A fragment other than the first carries no TCP header to read.
  const fragmentOffset = readU16(quote, 6) & 0x1fff;
  if (headerLength < 20 || quote.length < headerLength + 8 || quote[9] !== IpProtocol.TCP || fragmentOffset !== 0) return undefined;
  return {
    src: readU32(quote, 12),
    dst: readU32(quote, 16),
    srcPort: readU16(quote, headerLength),
    dstPort: readU16(quote, headerLength + 2),
    seq: readU32(quote, headerLength + 4),
    datagramLength: readU16(quote, 2),
  };
};

const UNREACHABLE_CODES: readonly string[] = [
  'network unreachable',
  'host unreachable',
  'protocol unreachable',
  'port unreachable',
  'fragmentation needed and DF set',
  'source route failed',
  'destination network unknown',
  'destination host unknown',
  'source host isolated',
  'network administratively prohibited',
  'host administratively prohibited',
  'network unreachable for the type of service',
  'host unreachable for the type of service',
  'communication administratively prohibited',
  'host precedence violation',
  'precedence cutoff in effect',
];

/** An ICMP error's type and code in words (RFC 792, RFC 1122 §3.2.2.1, RFC 1812 §5.2.7.1). */
export const describeIcmpError = (type: number, code: number): string => {
  switch (type) {
    case IcmpType.DestinationUnreachable:
      return UNREACHABLE_CODES[code] ?? `destination unreachable, code ${code}`;
    case IcmpType.TimeExceeded:
      return code === 0 ? 'time to live exceeded in transit' : code === 1 ? 'fragment reassembly time exceeded' : `time exceeded, code ${code}`;
    case IcmpType.ParameterProblem:
      return `parameter problem, code ${code}`;
    case IcmpType.SourceQuench:
      return 'source quench';
    default:
      return `ICMP type ${type}, code ${code}`;
  }
};
