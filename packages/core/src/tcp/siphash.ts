/**
 * SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF",
 * 2012): a keyed 64-bit PRF, used as F in RFC 6528 initial sequence numbers.
 *
 * Each 64-bit word is kept as two unsigned 32-bit halves so the hash needs
 * no BigInt; the state lives in a module-level scratch array (the function
 * is synchronous, so calls cannot interleave).
 */

/** v0..v3 as [low, high] pairs: v0 at 0–1, v1 at 2–3, v2 at 4–5, v3 at 6–7. */
const state = new Uint32Array(8);

const V0 = 0;
const V1 = 2;
const V2 = 4;
const V3 = 6;

/** a += b (mod 2^64). */
const add = (a: number, b: number): void => {
  const low = (state[a]! + state[b]!) >>> 0;
  const carry = low < state[a]! ? 1 : 0;
  state[a + 1] = (state[a + 1]! + state[b + 1]! + carry) >>> 0;
  state[a] = low;
};

/** a ^= b. */
const xor = (a: number, b: number): void => {
  state[a] = state[a]! ^ state[b]!;
  state[a + 1] = state[a + 1]! ^ state[b + 1]!;
};

/** Rotates the word at `a` left by `bits` (0 < bits < 32). */
const rotateLeft = (a: number, bits: number): void => {
  const low = state[a]!;
  const high = state[a + 1]!;
  state[a] = (low << bits) | (high >>> (32 - bits));
  state[a + 1] = (high << bits) | (low >>> (32 - bits));
};

/** Rotation by 32 swaps the halves. */
const swapHalves = (a: number): void => {
  const low = state[a]!;
  state[a] = state[a + 1]!;
  state[a + 1] = low;
};

const sipRound = (): void => {
  add(V0, V1);
  rotateLeft(V1, 13);
  xor(V1, V0);
  swapHalves(V0);
  add(V2, V3);
  rotateLeft(V3, 16);
  xor(V3, V2);
  add(V0, V3);
  rotateLeft(V3, 21);
  xor(V3, V0);
  add(V2, V1);
  rotateLeft(V1, 17);
  xor(V1, V2);
  swapHalves(V2);
};

const readLittleEndian32 = (bytes: Uint8Array, at: number): number =>
  (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;

/** Absorbs one message word m (as halves): v3 ^= m, two rounds, v0 ^= m. */
const compress = (low: number, high: number): void => {
  state[V3] = state[V3]! ^ low;
  state[V3 + 1] = state[V3 + 1]! ^ high;
  sipRound();
  sipRound();
  state[V0] = state[V0]! ^ low;
  state[V0 + 1] = state[V0 + 1]! ^ high;
};

/** Runs SipHash-2-4; the 64-bit result is left in `state[0]` (low) and `state[1]` (high). */
const run = (key: Uint8Array, message: Uint8Array): void => {
  if (key.length !== 16) throw new RangeError(`SipHash key must be 16 bytes, got ${key.length}`);
  const k0Low = readLittleEndian32(key, 0);
  const k0High = readLittleEndian32(key, 4);
  const k1Low = readLittleEndian32(key, 8);
  const k1High = readLittleEndian32(key, 12);
  // The initialization constants spell "somepseudorandomlygeneratedbytes".
  state[V0] = k0Low ^ 0x70736575;
  state[V0 + 1] = k0High ^ 0x736f6d65;
  state[V1] = k1Low ^ 0x6e646f6d;
  state[V1 + 1] = k1High ^ 0x646f7261;
  state[V2] = k0Low ^ 0x6e657261;
  state[V2 + 1] = k0High ^ 0x6c796765;
  state[V3] = k1Low ^ 0x79746573;
  state[V3 + 1] = k1High ^ 0x74656462;

  const length = message.length;
  const wholeWords = length - (length & 7);
  for (let at = 0; at < wholeWords; at += 8) {
    compress(readLittleEndian32(message, at), readLittleEndian32(message, at + 4));
  }
  // Last word: the 0–7 remaining bytes, little-endian, with length mod 256 in the top byte.
  let low = 0;
  let high = (length & 0xff) << 24;
  for (let i = wholeWords; i < length; i++) {
    const shift = (i - wholeWords) * 8;
    if (shift < 32) low |= message[i]! << shift;
    else high |= message[i]! << (shift - 32);
  }
  compress(low >>> 0, high >>> 0);

  state[V2] = state[V2]! ^ 0xff;
  sipRound();
  sipRound();
  sipRound();
  sipRound();
  state[0] = state[V0]! ^ state[V1]! ^ state[V2]! ^ state[V3]!;
  state[1] = state[V0 + 1]! ^ state[V1 + 1]! ^ state[V2 + 1]! ^ state[V3 + 1]!;
};

/** SipHash-2-4 of `message` under the 16-byte `key`, as an unsigned 64-bit value. */
export function sipHash24(key: Uint8Array, message: Uint8Array): bigint {
  run(key, message);
  return (BigInt(state[1]!) << 32n) | BigInt(state[0]!);
}

/** The low 32 bits of SipHash-2-4, without BigInt. */
export function sipHash24Low32(key: Uint8Array, message: Uint8Array): number {
  run(key, message);
  return state[0]!;
}
