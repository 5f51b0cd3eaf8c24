import { ETHERNET_HEADER_LENGTH } from './ethernet.js';
import type { SeededRng } from './rng.js';

/**
 * Impairments of one direction of a link. Probabilities are per frame in [0, 1];
 * times are virtual milliseconds. Everything is off by default.
 */
export interface LinkFaults {
  /** Probability that a frame is dropped on the wire (after it used its share of bandwidth). */
  readonly loss?: number;
  /** Probability that a frame is delivered twice. */
  readonly duplicate?: number;
  /** Probability that a frame is held back by `reorderDelay`, letting later frames overtake it. */
  readonly reorder?: number;
  /** Extra delay of a held-back frame; default 1 ms. */
  readonly reorderDelay?: number;
  /** Fixed propagation delay. */
  readonly delay?: number;
  /** Extra delay drawn uniformly from [0, jitter) per frame; like netem, it may reorder frames. */
  readonly jitter?: number;
  /**
   * Probability that one bit of the IPv4 packet flips. Only the part of the frame
   * a checksum can protect is touched: on real Ethernet the FCS discards frames with
   * damaged headers, so what gets through is damage done beyond it (e.g. in a router's
   * memory). Non-IPv4 frames (ARP has no checksum) are left intact.
   */
  readonly corrupt?: number;
  /** Largest IPv4 packet (frame length − 14) carried; larger frames are dropped and counted. */
  readonly mtu?: number;
  /**
   * With `mtu`: a dropped packet with Don't Fragment set is answered, as the router
   * before a narrow hop would, by ICMP "fragmentation needed" with `mtu` to its
   * sender (RFC 1191), after `delay`. Without it the hop is a black hole.
   */
  readonly mtuReport?: boolean;
  /** Serialization rate in bytes per millisecond (1 Gbit/s = 125 000). Unlimited when absent. */
  readonly bandwidth?: number;
  /**
   * Tail-drop limit: bytes waiting for or in serialization on this direction. Only
   * meaningful with `bandwidth`, since without it the queue empties instantly.
   */
  readonly queueLimit?: number;
}

/** What happened to a frame, as shown in traces. */
export type FrameFault =
  | 'lost'
  | 'duplicated'
  | 'corrupted'
  | 'reordered'
  | 'mtu'
  | 'queue-full'
  /** No endpoint has the destination MAC. */
  | 'unknown-destination';

/** Counters of one direction (or of a whole link when summed). */
export interface ChannelStats {
  /** Frames offered to the direction, and their bytes. */
  frames: number;
  bytes: number;
  /** Copies handed to the receiving side, duplicates included. */
  delivered: number;
  lost: number;
  duplicated: number;
  corrupted: number;
  reordered: number;
  mtu: number;
  queueFull: number;
}

export const emptyChannelStats = (): ChannelStats => ({
  frames: 0,
  bytes: 0,
  delivered: 0,
  lost: 0,
  duplicated: 0,
  corrupted: 0,
  reordered: 0,
  mtu: 0,
  queueFull: 0,
});

/** Where a channel sends the outcome of a frame; a callback pair avoids allocating per frame. */
export interface ChannelSink {
  deliver(arrival: number, frame: Uint8Array, fault: FrameFault | undefined): void;
  drop(fault: FrameFault, frame: Uint8Array): void;
}

const DEFAULT_REORDER_DELAY = 1;

const checkProbability = (name: string, value: number | undefined): void => {
  if (value !== undefined && !(value >= 0 && value <= 1)) {
    throw new RangeError(`LinkFaults.${name} must be a probability in [0, 1], got ${value}`);
  }
};

const checkNonNegative = (name: string, value: number | undefined): void => {
  if (value !== undefined && !(value >= 0 && Number.isFinite(value))) {
    throw new RangeError(`LinkFaults.${name} must be a finite number ≥ 0, got ${value}`);
  }
};

const checkPositive = (name: string, value: number | undefined): void => {
  if (value !== undefined && !(value > 0 && Number.isFinite(value))) {
    throw new RangeError(`LinkFaults.${name} must be a finite number > 0, got ${value}`);
  }
};

/** Throws a RangeError naming the first field out of range, so a typo fails loudly. */
export const validateFaults = (faults: LinkFaults): void => {
  checkProbability('loss', faults.loss);
  checkProbability('duplicate', faults.duplicate);
  checkProbability('reorder', faults.reorder);
  checkProbability('corrupt', faults.corrupt);
  checkNonNegative('reorderDelay', faults.reorderDelay);
  checkNonNegative('delay', faults.delay);
  checkNonNegative('jitter', faults.jitter);
  checkNonNegative('queueLimit', faults.queueLimit);
  checkPositive('mtu', faults.mtu);
  checkPositive('bandwidth', faults.bandwidth);
};

const isIpv4Frame = (frame: Uint8Array): boolean =>
  frame.length > ETHERNET_HEADER_LENGTH && frame[12] === 0x08 && frame[13] === 0x00;

/** A copy of `frame` with one bit flipped at `bitIndex`; the original is never touched. */
export const flipBit = (frame: Uint8Array, bitIndex: number): Uint8Array => {
  const copy = frame.slice();
  copy[bitIndex >>> 3]! ^= 0x80 >>> (bitIndex & 7);
  return copy;
};

