import { formatMac, isValidMac, readMac } from './ethernet.js';
import { emptyChannelStats, FaultyChannel, validateFaults } from './faults.js';
import type { ChannelSink, ChannelStats, FrameFault, LinkFaults } from './faults.js';
import type { SeededRng } from './rng.js';
import { fragmentationNeededFor } from './path-mtu.js';
import type { FrameTracer } from './tracer.js';

/** Something attached to the link: it has a MAC and a name for traces. */
export interface LinkEndpoint {
  readonly name: string;
  readonly mac: number;
}

export interface MockLinkOptions<E extends LinkEndpoint> {
  /** Parent stream; each ordered pair of endpoints forks its own from it. */
  readonly rng: SeededRng;
  /** Faults of every direction that has none of its own. */
  readonly faults?: LinkFaults;
  readonly tracer?: FrameTracer;
  /** Receives every copy that will arrive, with its arrival time; the owner delivers it then. */
  readonly schedule: (arrival: number, to: E, frame: Uint8Array) => void;
}

/** Link-wide counters: the sum over directions, plus frames nobody could take. */
export interface LinkStats extends ChannelStats {
  unknownDestination: number;
}

/** Routes a channel's verdicts on the current transmission to the scheduler and the trace. */
class DirectionSink<E extends LinkEndpoint> implements ChannelSink {
  from: E | undefined;
  to: E | undefined;
  /** The frame as sent, so traces can show both it and a corrupted copy. */
  sent: Uint8Array | undefined;
  /** The faults of the current direction. */
  faults: LinkFaults | undefined;
  now = 0;

  constructor(
    private readonly schedule: (arrival: number, to: E, frame: Uint8Array) => void,
    private readonly tracer: FrameTracer | undefined,
  ) {}

  deliver(arrival: number, frame: Uint8Array, fault: FrameFault | undefined): void {
    const to = this.to!;
    this.tracer?.record(this.now, arrival, this.from!.name, to.name, frame, fault, this.sent);
    this.schedule(arrival, to, frame);
  }

  drop(fault: FrameFault, frame: Uint8Array): void {
    this.tracer?.record(this.now, undefined, this.from!.name, this.to!.name, frame, fault);
    const faults = this.faults;
    if (fault !== 'mtu' || faults?.mtuReport !== true || faults.mtu === undefined) return;
    const report = fragmentationNeededFor(frame, faults.mtu);
    if (report === undefined) return;
    const arrival = this.now + (faults.delay ?? 0);
    this.tracer?.record(this.now, arrival, this.to!.name, this.from!.name, report, undefined);
    this.schedule(arrival, this.from!, report);
  }
}

interface Direction<E> {
  readonly from: E;
  readonly to: E;
  readonly channel: FaultyChannel;
  /** Faults set for this direction alone; the link default applies when absent. */
  override: LinkFaults | undefined;
}

/**
 * An Ethernet segment (more exactly a switch: every ordered pair of endpoints is
 * its own direction with its own faults and queue). A frame goes to the endpoint
 * whose MAC is its destination, or to every other endpoint when the destination
 * is a group address (broadcast ff:ff:ff:ff:ff:ff or multicast).
 *
 * Frames are passed on by reference; only a corrupted copy is new memory.
 */
export class MockLink<E extends LinkEndpoint = LinkEndpoint> {
  private readonly rng: SeededRng;
  private readonly tracer: FrameTracer | undefined;
  private readonly byMac = new Map<number, E>();
  private readonly attached: E[] = [];
  private readonly directions = new Map<E, Map<E, Direction<E>>>();
  private linkDefaultFaults: LinkFaults;
  private unknownDestination = 0;

  /** Reused for every transmission so the fast path allocates nothing. */
  private readonly sink: DirectionSink<E>;

  constructor(options: MockLinkOptions<E>) {
    this.rng = options.rng;
    this.tracer = options.tracer;
    const faults = options.faults ?? {};
    validateFaults(faults);
    this.linkDefaultFaults = faults;
    this.sink = new DirectionSink(options.schedule, options.tracer);
  }

  get endpoints(): readonly E[] {
    return this.attached;
  }

