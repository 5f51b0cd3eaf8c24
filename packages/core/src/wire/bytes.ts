/** Big-endian integer access on byte arrays (callers check bounds first; values written are truncated to the field width), and the allocator of encoded frames. */

/** Reads an unsigned 32-bit big-endian integer. The caller guarantees 4 bytes. */
export const readU32 = (bytes: Uint8Array, offset: number): number =>
  ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0;

export const readU16 = (bytes: Uint8Array, offset: number): number => (bytes[offset]! << 8) | bytes[offset + 1]!;

export const writeU32 = (bytes: Uint8Array, offset: number, value: number): void => {
  bytes[offset] = value >>> 24;
  bytes[offset + 1] = value >>> 16;
  bytes[offset + 2] = value >>> 8;
  bytes[offset + 3] = value;
};

export const writeU16 = (bytes: Uint8Array, offset: number, value: number): void => {
  bytes[offset] = value >>> 8;
  bytes[offset + 1] = value;
};

/**
 * Byte arrays for encoded frames, carved from shared 256 KiB slabs.
 *
 * A typed array above 64 bytes gets its own off-heap ArrayBuffer, and creating
 * (then collecting) one per frame costs several times what encoding the frame
 * does. So, like Node's Buffer pool, small allocations are views into a slab.
 * Slab memory is never handed out twice, so views never overlap and start
 * zeroed; a slab is freed once all its views are. The cost: `bytes.buffer` may
 * hold other frames, so use `byteOffset`/`length` and never transfer or detach
 * the buffer.
 */
const SLAB_SIZE = 256 * 1024;
/** Larger requests get a buffer of their own, so a slab is not wasted on one. */
const MAX_SLAB_ALLOCATION = 16 * 1024;

let slab = new ArrayBuffer(SLAB_SIZE);
let slabUsed = 0;

export const allocateBytes = (length: number): Uint8Array => {
  if (length > MAX_SLAB_ALLOCATION) return new Uint8Array(length);
  if (slabUsed + length > SLAB_SIZE) {
    slab = new ArrayBuffer(SLAB_SIZE);
    slabUsed = 0;
  }
  const bytes = new Uint8Array(slab, slabUsed, length);
  // 8-byte alignment keeps the checksum's 32-bit word loop on aligned words.
  slabUsed += (length + 7) & ~7;
  return bytes;
};