/**
 * One direction of a link: applies `LinkFaults` to each frame and reports when
 * (and whether, and in what form) it arrives.
 *
 * Each kind of fault draws from its own random stream, and draws on every frame
 * while it is configured, whatever happened to the frame otherwise. So turning on
 * corruption does not change which frames are lost, and raising the loss rate
 * only adds losses: runs that differ in one fault stay comparable.
 */
export class FaultyChannel {
  readonly stats: ChannelStats = emptyChannelStats();
  private currentFaults: LinkFaults;
  private readonly lossRng: SeededRng;
  private readonly duplicateRng: SeededRng;
  private readonly reorderRng: SeededRng;
  private readonly jitterRng: SeededRng;
  private readonly corruptRng: SeededRng;
  private readonly corruptBitRng: SeededRng;
  /** Serialization queue: finish times and sizes of frames not yet fully sent, oldest first. */
  private readonly queueFinish: number[] = [];
  private readonly queueSize: number[] = [];
  private queueHead = 0;
  private queuedBytes = 0;
  private wireFreeAt = -Infinity;

  constructor(rng: SeededRng, faults: LinkFaults = {}) {
    validateFaults(faults);
    this.currentFaults = faults;
    this.lossRng = rng.fork('loss');
    this.duplicateRng = rng.fork('duplicate');
    this.reorderRng = rng.fork('reorder');
    this.jitterRng = rng.fork('jitter');
    this.corruptRng = rng.fork('corrupt');
    this.corruptBitRng = rng.fork('corrupt-bit');
  }

  get faults(): LinkFaults {
    return this.currentFaults;
  }

  /** Changes take effect for the next frame; frames already on the wire keep their fate. */
  set faults(faults: LinkFaults) {
    validateFaults(faults);
    this.currentFaults = faults;
  }

  /** Bytes waiting for or in serialization at `now`. */
  queuedBytesAt(now: number): number {
    this.releaseSerialized(now);
    return this.queuedBytes;
  }

  transmit(frame: Uint8Array, now: number, sink: ChannelSink): void {
    const faults = this.currentFaults;
    const stats = this.stats;
    const length = frame.length;
    stats.frames++;
    stats.bytes += length;

    // Draw every configured stream first, so each stream's sequence is independent
    // of the other faults' outcomes.
    const lost = faults.loss !== undefined && faults.loss > 0 && this.lossRng.next() < faults.loss;
    const duplicated =
      faults.duplicate !== undefined && faults.duplicate > 0 && this.duplicateRng.next() < faults.duplicate;
    const reordered = faults.reorder !== undefined && faults.reorder > 0 && this.reorderRng.next() < faults.reorder;
    const jitter = faults.jitter !== undefined && faults.jitter > 0 ? this.jitterRng.next() * faults.jitter : 0;
    const corrupted = faults.corrupt !== undefined && faults.corrupt > 0 && this.corruptRng.next() < faults.corrupt;

    if (faults.mtu !== undefined && length - ETHERNET_HEADER_LENGTH > faults.mtu) {
      stats.mtu++;
      sink.drop('mtu', frame);
      return;
    }

    let departure = now;
    const bandwidth = faults.bandwidth;
    if (bandwidth !== undefined) {
      this.releaseSerialized(now);
      if (faults.queueLimit !== undefined && this.queuedBytes + length > faults.queueLimit) {
        stats.queueFull++;
        sink.drop('queue-full', frame);
        return;
      }
      // The transmitter sends one frame at a time; a frame starts when the previous one is out.
      const start = Math.max(now, this.wireFreeAt);
      departure = start + length / bandwidth;
      this.wireFreeAt = departure;
      this.queueFinish.push(departure);
      this.queueSize.push(length);
      this.queuedBytes += length;
    }

    if (lost) {
      stats.lost++;
      sink.drop('lost', frame);
      return;
    }

    let arrival = departure + (faults.delay ?? 0) + jitter;
    let fault: FrameFault | undefined;
    if (reordered) {
      arrival += faults.reorderDelay ?? DEFAULT_REORDER_DELAY;
      stats.reordered++;
      fault = 'reordered';
    }
    let delivered = frame;
    if (corrupted && isIpv4Frame(frame)) {
      const payloadBits = (length - ETHERNET_HEADER_LENGTH) * 8;
      delivered = flipBit(frame, ETHERNET_HEADER_LENGTH * 8 + this.corruptBitRng.int(payloadBits));
      stats.corrupted++;
      fault = 'corrupted';
    }

    stats.delivered++;
    sink.deliver(arrival, delivered, fault);
    if (duplicated) {
      stats.duplicated++;
      stats.delivered++;
      sink.deliver(arrival, delivered, 'duplicated');
    }
  }

  private releaseSerialized(now: number): void {
    const finish = this.queueFinish;
    while (this.queueHead < finish.length && finish[this.queueHead]! <= now) {
      this.queuedBytes -= this.queueSize[this.queueHead]!;
      this.queueHead++;
    }
    // Compact now and then so the arrays do not grow without bound.
    if (this.queueHead > 1024 && this.queueHead * 2 > finish.length) {
      finish.splice(0, this.queueHead);
      this.queueSize.splice(0, this.queueHead);
      this.queueHead = 0;
    }
  }
}
