import { ICMP_QUOTED_DATA } from '../wire/icmp.js';
import { IPV4_MAX_PAYLOAD } from '../wire/ipv4.js';

/**
 * IPv4 reassembly, receive side (RFC 791 §3.2, RFC 1122 §3.3.2: a host MUST
 * reassemble). Pure: time comes in as `now`, the next expiry goes out through
 * `nextDeadline()`.
 */

/** One received fragment: the header fields that matter here and its payload. */
export interface Ipv4Fragment {
  readonly src: number;
  readonly dst: number;
  readonly protocol: number;
  readonly identification: number;
  /** Where the payload goes in the datagram, in bytes (the header's offset × 8). */
  readonly offset: number;
  readonly moreFragments: boolean;
  /** Only read during `accept`: the reassembler copies what it keeps. */
  readonly payload: Uint8Array;
  /**
   * The fragment's IPv4 header, only read during `accept`. With fragment zero it
   * is kept, with the first 8 bytes of data, to quote in a Time Exceeded (RFC 792).
   */
  readonly header?: Uint8Array;
  /** Where an ICMP error about the datagram would go on the link; absent when none may be sent (a link broadcast). */
  readonly replyTo?: number;
}

/** A datagram discarded at its deadline (RFC 1122 §3.3.2). */
export interface ExpiredDatagram {
  readonly src: number;
  /** Fragment zero's header and first 8 bytes of data, if it arrived and carried its header; what a Time Exceeded quotes. */
  readonly quote: Uint8Array | undefined;
  readonly replyTo: number | undefined;
}

export interface Ipv4ReassemblyLimits {
  /** From a datagram's first fragment to its discard, ms (RFC 1122 §3.3.2: SHOULD be 60–120 s). */
  readonly timeout: number;
  /** Datagrams in progress at once; a fragment of one more is dropped. */
  readonly maxDatagrams: number;
  /** The largest reassembled payload: what fits behind a 20-byte header in a 65535-byte datagram. */
  readonly maxPayload: number;
}

export const defaultReassemblyLimits: Ipv4ReassemblyLimits = {
  timeout: 60_000,
  maxDatagrams: 64,
  maxPayload: IPV4_MAX_PAYLOAD,
};

/** Why a fragment, and with it the datagram it belongs to, was dropped. */
export type ReassemblyDropReason =
  /** `maxDatagrams` are in progress: the new datagram is refused, those already there go on. */
  | 'too-many'
  /** The fragment ends past `maxPayload`. */
  | 'too-big'
  /** A fragment with more-fragments set whose length is not a multiple of 8 (RFC 791 §3.2). */
  | 'misaligned'
  /** A last fragment that disagrees with the total length already known, or bytes past it. */
  | 'inconsistent'
  /** Bytes received twice that differ (RFC 5722's reasoning: overlap is an attack vector). */
  | 'overlap';

export type ReassemblyResult =
  | { readonly kind: 'held' }
  | { readonly kind: 'complete'; readonly protocol: number; readonly payload: Uint8Array }
  | { readonly kind: 'dropped'; readonly reason: ReassemblyDropReason };

interface Datagram {
  readonly deadline: number;
  readonly src: number;
  /** See `ExpiredDatagram`: set by fragment zero. */
  quote: Uint8Array | undefined;
  replyTo: number | undefined;
  /** Grows as fragments arrive, up to `maxPayload`. */
  bytes: Uint8Array;
  /** Filled ranges [start, end), sorted, disjoint and not touching. */
  readonly filled: Array<[number, number]>;
  /** Payload length, once the fragment with more-fragments clear has fixed it. */
  total: number | undefined;
}

const HELD: ReassemblyResult = { kind: 'held' };


export class Ipv4Reassembler {
  private readonly limits: Ipv4ReassemblyLimits;
  /** Keyed by (source, destination, protocol, identification), RFC 791 §3.2; in order of first arrival. */
  private readonly datagrams = new Map<string, Datagram>();

  constructor(limits: Partial<Ipv4ReassemblyLimits> = {}) {
    this.limits = { ...defaultReassemblyLimits, ...limits };
  }

  /** Datagrams in progress. */
  get size(): number {
    return this.datagrams.size;
  }

