import { coalesceTcpFrames, finishTcpChecksum, FrameCheck, type NetworkHost, pollFrameInto, tcpChecksumVerifies } from '@tcpts/core';
import { VirtualClock } from './clock.js';
import { formatMac } from './ethernet.js';
import type { ChannelStats, LinkFaults } from './faults.js';
import { MockLink } from './link.js';
import type { LinkStats } from './link.js';
import { encodePcap } from './pcap-writer.js';
import type { PcapOptions, PcapRecord } from './pcap-writer.js';
import { SeededRng, normalizeSeed } from './rng.js';
import { EventQueue } from './scheduler.js';
import { SimHost } from './sim-host.js';
import type { SimContext } from './socket.js';
import { FrameTracer } from './tracer.js';
import type { DescribeFrame, TraceEntry } from './tracer.js';

export interface SimulationOptions {
  /** Every random choice derives from it: the same seed replays the same run. */
  readonly seed: number;
  /** Faults of every link direction that has none of its own. */
  readonly faults?: LinkFaults;
  /** Turns frames into trace lines; default: length, MACs and EtherType. */
  readonly describeFrame?: DescribeFrame;
  /** How many of the latest frames the trace keeps (default 4096; Infinity keeps all, 0 none). */
  readonly traceLimit?: number;
  /** Virtual start time, default 0. */
  readonly startTime?: number;
  /**
   * Steps allowed at one virtual instant before the run is declared stuck (a host
   * whose deadline never moves past now, or hosts answering each other forever
   * over a zero-delay link). Default one million.
   */
  readonly maxStepsPerInstant?: number;
}

export interface RunOptions {
  /** Stop as soon as this holds (checked before the first step and after each one). */
  readonly until?: () => boolean;
  /** Absolute virtual time not to go beyond: events due later stay queued. */
  readonly maxTime: number;
  /** Bound on steps (batches of same-time events) in this call; default 10 million. */
  readonly maxSteps?: number;
}

export interface RunResult {
  readonly reason: 'until' | 'idle' | 'max-time' | 'max-steps';
  readonly time: number;
  /** Steps taken by this call. */
  readonly steps: number;
}

type SimEvent =
  | { readonly kind: 'frame'; readonly to: SimHost; readonly frame: Uint8Array }
  | { readonly kind: 'task'; readonly run: () => void };

const DEFAULT_MAX_STEPS = 10_000_000;
/** The receive buffer frames are handed over in, and what it is overwritten with after each. */
const DEVICE_BUFFER_SIZE = 65_536;
const SCRIBBLE = 0xa5;
const DEFAULT_MAX_STEPS_PER_INSTANT = 1_000_000;
/** A host still producing frames and events after this many in one drain is assumed to loop forever. */
const MAX_OUTPUTS_PER_DRAIN = 10_000_000;
/** Bound on drain passes over all hosts when callbacks keep waking each other. */
const MAX_DRAIN_PASSES = 100_000;

/**
 * Drives `NetworkHost`s over a `MockLink` in virtual time. One step takes the
 * earliest due time, hands every frame arriving then to its host, runs the
 * timers that are due, and only then drains every host (frames onto the link,
 * events to sockets). Draining after the whole batch lets a host answer several
 * segments with one ACK, as receive offload does on a real interface.
 */
export class Simulation implements SimContext {
  readonly seed: number;
  readonly clock: VirtualClock;
  readonly link: MockLink<SimHost>;
  readonly tracer: FrameTracer;
  readonly hosts: SimHost[] = [];
  private readonly root: SeededRng;
  private readonly queue = new EventQueue<SimEvent>();
  private totalSteps = 0;
  private readonly maxStepsPerInstant: number;
  private instant = Number.NaN;
  private stepsThisInstant = 0;
  private deviceBuffer = new Uint8Array(DEVICE_BUFFER_SIZE);
  /** Where a host with checksum offload writes its frames: room for any IPv4 datagram. */
  private readonly transmitBuffer = new Uint8Array(14 + 65535);

