import { type Either, left, right } from 'fp-ts/lib/Either.js';
import { allocateBytes, readU16, writeU16 } from './bytes.js';
import { internetChecksum, onesComplementSum } from './checksum.js';
import { type DecodeError, decodeError } from './decode-error.js';

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

/**
 * Time Exceeded for a datagram whose reassembly timed out (RFC 792, RFC 1122
 * §3.3.2): four unused bytes, then `quote`, its header and first 8 bytes of data.
 */
export const reassemblyTimeExceeded = (quote: Uint8Array): IcmpOther => {
  const body = new Uint8Array(4 + quote.length);
  body.set(quote, 4);
  return { kind: 'other', type: IcmpType.TimeExceeded, code: FRAGMENT_REASSEMBLY_TIME_EXCEEDED, body };
};