  accept(fragment: Ipv4Fragment, now: number): ReassemblyResult {
    const key = `${fragment.src >>> 0}/${fragment.dst >>> 0}/${fragment.protocol}/${fragment.identification}`;
    const start = fragment.offset;
    const end = start + fragment.payload.length;
    let datagram = this.datagrams.get(key);
    const drop = (reason: ReassemblyDropReason): ReassemblyResult => {
      this.datagrams.delete(key);
      return { kind: 'dropped', reason };
    };
    if (end > this.limits.maxPayload) return drop('too-big');
    if (fragment.moreFragments && fragment.payload.length % 8 !== 0) return drop('misaligned');
    if (datagram === undefined) {
      if (this.datagrams.size >= this.limits.maxDatagrams) return { kind: 'dropped', reason: 'too-many' };
      datagram = {
        deadline: now + this.limits.timeout,
        src: fragment.src,
        quote: undefined,
        replyTo: undefined,
        bytes: new Uint8Array(0),
        filled: [],
        total: undefined,
      };
      this.datagrams.set(key, datagram);
    }
    if (!fragment.moreFragments) {
      const lastFilled = datagram.filled.at(-1);
      if ((datagram.total !== undefined && datagram.total !== end) || (lastFilled !== undefined && lastFilled[1] > end)) {
        return drop('inconsistent');
      }
      datagram.total = end;
    } else if (datagram.total !== undefined && end > datagram.total) {
      return drop('inconsistent');
    }
    if (!write(datagram, start, fragment.payload, this.limits.maxPayload)) return drop('overlap');
    if (start === 0 && fragment.header !== undefined && datagram.quote === undefined) {
      const quoted = fragment.payload.subarray(0, ICMP_QUOTED_DATA);
      datagram.quote = new Uint8Array(fragment.header.length + quoted.length);
      datagram.quote.set(fragment.header);
      datagram.quote.set(quoted, fragment.header.length);
      datagram.replyTo = fragment.replyTo;
    }
    const first = datagram.filled[0];
    if (datagram.total === undefined || datagram.filled.length !== 1 || first![0] !== 0 || first![1] !== datagram.total) {
      return HELD;
    }
    this.datagrams.delete(key);
    return { kind: 'complete', protocol: fragment.protocol, payload: datagram.bytes.subarray(0, datagram.total) };
  }

  /** When the oldest datagram in progress expires. */
  nextDeadline(): number | undefined {
    let next: number | undefined;
    for (const datagram of this.datagrams.values()) if (next === undefined || datagram.deadline < next) next = datagram.deadline;
    return next;
  }

  /** Discards every datagram whose deadline is `now` or earlier, and says which. */
  expire(now: number): ExpiredDatagram[] {
    const expired: ExpiredDatagram[] = [];
    for (const [key, datagram] of this.datagrams) {
      if (datagram.deadline > now) continue;
      this.datagrams.delete(key);
      expired.push({ src: datagram.src, quote: datagram.quote, replyTo: datagram.replyTo });
    }
    return expired;
  }
}

/**
 * Copies `payload` to `start` and records its range. Bytes already there must
 * be the same; returns false (nothing written) when they differ.
 */
function write(datagram: Datagram, start: number, payload: Uint8Array, maxPayload: number): boolean {
  const end = start + payload.length;
  for (const [from, to] of datagram.filled) {
    const overlapStart = Math.max(from, start);
    const overlapEnd = Math.min(to, end);
    for (let i = overlapStart; i < overlapEnd; i++) if (datagram.bytes[i] !== payload[i - start]) return false;
  }
  if (payload.length === 0) return true;
  if (end > datagram.bytes.length) {
    const grown = new Uint8Array(Math.min(maxPayload, Math.max(end, datagram.bytes.length * 2)));
    grown.set(datagram.bytes);
    datagram.bytes = grown;
  }
  datagram.bytes.set(payload, start);
  // Merge [start, end) with every range it overlaps or touches.
  const filled = datagram.filled;
  let mergedStart = start;
  let mergedEnd = end;
  let first = 0;
  while (first < filled.length && filled[first]![1] < start) first++;
  let last = first;
  while (last < filled.length && filled[last]![0] <= end) {
    mergedStart = Math.min(mergedStart, filled[last]![0]);
    mergedEnd = Math.max(mergedEnd, filled[last]![1]);
    last++;
  }
  filled.splice(first, last - first, [mergedStart, mergedEnd]);
  return true;
}