  constructor(options: SimulationOptions) {
    this.seed = normalizeSeed(options.seed);
    this.root = new SeededRng(this.seed);
    this.clock = new VirtualClock(options.startTime ?? 0);
    this.maxStepsPerInstant = options.maxStepsPerInstant ?? DEFAULT_MAX_STEPS_PER_INSTANT;
    this.tracer = new FrameTracer({
      ...(options.traceLimit !== undefined ? { limit: options.traceLimit } : {}),
      ...(options.describeFrame !== undefined ? { describeFrame: options.describeFrame } : {}),
    });
    this.link = new MockLink<SimHost>({
      rng: this.root.fork('link'),
      ...(options.faults !== undefined ? { faults: options.faults } : {}),
      tracer: this.tracer,
      schedule: (arrival, to, frame) => this.queue.push(arrival, { kind: 'frame', to, frame }),
    });
  }

  get now(): number {
    return this.clock.now;
  }

  /** Steps taken over the life of the simulation. */
  get steps(): number {
    return this.totalSteps;
  }

  /**
   * Attaches a host with this MAC (it should be the host's own `HostConfig.mac`).
   * With `checksumOffload` its device does what the packet-ring device does: it
   * has the host write each frame in place, finishes the TCP checksums the host
   * left to it (configure the host with `transmitChecksumOffload`), and vouches
   * for the received frames whose TCP checksum it found right. With
   * `receiveCoalescing` it also merges the segments that arrive at one instant
   * as that device does (core's `coalesceTcpFrames`, as Linux's GRO).
   */
  addHost(
    host: NetworkHost,
    mac: number,
    options: { readonly name?: string; readonly checksumOffload?: boolean; readonly receiveCoalescing?: boolean } = {},
  ): SimHost {
    const name = options.name ?? `host${this.hosts.length + 1}`;
    if (this.hosts.some((existing) => existing.name === name)) throw new RangeError(`host name ${name} is taken`);
    const simHost = new SimHost(host, mac, name, this, options.checksumOffload ?? false, options.receiveCoalescing ?? false);
    this.link.attach(simHost);
    this.hosts.push(simHost);
    return simHost;
  }

  /** A random stream for anything a test wants to vary by seed (ISN secrets, data). */
  rng(label: string): SeededRng {
    return this.root.fork(`user:${label}`);
  }

  /** Deterministic bytes for this seed and label, e.g. a `HostConfig.isnSecret`. */
  randomBytes(label: string, length: number): Uint8Array {
    const stream = this.rng(label);
    const bytes = new Uint8Array(length);
    for (let i = 0; i < length; i++) bytes[i] = stream.int(256);
    return bytes;
  }

  /** Faults of the direction from → to only (replacing the default); undefined restores it. */
  setFaults(from: SimHost, to: SimHost, faults: LinkFaults | undefined): void {
    this.link.setFaults(from, to, faults);
  }

  /** Faults of both directions between two hosts. */
  setFaultsBetween(a: SimHost, b: SimHost, faults: LinkFaults | undefined): void {
    this.link.setFaults(a, b, faults);
    this.link.setFaults(b, a, faults);
  }

  get defaultFaults(): LinkFaults {
    return this.link.defaultFaults;
  }

  set defaultFaults(faults: LinkFaults) {
    this.link.defaultFaults = faults;
  }

  /** Runs `task` at virtual time `at` (clamped to now); hosts are drained after it. */
  schedule(at: number, task: () => void): void {
    if (Number.isNaN(at)) throw new RangeError('cannot schedule at NaN');
    this.queue.push(Math.max(at, this.now), { kind: 'task', run: task });
  }

  /** Runs `task` `delay` ms from now. */
  after(delay: number, task: () => void): void {
    this.schedule(this.now + delay, task);
  }

  stats(): LinkStats;
  stats(from: SimHost, to: SimHost): ChannelStats;
  stats(from?: SimHost, to?: SimHost): LinkStats | ChannelStats {
    return from !== undefined && to !== undefined ? this.link.stats(from, to) : this.link.stats();
  }

  /** Time of the next thing to happen: a queued event or a host deadline. */
  nextEventTime(): number | undefined {
    let next = this.queue.peekTime();
    for (const simHost of this.hosts) {
      const deadline = simHost.host.nextDeadline();
      if (deadline !== undefined && (next === undefined || deadline < next)) next = deadline;
    }
    // A deadline already in the past is due now.
    return next === undefined ? undefined : Math.max(next, this.now);
  }

  /** Takes one step; false when there was nothing to do. */
  step(): boolean {
    const time = this.nextEventTime();
    if (time === undefined) return false;
    this.stepAt(time);
    return true;
  }

