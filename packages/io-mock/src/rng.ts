/**
 * A small seeded pseudo-random generator (SplitMix32: a Weyl sequence passed
 * through a 32-bit avalanche mix). Not cryptographic; it only has to be fast,
 * well spread and exactly reproducible from its seed.
 *
 * Streams are forked by label rather than by drawing from the parent, so that
 * `fork('a→b/loss')` yields the same sequence no matter how many numbers were
 * drawn elsewhere: enabling one fault never shifts the draws of another.
 */

const GOLDEN_GAMMA = 0x9e3779b9;
const TWO_POW_32 = 0x1_0000_0000;

/** The 32-bit finaliser of MurmurHash3: every input bit affects every output bit. */
const avalanche = (value: number): number => {
  let z = value;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
};

/** FNV-1a over the UTF-16 code units of a label. */
const hashLabel = (label: string): number => {
  let hash = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) {
    hash = Math.imul(hash ^ label.charCodeAt(i), 0x01000193);
  }
  return hash >>> 0;
};

/** Any finite number becomes a 32-bit seed; fractions and negatives are folded in, not lost. */
export const normalizeSeed = (seed: number): number => {
  if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);
  if (Number.isInteger(seed) && seed >= 0 && seed < TWO_POW_32) return seed;
  const high = Math.floor(seed / TWO_POW_32);
  return avalanche((seed >>> 0) ^ avalanche(high >>> 0) ^ avalanche(Math.round((seed % 1) * TWO_POW_32) >>> 0));
};

export class SeededRng {
  /** The seed this stream started from (32-bit unsigned). */
  readonly seed: number;
  private state: number;

  constructor(seed: number) {
    this.seed = normalizeSeed(seed);
    this.state = this.seed;
  }

  /** Next value as an unsigned 32-bit integer. */
  nextUint32(): number {
    this.state = (this.state + GOLDEN_GAMMA) | 0;
    return avalanche(this.state);
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  /** Uniform integer in [0, n); n must be a positive integer ≤ 2^32. */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > TWO_POW_32) {
      throw new RangeError(`int(n) needs an integer 1 ≤ n ≤ 2^32, got ${n}`);
    }
    return Math.floor(this.next() * n);
  }

  /** Uniform in [low, high). */
  between(low: number, high: number): number {
    return low + (high - low) * this.next();
  }

  /** True with the given probability (0 never draws true, 1 always does). */
  chance(probability: number): boolean {
    return this.next() < probability;
  }

  /**
   * An independent stream derived from this stream's seed and a label. It does
   * not consume from this stream, and the same label always gives the same stream.
   */
  fork(label: string): SeededRng {
    return new SeededRng(avalanche(this.seed ^ avalanche(hashLabel(label) + GOLDEN_GAMMA)));
  }
}
