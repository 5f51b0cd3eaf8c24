/**
 * The classic libpcap file format (a 24-byte global header, then a 16-byte
 * header before each frame), little-endian, LINKTYPE_ETHERNET. Virtual
 * milliseconds become the timestamps, so Wireshark shows simulated time.
 */

export const PCAP_MAGIC_MICROSECONDS = 0xa1b2c3d4;
export const PCAP_MAGIC_NANOSECONDS = 0xa1b23c4d;
export const LINKTYPE_ETHERNET = 1;

const GLOBAL_HEADER_LENGTH = 24;
const RECORD_HEADER_LENGTH = 16;

export interface PcapRecord {
  /** Virtual milliseconds. */
  readonly time: number;
  readonly frame: Uint8Array;
}

export interface PcapOptions {
  /** Longest frame stored whole; longer ones are cut (their original length is kept). Default 65535. */
  readonly snapLength?: number;
  /** Timestamp resolution; nanoseconds keep sub-microsecond serialization gaps apart. Default micro. */
  readonly resolution?: 'micro' | 'nano';
}

export const encodePcap = (records: Iterable<PcapRecord>, options: PcapOptions = {}): Uint8Array => {
  const snapLength = options.snapLength ?? 65535;
  if (!Number.isInteger(snapLength) || snapLength <= 0) throw new RangeError(`bad snapLength ${snapLength}`);
  const nano = options.resolution === 'nano';
  const unitsPerMs = nano ? 1_000_000 : 1_000;
  const unitsPerSecond = nano ? 1_000_000_000 : 1_000_000;

  const list = [...records];
  let size = GLOBAL_HEADER_LENGTH;
  for (const record of list) size += RECORD_HEADER_LENGTH + Math.min(record.frame.length, snapLength);

  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, nano ? PCAP_MAGIC_NANOSECONDS : PCAP_MAGIC_MICROSECONDS, true);
  view.setUint16(4, 2, true); // version 2.4
  view.setUint16(6, 4, true);
  view.setInt32(8, 0, true); // timestamps are UTC
  view.setUint32(12, 0, true); // accuracy field, always 0
  view.setUint32(16, snapLength, true);
  view.setUint32(20, LINKTYPE_ETHERNET, true);

  let offset = GLOBAL_HEADER_LENGTH;
  for (const { time, frame } of list) {
    if (!(time >= 0 && Number.isFinite(time))) throw new RangeError(`pcap timestamps must be ≥ 0, got ${time}`);
    const units = Math.round(time * unitsPerMs);
    const seconds = Math.floor(units / unitsPerSecond);
    const stored = Math.min(frame.length, snapLength);
    view.setUint32(offset, seconds, true);
    view.setUint32(offset + 4, units - seconds * unitsPerSecond, true);
    view.setUint32(offset + 8, stored, true);
    view.setUint32(offset + 12, frame.length, true);
    bytes.set(stored === frame.length ? frame : frame.subarray(0, stored), offset + RECORD_HEADER_LENGTH);
    offset += RECORD_HEADER_LENGTH + stored;
  }
  return bytes;
};

export interface PcapFile {
  readonly resolution: 'micro' | 'nano';
  readonly snapLength: number;
  readonly linkType: number;
  /** Frames with their timestamps in milliseconds, and the original length of each. */
  readonly records: readonly (PcapRecord & { readonly originalLength: number })[];
}

/** Reads a classic pcap file of either byte order (for tests and replay tools). */
export const decodePcap = (bytes: Uint8Array): PcapFile => {
  if (bytes.length < GLOBAL_HEADER_LENGTH) throw new Error('pcap: shorter than the global header');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magicLittle = view.getUint32(0, true);
  const magicBig = view.getUint32(0, false);
  const littleEndian = magicLittle === PCAP_MAGIC_MICROSECONDS || magicLittle === PCAP_MAGIC_NANOSECONDS;
  const magic = littleEndian ? magicLittle : magicBig;
  if (magic !== PCAP_MAGIC_MICROSECONDS && magic !== PCAP_MAGIC_NANOSECONDS) {
    throw new Error(`pcap: unknown magic 0x${magicLittle.toString(16)}`);
  }
  const nano = magic === PCAP_MAGIC_NANOSECONDS;
  const unitsPerSecond = nano ? 1_000_000_000 : 1_000_000;
  const records: (PcapRecord & { originalLength: number })[] = [];
  let offset = GLOBAL_HEADER_LENGTH;
  while (offset < bytes.length) {
    if (offset + RECORD_HEADER_LENGTH > bytes.length) throw new Error(`pcap: truncated record header at ${offset}`);
    const seconds = view.getUint32(offset, littleEndian);
    const fraction = view.getUint32(offset + 4, littleEndian);
    const stored = view.getUint32(offset + 8, littleEndian);
    const originalLength = view.getUint32(offset + 12, littleEndian);
    const start = offset + RECORD_HEADER_LENGTH;
    if (start + stored > bytes.length) throw new Error(`pcap: truncated frame at ${start}`);
    records.push({
      time: (seconds * unitsPerSecond + fraction) / (unitsPerSecond / 1000),
      frame: bytes.slice(start, start + stored),
      originalLength,
    });
    offset = start + stored;
  }
  return {
    resolution: nano ? 'nano' : 'micro',
    snapLength: view.getUint32(16, littleEndian),
    linkType: view.getUint32(20, littleEndian),
    records,
  };
};
