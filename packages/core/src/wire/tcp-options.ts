import { type Either, left, right } from 'fp-ts/lib/Either.js';
import { readU16, readU32, writeU16, writeU32 } from './bytes.js';
import { type DecodeError, decodeError } from './decode-error.js';
import type { SackBlock, TcpOptions, TcpTimestamps } from './tcp-types.js';

/** TCP option kinds (RFC 9293 §3.1, RFC 7323, RFC 2018). */
export const TcpOptionKind = {
  EndOfOptionList: 0,
  NoOperation: 1,
  MaximumSegmentSize: 2,
  WindowScale: 3,
  SackPermitted: 4,
  Sack: 5,
  Timestamps: 8,
} as const;

/** A data offset of 15 words leaves 40 bytes for options. */
export const MAX_TCP_OPTIONS_LENGTH = 40;
/** RFC 7323 §2.3: larger shift counts are treated as 14. */
export const MAX_WINDOW_SCALE = 14;
export const MAX_SACK_BLOCKS = 4;

/** Shared by every segment without options, so decoding those allocates nothing for them. */
export const EMPTY_TCP_OPTIONS: TcpOptions = Object.freeze({});

const NOP = TcpOptionKind.NoOperation;
const LENGTH_MSS = 4;
const LENGTH_WINDOW_SCALE = 3;
const LENGTH_SACK_PERMITTED = 2;
const LENGTH_TIMESTAMPS = 10;
const SACK_BLOCK_LENGTH = 8;

const malformed = (reason: string): Either<DecodeError, TcpOptions> => left(decodeError('tcp', 'options', reason));

const OPTION_NAMES: Record<number, string> = {
  2: 'MSS',
  3: 'window scale',
  4: 'SACK-permitted',
  5: 'SACK',
  8: 'timestamps',
};

const wrongLength = (kind: number, length: number, expected: string): Either<DecodeError, TcpOptions> =>
  malformed(`${OPTION_NAMES[kind] ?? `kind ${kind}`} option has length ${length}, expected ${expected}`);

/**
 * Decodes the options in `bytes[start..end)` (the header after its first 20
 * bytes). Options the stack does not use are skipped by their length
 * (RFC 9293 §3.1, MUST-64); illegal lengths are refused (MUST-7), including a
 * known option whose length does not match its definition.
 */
export const decodeTcpOptions = (bytes: Uint8Array, start: number, end: number): Either<DecodeError, TcpOptions> => {
  let mss: number | undefined;
  let windowScale: number | undefined;
  let sackPermitted: true | undefined;
  let sack: SackBlock[] | undefined;
  let timestamps: TcpTimestamps | undefined;
  let found = false;
  let i = start;
  while (i < end) {
    const kind = bytes[i]!;
    if (kind === TcpOptionKind.EndOfOptionList) break;
    if (kind === NOP) {
      i++;
      continue;
    }
    if (i + 1 >= end) return malformed(`option kind ${kind} at byte ${i - start} has no length byte`);
    const length = bytes[i + 1]!;
    if (length < 2) return malformed(`option kind ${kind} at byte ${i - start} has length ${length}, below 2`);
    if (i + length > end) {
      return malformed(`option kind ${kind} at byte ${i - start} has length ${length}, past the header end`);
    }
    switch (kind) {
      case TcpOptionKind.MaximumSegmentSize:
        if (length !== LENGTH_MSS) return wrongLength(kind, length, '4');
        mss = readU16(bytes, i + 2);
        found = true;
        break;
      case TcpOptionKind.WindowScale:
        if (length !== LENGTH_WINDOW_SCALE) return wrongLength(kind, length, '3');
        windowScale = Math.min(bytes[i + 2]!, MAX_WINDOW_SCALE);
        found = true;
        break;
      case TcpOptionKind.SackPermitted:
        if (length !== LENGTH_SACK_PERMITTED) return wrongLength(kind, length, '2');
        sackPermitted = true;
        found = true;
        break;
      case TcpOptionKind.Sack: {
        const blockBytes = length - 2;
        if (blockBytes === 0 || blockBytes % SACK_BLOCK_LENGTH !== 0) return wrongLength(kind, length, '2 + 8n');
        sack = [];
        for (let block = i + 2; block < i + length; block += SACK_BLOCK_LENGTH) {
          sack.push({ left: readU32(bytes, block), right: readU32(bytes, block + 4) });
        }
        found = true;
        break;
      }
      case TcpOptionKind.Timestamps:
        if (length !== LENGTH_TIMESTAMPS) return wrongLength(kind, length, '10');
        timestamps = { value: readU32(bytes, i + 2), echo: readU32(bytes, i + 6) };
        found = true;
        break;
      default:
        // Unknown to us: skipped by its length.
        break;
    }
    i += length;
  }
  if (!found) return right(EMPTY_TCP_OPTIONS);
  // Always the same five keys, so every options object shares one shape.
  return right({ mss, windowScale, sackPermitted, sack, timestamps });
};

