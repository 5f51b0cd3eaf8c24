/**
 * Plain JSON data for recordings and traces: byte arrays as hex, numbers JSON
 * cannot carry spelled out, and a canonical text form so two values compare
 * as strings.
 */

export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

const HEX_DIGITS = '0123456789abcdef';
const BYTE_TO_HEX: readonly string[] = Array.from({ length: 256 }, (_, b) => HEX_DIGITS[b >> 4]! + HEX_DIGITS[b & 15]!);

export const bytesToHex = (bytes: Uint8Array): string => {
  let text = '';
  for (let i = 0; i < bytes.length; i++) text += BYTE_TO_HEX[bytes[i]!]!;
  return text;
};

const hexValue = (code: number): number => {
  if (code >= 48 && code <= 57) return code - 48; // 0-9
  if (code >= 97 && code <= 102) return code - 87; // a-f
  if (code >= 65 && code <= 70) return code - 55; // A-F
  return -1;
};

/** The bytes a hex string spells, or undefined when it is not an even run of hex digits. */
export const hexToBytes = (text: string): Uint8Array | undefined => {
  if (text.length % 2 !== 0) return undefined;
  const bytes = new Uint8Array(text.length / 2);
  for (let i = 0; i < bytes.length; i++) {
    const high = hexValue(text.charCodeAt(2 * i));
    const low = hexValue(text.charCodeAt(2 * i + 1));
    if (high < 0 || low < 0) return undefined;
    bytes[i] = (high << 4) | low;
  }
  return bytes;
};

/** Tag of an object standing for a byte array: `{ "$hex": "0a0b" }`. */
export const BYTES_TAG = '$hex';
/** Tag of an object standing for a number JSON has no literal for: `{ "$number": "Infinity" }`. */
export const NUMBER_TAG = '$number';

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);

/**
 * Any value built of plain objects, arrays, strings, numbers, booleans,
 * null/undefined and Uint8Arrays as JSON data. Undefined properties are left
 * out (as JSON.stringify does); functions and symbols become null.
 */
export const toJsonData = (value: unknown): JsonValue => {
  if (value === null || value === undefined) return null;
  if (typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') {
    return Number.isFinite(value) && !Object.is(value, -0) ? value : { [NUMBER_TAG]: String(value) };
  }
  if (value instanceof Uint8Array) return { [BYTES_TAG]: bytesToHex(value) };
  if (Array.isArray(value)) return value.map(toJsonData);
  if (isPlainObject(value)) {
    const out: Record<string, JsonValue> = {};
    for (const [key, item] of Object.entries(value)) {
      if (item !== undefined && typeof item !== 'function') out[key] = toJsonData(item);
    }
    return out;
  }
  return null;
};

/** The inverse of `toJsonData`: tagged objects back to byte arrays and numbers. */
export const fromJsonData = (value: JsonValue): unknown => {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(fromJsonData);
  const record = value as { readonly [key: string]: JsonValue };
  const keys = Object.keys(record);
  if (keys.length === 1) {
    const tagged = record[keys[0]!];
    if (keys[0] === BYTES_TAG && typeof tagged === 'string') return hexToBytes(tagged) ?? tagged;
    if (keys[0] === NUMBER_TAG && typeof tagged === 'string') return Number(tagged);
  }
  const out: Record<string, unknown> = {};
  for (const key of keys) out[key] = fromJsonData(record[key]!);
  return out;
};

/** JSON text with object keys sorted, so equal data always reads the same. */
export const canonicalJson = (value: JsonValue): string => {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const record = value as { readonly [key: string]: JsonValue };
  const keys = Object.keys(record).sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key]!)}`).join(',')}}`;
};
