import { describeEthernetFrame } from './ethernet.js';
import type { FrameFault } from './faults.js';

/** Turns a frame into one line of text; the stack's wire decoders can be plugged in here. */
export type DescribeFrame = (frame: Uint8Array) => string;

/** One frame on one link direction: its fate, and when it arrived if it did. */
export interface TraceEntry {
  /** Virtual time the frame was put on the link. */
  readonly time: number;
  /** Virtual time it reached `to`; absent when it was dropped. */
  readonly arrival?: number;
  readonly from: string;
  readonly to: string;
  readonly length: number;
  readonly fault?: FrameFault;
  readonly description: string;
  /** The bytes as delivered (the damaged copy for `corrupted`). Shared, not copied: do not modify. */
  readonly frame: Uint8Array;
  /** The bytes as the sender put them on the link; the same array as `frame` unless corrupted. */
  readonly sent: Uint8Array;
}

interface TraceRecord {
  readonly time: number;
  readonly arrival: number | undefined;
  readonly from: string;
  readonly to: string;
  readonly fault: FrameFault | undefined;
  readonly frame: Uint8Array;
  readonly sent: Uint8Array;
  description: string | undefined;
}

export interface TracerOptions {
  /** How many of the latest entries to keep; default 4096. 0 turns tracing off. */
  readonly limit?: number;
  readonly describeFrame?: DescribeFrame;
}

export const DEFAULT_TRACE_LIMIT = 4096;

/**
 * A bounded log of the latest frames. Descriptions are computed only when the
 * trace is read, so a long transfer pays for a decoder only if it fails.
 */
export class FrameTracer {
  readonly limit: number;
  readonly describeFrame: DescribeFrame;
  private readonly ring: (TraceRecord | undefined)[];
  private recorded = 0;

  constructor(options: TracerOptions = {}) {
    const limit = options.limit ?? DEFAULT_TRACE_LIMIT;
    if (!(Number.isInteger(limit) && limit >= 0) && limit !== Infinity) {
      throw new RangeError(`trace limit must be an integer ≥ 0 or Infinity, got ${limit}`);
    }
    this.limit = limit;
    this.describeFrame = options.describeFrame ?? describeEthernetFrame;
    this.ring = limit === Infinity ? [] : new Array<TraceRecord | undefined>(limit);
  }

  /** Entries ever recorded, including those no longer kept. */
  get total(): number {
    return this.recorded;
  }

  record(
    time: number,
    arrival: number | undefined,
    from: string,
    to: string,
    frame: Uint8Array,
    fault: FrameFault | undefined,
    sent: Uint8Array = frame,
  ): void {
    if (this.limit === 0) return;
    const record: TraceRecord = { time, arrival, from, to, fault, frame, sent, description: undefined };
    if (this.limit === Infinity) this.ring.push(record);
    else this.ring[this.recorded % this.limit] = record;
    this.recorded++;
  }

  /** The kept entries, oldest first; `last` keeps only the latest ones. */
  entries(last?: number): TraceEntry[] {
    const kept = Math.min(this.recorded, this.limit);
    const count = last === undefined ? kept : Math.max(0, Math.min(kept, last));
    const result: TraceEntry[] = [];
    for (let index = this.recorded - count; index < this.recorded; index++) {
      const record = this.limit === Infinity ? this.ring[index] : this.ring[index % this.limit];
      if (record === undefined) continue;
      record.description ??= this.describeFrame(record.frame);
      result.push({
        time: record.time,
        ...(record.arrival !== undefined ? { arrival: record.arrival } : {}),
        from: record.from,
        to: record.to,
        length: record.frame.length,
        ...(record.fault !== undefined ? { fault: record.fault } : {}),
        description: record.description,
        frame: record.frame,
        sent: record.sent,
      });
    }
    return result;
  }

  /** The kept entries as text, saying how many earlier ones are not shown. */
  format(last?: number): string {
    const shown = Math.min(this.recorded, this.limit, last ?? Infinity);
    const hidden = this.recorded - shown;
    const header = hidden > 0 ? `… ${hidden} earlier frames not shown\n` : '';
    return header + formatTrace(this.entries(last));
  }

  clear(): void {
    this.ring.length = 0;
    if (this.limit !== Infinity) this.ring.length = this.limit;
    this.recorded = 0;
  }
}

const formatTime = (time: number): string => `${time.toFixed(3)}`;

/**
 * One line per frame: send time, direction, fate, then the description, e.g.
 * `    12.000 ms  a → b  +5.000 ms  74 B 02:00:… > 02:00:… type 0x0800`.
 */
export const formatTrace = (entries: readonly TraceEntry[]): string =>
  entries
    .map((entry) => {
      const fate =
        entry.arrival === undefined
          ? `[${entry.fault ?? 'dropped'}]`
          : `+${formatTime(entry.arrival - entry.time)} ms${entry.fault !== undefined ? ` [${entry.fault}]` : ''}`;
      return `${formatTime(entry.time).padStart(12)} ms  ${entry.from} → ${entry.to}  ${fate}  ${entry.description}`;
    })
    .join('\n');