  /**
   * Hands `frame` to its host the way a capture device does: as a view of one
   * receive buffer that the next frame overwrites. The buffer is scribbled over
   * right after the call, so a host that kept a view of a frame it was given
   * (rather than a copy) sees garbage, and the transfer tests fail.
   */
  private receiveThroughDeviceBuffer(to: SimHost, frame: Uint8Array, now: number, segmentSize = 0): void {
    if (frame.length > this.deviceBuffer.length) this.deviceBuffer = new Uint8Array(frame.length);
    const view = this.deviceBuffer.subarray(0, frame.length);
    view.set(frame);
    const vouched = segmentSize > 0 || (to.checksumOffload && tcpChecksumVerifies(view));
    to.host.receiveFrame(view, now, vouched ? FrameCheck.tcpChecksum : FrameCheck.none, segmentSize);
    view.fill(SCRIBBLE);
  }

  /** The frames a coalescing device took in one after another, merged where they make a run. */
  private receiveCoalesced(to: SimHost, frames: readonly Uint8Array[], now: number): void {
    for (const { frame, segmentSize } of coalesceTcpFrames(frames)) this.receiveThroughDeviceBuffer(to, frame, now, segmentSize);
  }

  private stepAt(time: number): void {
    this.clock.advanceTo(time);
    const now = this.now;
    if (now === this.instant) {
      if (++this.stepsThisInstant > this.maxStepsPerInstant) this.throwStuck();
    } else {
      this.instant = now;
      this.stepsThisInstant = 1;
    }
    // The whole batch due now goes in before anyone is drained. A coalescing device holds the
    // frames it takes in a row, until another host's frame or a task comes between.
    let held: { readonly to: SimHost; readonly frames: Uint8Array[] } | undefined;
    const handOver = (): void => {
      if (held !== undefined) this.receiveCoalesced(held.to, held.frames, now);
      held = undefined;
    };
    while (this.queue.size > 0 && this.queue.peekTime()! <= now) {
      const event = this.queue.pop()!.item;
      if (event.kind === 'frame') {
        event.to.framesReceived++;
        if (held !== undefined && held.to !== event.to) handOver();
        if (event.to.receiveCoalescing) (held ??= { to: event.to, frames: [] }).frames.push(event.frame);
        else this.receiveThroughDeviceBuffer(event.to, event.frame, now);
      } else {
        handOver();
        event.run();
      }
    }
    handOver();
    // Deadlines are read again: frames just received may have moved or cancelled them.
    for (const simHost of this.hosts) {
      const deadline = simHost.host.nextDeadline();
      if (deadline !== undefined && deadline <= now) simHost.host.advanceTime(now);
    }
    this.drainAll();
    this.totalSteps++;
  }

  /** Steps until `until` holds, nothing is left, `maxTime` is reached or `maxSteps` are used up. */
  run(options: RunOptions): RunResult {
    const { until, maxTime } = options;
    const maxSteps = options.maxSteps ?? DEFAULT_MAX_STEPS;
    // Pick up whatever the test did to hosts between runs (connect, write, …).
    this.drainAll();
    let steps = 0;
    for (;;) {
      if (until?.() === true) return { reason: 'until', time: this.now, steps };
      const next = this.nextEventTime();
      if (next === undefined) return { reason: 'idle', time: this.now, steps };
      if (next > maxTime) {
        if (maxTime > this.now) this.clock.advanceTo(maxTime);
        return { reason: 'max-time', time: this.now, steps };
      }
      if (steps >= maxSteps) return { reason: 'max-steps', time: this.now, steps };
      this.stepAt(next);
      steps++;
    }
  }

  /** `run` with a time limit relative to now. */
  runFor(duration: number, options: Omit<RunOptions, 'maxTime'> = {}): RunResult {
    return this.run({ ...options, maxTime: this.now + duration });
  }

  /** The latest frames on the link (see `traceLimit`), oldest first. */
  trace(last?: number): TraceEntry[] {
    return this.tracer.entries(last);
  }

  formatTrace(last?: number): string {
    return this.tracer.format(last);
  }

