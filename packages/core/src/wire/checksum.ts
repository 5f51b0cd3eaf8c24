/**
 * The internet checksum (RFC 1071): the 16-bit one's complement of the one's
 * complement sum of the data taken as big-endian 16-bit words.
 *
 * Sums here are "folded": a number in 0–0xffff, with end-around carry
 * applied, not yet complemented. A folded sum can be fed back as `initial` to
 * continue summing (e.g. pseudo-header, then segment).
 */

/** Below this length a plain byte-pair loop beats creating a word view. */
const WORD_PATH_MIN_LENGTH = 128;
/** Words per accumulator pass: 2^20 words of at most 2^32 each stay exact in a double. */
const WORDS_PER_PASS = 1 << 20;

/**
 * Folds a non-negative integer sum of 16-bit words to 16 bits with end-around
 * carry (RFC 1071 §4.1). Since 2^16 ≡ 1 (mod 0xffff), this is the remainder
 * modulo 0xffff, except that a non-zero multiple of 0xffff folds to 0xffff.
 */
export const foldSum = (sum: number): number => {
  const rest = sum % 0xffff;
  return rest === 0 && sum !== 0 ? 0xffff : rest;
};

const swapBytes = (word: number): number => ((word & 0xff) << 8) | (word >>> 8);

/** Unfolded sum of big-endian pairs; an odd last byte is padded with a zero (RFC 1071 §1). */
const sumPairs = (bytes: Uint8Array, start: number, end: number): number => {
  let sum = 0;
  let i = start;
  const lastPairStart = end - 1;
  for (; i < lastPairStart; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
  if (i < end) sum += bytes[i]! << 8;
  return sum;
};

// One-entry cache of a DataView over the last buffer summed: encoding into a
// reused buffer (or checking several layers of one frame) then costs no allocation.
let cachedBuffer: ArrayBufferLike | undefined;
let cachedView: DataView = new DataView(new ArrayBuffer(0));

const dataView = (buffer: ArrayBufferLike, endByte: number): DataView => {
  if (buffer !== cachedBuffer || cachedView.byteLength < endByte) {
    cachedView = new DataView(buffer);
    cachedBuffer = buffer;
  }
  return cachedView;
};

/**
 * Folded big-endian sum of [start, end) read as aligned little-endian 32-bit words.
 *
 * Byte order does not matter to a one's complement sum except for a final
 * byte swap (RFC 1071 §2(B)), and a 32-bit word is congruent to the sum of its
 * two halves modulo 0xffff. So we add whole little-endian words relative to
 * 4-aligned addresses, then swap once unless the start parity already did.
 * A DataView reads them faster than a Uint32Array indexes them (V8).
 */
const sumWords = (bytes: Uint8Array, start: number, end: number): number => {
  const absoluteStart = bytes.byteOffset + start;
  // Weights of a lone byte in the little-endian sum, by the parity of its address: 1 even, 256 odd.
  let sum = 0;
  let i = start;
  const headEnd = Math.min(end, start + ((4 - (absoluteStart & 3)) & 3));
  for (; i < headEnd; i++) sum += bytes[i]! << (((bytes.byteOffset + i) & 1) << 3);

  const wordCount = (end - i) >>> 2;
  if (wordCount > 0) {
    let at = bytes.byteOffset + i;
    const view = dataView(bytes.buffer, at + wordCount * 4);
    const stop = at + wordCount * 4;
    while (at < stop) {
      const passEnd = Math.min(stop, at + WORDS_PER_PASS * 4);
      const unrolledEnd = passEnd - 28;
      // Two accumulators let the CPU overlap the additions.
      let a = 0;
      let b = 0;
      for (; at < unrolledEnd; at += 32) {
        a += view.getUint32(at, true) + view.getUint32(at + 4, true) + view.getUint32(at + 8, true) + view.getUint32(at + 12, true);
        b += view.getUint32(at + 16, true) + view.getUint32(at + 20, true) + view.getUint32(at + 24, true) + view.getUint32(at + 28, true);
      }
      for (; at < passEnd; at += 4) a += view.getUint32(at, true);
      sum = foldSum(sum + foldSum(a) + foldSum(b));
    }
    i += wordCount * 4;
  }
  for (; i < end; i++) sum += bytes[i]! << (((bytes.byteOffset + i) & 1) << 3);

  const folded = foldSum(sum);
  // Little-endian words are big-endian relative to odd addresses only: a start at an
  // even address needs the one swap.
  return (absoluteStart & 1) === 0 ? swapBytes(folded) : folded;
};

/**
 * Folded one's complement sum of `bytes[start..end)` as big-endian 16-bit
 * words, added to `initial` (a previous folded sum or any non-negative integer).
 */
export const onesComplementSum = (bytes: Uint8Array, start = 0, end = bytes.length, initial = 0): number => {
  const stop = Math.min(end, bytes.length);
  if (stop - start < WORD_PATH_MIN_LENGTH) return foldSum(initial + (start < stop ? sumPairs(bytes, start, stop) : 0));
  return foldSum(initial + sumWords(bytes, start, stop));
};

/** RFC 1071 checksum of `bytes[start..end)` continuing from `initial`: the complement of the folded sum. */
export const internetChecksum = (bytes: Uint8Array, start = 0, end = bytes.length, initial = 0): number =>
  ~onesComplementSum(bytes, start, end, initial) & 0xffff;

/**
 * Folded sum of the IPv4 pseudo-header that TCP and UDP checksums cover
 * (RFC 9293 §3.1): source, destination, zero + protocol, and the
 * transport length (header plus data, excluding the pseudo-header).
 */
export const pseudoHeaderSum = (src: number, dst: number, protocol: number, transportLength: number): number =>
  foldSum((src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + (protocol & 0xff) + (transportLength & 0xffff));

/**
 * Updates a checksum after one 16-bit word of the covered data changed from
 * `oldWord` to `newWord`, without re-summing (RFC 1624 §3, eqn. 3:
 * HC' = ~(~HC + ~m + m')).
 */
export const adjustChecksum = (checksum: number, oldWord: number, newWord: number): number =>
  ~foldSum((~checksum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff)) & 0xffff;

/** As `adjustChecksum`, for a 32-bit field (e.g. a sequence number or an address). */
export const adjustChecksum32 = (checksum: number, oldValue: number, newValue: number): number =>
  adjustChecksum(adjustChecksum(checksum, oldValue >>> 16, newValue >>> 16), oldValue & 0xffff, newValue & 0xffff);
