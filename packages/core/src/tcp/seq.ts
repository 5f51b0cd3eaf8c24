/**
 * Sequence number arithmetic modulo 2^32 (RFC 9293 §3.4). Sequence numbers are
 * kept as unsigned 32-bit integers in plain numbers; comparisons look at the
 * signed 32-bit distance, valid while the two are less than 2^31 apart.
 */

/** a + n, wrapped to an unsigned 32-bit value. */
export const seqAdd = (a: number, n: number): number => (a + n) >>> 0;

/** The signed distance b → a: positive when a is after b. */
export const seqDiff = (a: number, b: number): number => (a - b) | 0;

export const seqLt = (a: number, b: number): boolean => ((a - b) | 0) < 0;
export const seqLe = (a: number, b: number): boolean => ((a - b) | 0) <= 0;
export const seqGt = (a: number, b: number): boolean => ((a - b) | 0) > 0;
export const seqGe = (a: number, b: number): boolean => ((a - b) | 0) >= 0;

/** left ≤ x < left + size, modulo 2^32. */
export const seqInWindow = (x: number, left: number, size: number): boolean => {
  const offset = (x - left) >>> 0;
  return offset < size;
};

export const seqMax = (a: number, b: number): number => (seqGt(a, b) ? a : b);
export const seqMin = (a: number, b: number): number => (seqLt(a, b) ? a : b);