/** How many SACK blocks fit next to the other options (RFC 2018 §3: at most 3 with timestamps). */
const sackBlocksThatFit = (options: TcpOptions, otherLength: number): number => {
  const blocks = options.sack?.length ?? 0;
  if (blocks === 0) return 0;
  const room = Math.floor((MAX_TCP_OPTIONS_LENGTH - otherLength - 4) / SACK_BLOCK_LENGTH);
  return Math.max(0, Math.min(blocks, room, MAX_SACK_BLOCKS));
};

const lengthWithoutSack = (options: TcpOptions): number =>
  (options.mss !== undefined ? 4 : 0) +
  (options.timestamps !== undefined ? 12 : 0) +
  (options.sackPermitted === true && options.timestamps === undefined ? 4 : 0) +
  (options.windowScale !== undefined ? 4 : 0);

/**
 * Encoded length of `options`: a multiple of 4, at most 40. SACK blocks that
 * do not fit beside the other options are left out (the first ones are kept,
 * which RFC 2018 §4 says should be the most recent).
 */
export const tcpOptionsLength = (options: TcpOptions): number => {
  if (options === EMPTY_TCP_OPTIONS) return 0;
  const other = lengthWithoutSack(options);
  const blocks = sackBlocksThatFit(options, other);
  return other + (blocks > 0 ? 4 + blocks * SACK_BLOCK_LENGTH : 0);
};

/**
 * Writes `options` at `offset` in the layout Linux uses (each option padded to
 * 4 bytes with leading NOPs, SACK-permitted sharing a word with timestamps),
 * so segments we re-encode match the kernel's byte for byte. Returns the
 * bytes written, equal to `tcpOptionsLength(options)`.
 */
export const writeTcpOptions = (buffer: Uint8Array, offset: number, options: TcpOptions): number => {
  if (options === EMPTY_TCP_OPTIONS) return 0;
  let at = offset;
  if (options.mss !== undefined) {
    buffer[at] = TcpOptionKind.MaximumSegmentSize;
    buffer[at + 1] = LENGTH_MSS;
    writeU16(buffer, at + 2, options.mss);
    at += 4;
  }
  if (options.timestamps !== undefined) {
    if (options.sackPermitted === true) {
      buffer[at] = TcpOptionKind.SackPermitted;
      buffer[at + 1] = LENGTH_SACK_PERMITTED;
    } else {
      buffer[at] = NOP;
      buffer[at + 1] = NOP;
    }
    buffer[at + 2] = TcpOptionKind.Timestamps;
    buffer[at + 3] = LENGTH_TIMESTAMPS;
    writeU32(buffer, at + 4, options.timestamps.value);
    writeU32(buffer, at + 8, options.timestamps.echo);
    at += 12;
  } else if (options.sackPermitted === true) {
    buffer[at] = NOP;
    buffer[at + 1] = NOP;
    buffer[at + 2] = TcpOptionKind.SackPermitted;
    buffer[at + 3] = LENGTH_SACK_PERMITTED;
    at += 4;
  }
  if (options.windowScale !== undefined) {
    buffer[at] = NOP;
    buffer[at + 1] = TcpOptionKind.WindowScale;
    buffer[at + 2] = LENGTH_WINDOW_SCALE;
    buffer[at + 3] = options.windowScale;
    at += 4;
  }
  const blocks = sackBlocksThatFit(options, at - offset);
  if (blocks > 0) {
    const sack = options.sack!;
    buffer[at] = NOP;
    buffer[at + 1] = NOP;
    buffer[at + 2] = TcpOptionKind.Sack;
    buffer[at + 3] = 2 + blocks * SACK_BLOCK_LENGTH;
    at += 4;
    for (let b = 0; b < blocks; b++) {
      writeU32(buffer, at, sack[b]!.left);
      writeU32(buffer, at + 4, sack[b]!.right);
      at += SACK_BLOCK_LENGTH;
    }
  }
  return at - offset;
};
