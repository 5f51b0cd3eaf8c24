import { MAX_WINDOW_SCALE } from '../wire/tcp-options.js';

/** The smallest window scale that lets a 16-bit window field express `bufferSize` bytes (RFC 7323 §2.2). */
export function windowScaleFor(bufferSize: number): number {
  let shift = 0;
  while (shift < MAX_WINDOW_SCALE && bufferSize > 0xffff << shift) shift++;
  return shift;
}