  attach(endpoint: E): void {
    if (!isValidMac(endpoint.mac)) throw new RangeError(`not a 48-bit MAC: ${endpoint.mac}`);
    if ((Math.floor(endpoint.mac / 2 ** 40) & 1) === 1) {
      throw new RangeError(`${formatMac(endpoint.mac)} is a group address, not a station's MAC`);
    }
    if (this.byMac.has(endpoint.mac)) throw new RangeError(`MAC ${formatMac(endpoint.mac)} is already on the link`);
    this.byMac.set(endpoint.mac, endpoint);
    this.attached.push(endpoint);
  }

  endpointByMac(mac: number): E | undefined {
    return this.byMac.get(mac);
  }

  /** Faults of every direction without its own; changing them affects the next frames. */
  get defaultFaults(): LinkFaults {
    return this.linkDefaultFaults;
  }

  set defaultFaults(faults: LinkFaults) {
    validateFaults(faults);
    this.linkDefaultFaults = faults;
    for (const row of this.directions.values()) {
      for (const direction of row.values()) {
        if (direction.override === undefined) direction.channel.faults = faults;
      }
    }
  }

  /**
   * Faults of the direction from → to alone (replacing, not merged with, the
   * default: spread `link.defaultFaults` in to extend it). `undefined` restores the default.
   */
  setFaults(from: E, to: E, faults: LinkFaults | undefined): void {
    if (faults !== undefined) validateFaults(faults);
    const direction = this.direction(from, to);
    direction.override = faults;
    direction.channel.faults = faults ?? this.linkDefaultFaults;
  }

  faultsOf(from: E, to: E): LinkFaults {
    return this.directions.get(from)?.get(to)?.override ?? this.linkDefaultFaults;
  }

  /** Counters of one direction, or of the whole link when no pair is given. */
  stats(): LinkStats;
  stats(from: E, to: E): ChannelStats;
  stats(from?: E, to?: E): ChannelStats | LinkStats {
    if (from !== undefined && to !== undefined) {
      return { ...(this.directions.get(from)?.get(to)?.channel.stats ?? emptyChannelStats()) };
    }
    const total: LinkStats = { ...emptyChannelStats(), unknownDestination: this.unknownDestination };
    for (const row of this.directions.values()) {
      for (const { channel } of row.values()) {
        for (const key of Object.keys(channel.stats) as (keyof ChannelStats)[]) total[key] += channel.stats[key];
      }
    }
    return total;
  }

  /** Puts a frame on the link at `now`, sent by `from`. */
  transmit(from: E, frame: Uint8Array, now: number): void {
    const destination = readMac(frame, 0);
    // The I/G bit (lowest bit of the first octet) marks broadcast and multicast.
    const isGroup = destination >= 0 && (frame[0]! & 1) === 1;
    if (isGroup) {
      for (const to of this.attached) {
        if (to !== from) this.transmitTo(from, to, frame, now);
      }
      return;
    }
    const to = destination >= 0 ? this.byMac.get(destination) : undefined;
    if (to === undefined) {
      this.unknownDestination++;
      const target = destination >= 0 ? formatMac(destination) : 'runt';
      this.tracer?.record(now, undefined, from.name, target, frame, 'unknown-destination');
      return;
    }
    this.transmitTo(from, to, frame, now);
  }

  private transmitTo(from: E, to: E, frame: Uint8Array, now: number): void {
    const sink = this.sink;
    sink.from = from;
    sink.to = to;
    sink.now = now;
    sink.sent = frame;
    const direction = this.direction(from, to);
    sink.faults = direction.channel.faults;
    direction.channel.transmit(frame, now, sink);
  }

  private direction(from: E, to: E): Direction<E> {
    let row = this.directions.get(from);
    if (row === undefined) {
      row = new Map();
      this.directions.set(from, row);
    }
    let direction = row.get(to);
    if (direction === undefined) {
      // Keyed by MACs, not by attachment order or names, so streams survive renames and reordering.
      const channelRng = this.rng.fork(`${formatMac(from.mac)}>${formatMac(to.mac)}`);
      direction = { from, to, channel: new FaultyChannel(channelRng, this.linkDefaultFaults), override: undefined };
      row.set(to, direction);
    }
    return direction;
  }
}