  /**
   * The traced frames as a pcap file. Without `host`: every delivered copy, at its
   * arrival time. With `host`: what a capture on that host's interface would show,
   * frames it sent (at send time, even if later lost) and frames it received.
   */
  pcap(options: PcapOptions & { readonly host?: SimHost } = {}): Uint8Array {
    const { host, ...pcapOptions } = options;
    const records: PcapRecord[] = [];
    // One transmission shows up in several entries (broadcast, duplicates); the sender saw it once.
    let lastSent: Uint8Array | undefined;
    let lastSentTime = Number.NaN;
    for (const entry of this.trace()) {
      if (host === undefined) {
        if (entry.arrival !== undefined) records.push({ time: entry.arrival, frame: entry.frame });
        continue;
      }
      if (entry.from === host.name && !(entry.sent === lastSent && entry.time === lastSentTime)) {
        records.push({ time: entry.time, frame: entry.sent });
        lastSent = entry.sent;
        lastSentTime = entry.time;
      }
      if (entry.to === host.name && entry.arrival !== undefined) records.push({ time: entry.arrival, frame: entry.frame });
    }
    // Array.prototype.sort is stable, so equal times keep trace order.
    records.sort((a, b) => a.time - b.time);
    return encodePcap(records, pcapOptions);
  }

  /** A multi-line account of the run so far, for failure messages. */
  describe(traceLines = 40): string {
    const hosts = this.hosts.map((h) => `${h.name}=${formatMac(h.mac)}`).join(' ');
    return [
      `seed ${this.seed} (replay with the same seed), virtual time ${this.now} ms, ${this.totalSteps} steps`,
      `hosts: ${hosts}`,
      `last ${Math.min(traceLines, this.tracer.total)} of ${this.tracer.total} frames:`,
      this.formatTrace(traceLines),
    ].join('\n');
  }

  private throwStuck(): never {
    const due = this.hosts
      .filter((h) => {
        const deadline = h.host.nextDeadline();
        return deadline !== undefined && deadline <= this.now;
      })
      .map((h) => h.name);
    const detail = due.length > 0 ? `deadline still due after advanceTime: ${due.join(', ')}` : 'frames or tasks keep arriving';
    throw new Error(`no progress: more than ${this.maxStepsPerInstant} steps at ${this.now} ms (${detail})`);
  }

  /** Takes every frame and event out of every host until all are quiet. */
  private drainAll(): void {
    for (let pass = 0; pass < MAX_DRAIN_PASSES; pass++) {
      let active = false;
      for (const simHost of this.hosts) {
        if (this.drain(simHost)) active = true;
      }
      if (!active) return;
    }
    throw new Error(`hosts kept waking each other for ${MAX_DRAIN_PASSES} drain passes at ${this.now} ms`);
  }

  /**
   * The host's next frame as its device sends it. A device with checksum offload
   * has the host write it into one transmit buffer, scribbled over after each
   * frame, and finishes its TCP checksum there; the link gets a copy.
   */
  private takeFrame(simHost: SimHost): Uint8Array | undefined {
    if (!simHost.checksumOffload) return simHost.host.pollFrame();
    const length = pollFrameInto(simHost.host, this.transmitBuffer);
    if (length === 0) return undefined;
    finishTcpChecksum(this.transmitBuffer.subarray(0, length));
    const frame = this.transmitBuffer.slice(0, length);
    this.transmitBuffer.fill(SCRIBBLE, 0, length);
    return frame;
  }

  private drain(simHost: SimHost): boolean {
    const host = simHost.host;
    const now = this.now;
    let active = false;
    let outputs = 0;
    const countOutput = (): void => {
      if (++outputs > MAX_OUTPUTS_PER_DRAIN) {
        throw new Error(`${simHost.name} produced more than ${MAX_OUTPUTS_PER_DRAIN} frames and events at ${now} ms`);
      }
    };
    for (;;) {
      let progressed = false;
      for (let frame = this.takeFrame(simHost); frame !== undefined; frame = this.takeFrame(simHost)) {
        countOutput();
        simHost.framesSent++;
        this.link.transmit(simHost, frame, now);
        progressed = true;
      }
      // Applications react to events by sending, which may make new frames.
      for (let event = host.pollEvent(); event !== undefined; event = host.pollEvent()) {
        countOutput();
        simHost.dispatch(event);
        progressed = true;
      }
      if (!progressed) return active;
      active = true;
    }
  }
}
