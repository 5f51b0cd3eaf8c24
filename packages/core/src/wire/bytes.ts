/** Big-endian integer access on byte arrays. Callers check bounds first; values written are truncated to the field width. */

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
