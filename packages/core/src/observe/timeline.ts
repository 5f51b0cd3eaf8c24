/**
 * A connection's life as plain data: the steps (segments, state changes,
 * notable events) with times and the state after each, retransmissions
 * marked, and the series for a time–sequence graph (in the manner of
 * tcptrace) and for cwnd/RTT over time. Built from a host's event stream
 * (`traceSegments: true`). Metrics come from the host's `congestion` events,
 * taken at every change, and from samples the adapter may attach to events
 * (`observeEvent`), which add the bytes in flight.
 */
import type { HostEvent, SocketId } from '../stack/host-types.js';
import { seqAdd, seqLt } from '../tcp/seq.js';
import { type TcpSegment, TcpFlag } from '../wire/tcp-types.js';
import { formatTcpFlags, formatTcpOptions } from '../wire/describe.js';
import { describeIcmpError } from '../wire/icmp.js';

// ------------------------------------------------------------------ metrics

/** Congestion and RTT state of one connection at one moment. */
export interface MetricsSample {
  /** Host time of the sample. */
  readonly at: number;
  /** Congestion window, bytes. */
  readonly cwnd: number;
  /** Slow-start threshold, bytes; null while unbounded (RFC 5681 §3.1 lets it start arbitrarily high). */
  readonly ssthresh: number | null;
  /** Smoothed RTT, ms; null before the first sample (RFC 6298 §2). */
  readonly srtt: number | null;
  /** Retransmission timeout, ms. */
  readonly rto: number;
  /** Bytes sent and not yet acknowledged; null when the source does not tell (the host's congestion events). */
  readonly flight: number | null;
}

/** What `sampleMetrics` reads: the inspection getters of `Connection`. */
export interface ConnectionMetricsSource {
  readonly congestionWindow: number;
  readonly slowStartThreshold: number;
  readonly smoothedRtt: number | undefined;
  readonly retransmissionTimeout: number;
  readonly flightSize: number;
}

/** A host that exposes its connections, such as `Host` (`connectionOf`). */
export interface MetricsProvider {
  connectionOf(socket: SocketId): ConnectionMetricsSource | undefined;
}

/** The metrics of `socket` now, or undefined once its connection is gone. */
export const sampleMetrics = (provider: MetricsProvider, socket: SocketId, at: number): MetricsSample | undefined => {
  const connection = provider.connectionOf(socket);
  if (!connection) return undefined;
  const ssthresh = connection.slowStartThreshold;
  return {
    at,
    cwnd: connection.congestionWindow,
    ssthresh: Number.isFinite(ssthresh) ? ssthresh : null,
    srtt: connection.smoothedRtt ?? null,
    rto: connection.retransmissionTimeout,
    flight: connection.flightSize,
  };
};

/** A host event with the metrics of its connection when it was taken from the host. */
export interface ObservedEvent {
  readonly event: HostEvent;
  readonly metrics?: MetricsSample;
}

/**
 * The adapter's side: call it for every event polled from the host. Segment
 * events get a metrics sample of their connection. The sample is taken when
 * the event is polled, so it shows the connection after the whole batch of
 * input that produced the event, not between the segments of one batch.
 */
export const observeEvent = (provider: MetricsProvider, event: HostEvent): ObservedEvent => {
  if (event.type !== 'segment') return { event };
  const metrics = sampleMetrics(provider, event.socket, event.at);
  return metrics ? { event, metrics } : { event };
};

// ------------------------------------------------------------------ timeline

export type Direction = 'in' | 'out';

export interface SegmentFacts {
  /** Control bits as names, e.g. `SYN,ACK`. */
  readonly flags: string;
  readonly seq: number;
  readonly ack: number;
  /** The window field as sent, and scaled by the sender's window scale (RFC 7323 §2.3). */
  readonly window: number;
  readonly scaledWindow: number;
  /** Payload bytes. */
  readonly length: number;
  /** Sequence space taken: payload, plus one for SYN and for FIN (RFC 9293 §3.4). */
  readonly sequenceLength: number;
  /** Sequence number relative to the sender's initial sequence number. */
  readonly relativeSeq: number;
  /** Acknowledgment relative to the receiver's initial sequence number; null without ACK. */
  readonly relativeAck: number | null;
}

export interface TimelineStep {
  readonly index: number;
  /** Host time. */
  readonly at: number;
  /** Milliseconds since the first step. */
  readonly t: number;
  readonly kind: 'segment' | 'state' | 'event';
  readonly direction?: Direction;
  /** One readable line: `SYN seq=… ack=… win=… len=… <mss 1460,ws 7,sackOK,TS>`, `ESTABLISHED → FIN-WAIT-1`, `error: reset`. */
  readonly summary: string;
  /** The connection's state after this step. */
  readonly state: string;
  /** For state steps. */
  readonly from?: string;
  readonly to?: string;
  /** A segment carrying sequence space its sender had sent before. */
  readonly retransmission: boolean;
  readonly segment?: SegmentFacts;
  readonly metrics?: MetricsSample;
}

/** One sequence range sent, relative to the sender's ISN. */
export interface DataMark {
  readonly t: number;
  readonly start: number;
  readonly end: number;
  readonly retransmission: boolean;
  readonly step: number;
}

export interface AckMark {
  readonly t: number;
  /** Relative acknowledgment number. */
  readonly ack: number;
  /** Right edge of the advertised window: ack + scaled window. */
  readonly windowEdge: number;
  readonly step: number;
}

export interface SackMark {
  readonly t: number;
  readonly left: number;
  readonly right: number;
  readonly step: number;
}

/** One direction of data: what its sender sent, and what its receiver acknowledged and offered. */
export interface TimeSequenceSeries {
  readonly data: readonly DataMark[];
  readonly acks: readonly AckMark[];
  readonly sacks: readonly SackMark[];
}

export interface MetricsPoint extends MetricsSample {
  readonly t: number;
  /** The step at or just before the sample. */
  readonly step: number;
}

export interface Timeline {
  readonly socket: SocketId | null;
  readonly localPort: number | null;
  readonly remotePort: number | null;
  readonly initialState: string;
  readonly finalState: string;
  /** States in the order they were first reached, the initial one first. */
  readonly statesVisited: readonly string[];
  readonly transitions: ReadonlyArray<{ readonly from: string; readonly to: string; readonly step: number }>;
  readonly steps: readonly TimelineStep[];
  /** Host time of the first step (t = 0). */
  readonly start: number;
  readonly duration: number;
  /** Data we sent, with the peer's ACKs and windows. */
  readonly sent: TimeSequenceSeries;
  /** Data the peer sent, with our ACKs and windows. */
  readonly received: TimeSequenceSeries;
  readonly metrics: readonly MetricsPoint[];
  readonly counts: {
    readonly segmentsOut: number;
    readonly segmentsIn: number;
    readonly bytesOut: number;
    readonly bytesIn: number;
    readonly retransmissionsOut: number;
    readonly retransmissionsIn: number;
  };
}


/** `SYN seq=… ack=… win=… len=… <mss 1460,ws 7,sackOK,TS>`: absolute numbers, the window field as sent. */
export const segmentSummary = (segment: TcpSegment): string => {
  const fields = [formatTcpFlags(segment.flags), `seq=${segment.seq}`];
  if ((segment.flags & TcpFlag.ACK) !== 0) fields.push(`ack=${segment.ack}`);
  fields.push(`win=${segment.window}`, `len=${segment.payload.length}`);
  if ((segment.flags & TcpFlag.URG) !== 0) fields.push(`urg=${segment.urgent}`);
  return fields.join(' ') + formatTcpOptions(segment.options, 'presence');
};

const sequenceLength = (segment: TcpSegment): number =>
  segment.payload.length + (segment.flags & TcpFlag.SYN ? 1 : 0) + (segment.flags & TcpFlag.FIN ? 1 : 0);

const eventSummary = (event: HostEvent): string | undefined => {
  switch (event.type) {
    case 'connected':
      return 'connected';
    case 'accepted':
      return `accepted from port ${event.remotePort}`;
    case 'peer-closed':
      return 'peer closed (FIN received)';
    case 'urgent':
      return `urgent data up to byte ${event.end}`;
    case 'closed':
      return 'closed';
    case 'error':
      return `error: ${event.error}`;
    case 'icmp-error':
      return `ICMP: ${describeIcmpError(event.icmpType, event.code)}`;
    case 'black-hole':
      return `black hole suspected: path MTU ${event.pathMtu}`;
    case 'path-mtu-raised':
      return `full size tried again: path MTU ${event.pathMtu}`;
    default:
      // Data and writable events are many and say nothing about the connection's course.
      return undefined;
  }
};

export interface TimelineOptions {
  /** The connection to follow; by default the first one with a segment or state event. */
  readonly socket?: SocketId;
}

const toObserved = (item: HostEvent | ObservedEvent): ObservedEvent => ('event' in item ? item : { event: item });

/** The window scale each side applies to its own window fields: only when both SYNs offered it (RFC 7323 §2.2). */
const windowShifts = (events: readonly HostEvent[]): { out: number; in: number } => {
  let ours: number | undefined;
  let theirs: number | undefined;
  for (const event of events) {
    if (event.type !== 'segment' || (event.segment.flags & TcpFlag.SYN) === 0) continue;
    if (event.direction === 'out') ours ??= event.segment.options.windowScale;
    else theirs ??= event.segment.options.windowScale;
  }
  return ours !== undefined && theirs !== undefined ? { out: ours, in: theirs } : { out: 0, in: 0 };
};

/** The first sequence number of each sender: its SYN's, or the first it sent when the trace began later. */
const initialSequenceNumbers = (events: readonly HostEvent[]): { out?: number; in?: number } => {
  const isn: { out?: number; in?: number } = {};
  for (const event of events) {
    if (event.type !== 'segment') continue;
    const key = event.direction;
    if (event.segment.flags & TcpFlag.SYN) isn[key] = event.segment.seq;
  }
  for (const event of events) {
    if (event.type === 'segment') isn[event.direction] ??= event.segment.seq;
  }
  return isn;
};

interface MutableSeries {
  data: DataMark[];
  acks: AckMark[];
  sacks: SackMark[];
}

/** Builds the timeline of one connection from a host's events (with or without metrics). */
export const buildTimeline = (input: readonly (HostEvent | ObservedEvent)[], options: TimelineOptions = {}): Timeline => {
  const observed = input.map(toObserved);
  const socket =
    options.socket ??
    observed.find(({ event }) => event.type === 'segment' || event.type === 'state')?.event.socket ??
    null;
  const mine = observed.filter(({ event }) => socket !== null && event.socket === socket);
  const events = mine.map(({ event }) => event);
  const shifts = windowShifts(events);
  const isn = initialSequenceNumbers(events);
  const firstState = events.find((e) => e.type === 'state');
  const initialState = firstState?.type === 'state' ? firstState.from : 'CLOSED';

  const start = mine.length > 0 ? eventTime(mine[0]!.event, mine) : 0;
  const steps: TimelineStep[] = [];
  const transitions: Array<{ from: string; to: string; step: number }> = [];
  const statesVisited = [initialState];
  const sent: MutableSeries = { data: [], acks: [], sacks: [] };
  const received: MutableSeries = { data: [], acks: [], sacks: [] };
  const metrics: MetricsPoint[] = [];
  /** The end of the highest sequence range each sender has sent (SND.MAX as seen on the wire). */
  const highest: { out?: number; in?: number } = {};
  const counts = { segmentsOut: 0, segmentsIn: 0, bytesOut: 0, bytesIn: 0, retransmissionsOut: 0, retransmissionsIn: 0 };
  let state = initialState;
  let localPort: number | null = null;
  let remotePort: number | null = null;
  let lastAt = start;

  for (const { event, metrics: sample } of mine) {
    const at = 'at' in event ? event.at : lastAt;
    lastAt = at;
    const index = steps.length;
    const t = at - start;
    if (event.type === 'congestion') {
      metrics.push({
        at,
        t,
        step: Math.max(index - 1, 0),
        cwnd: event.cwnd,
        ssthresh: Number.isFinite(event.ssthresh) ? event.ssthresh : null,
        srtt: event.srtt ?? null,
        rto: event.rto,
        flight: null,
      });
      continue;
    }
    if (event.type === 'state') {
      state = event.to;
      if (!statesVisited.includes(state)) statesVisited.push(state);
      transitions.push({ from: event.from, to: event.to, step: index });
      steps.push({ index, at, t, kind: 'state', summary: `${event.from} → ${event.to}`, state, from: event.from, to: event.to, retransmission: false });
      continue;
    }
    if (event.type !== 'segment') {
      const summary = eventSummary(event);
      if (summary !== undefined) steps.push({ index, at, t, kind: 'event', summary, state, retransmission: false });
      continue;
    }

    const { segment, direction } = event;
    const other: Direction = direction === 'out' ? 'in' : 'out';
    if (direction === 'out') {
      localPort ??= segment.srcPort;
      remotePort ??= segment.dstPort;
    } else {
      localPort ??= segment.dstPort;
      remotePort ??= segment.srcPort;
    }
    const length = sequenceLength(segment);
    const end = seqAdd(segment.seq, length);
    const before = highest[direction];
    const retransmission = length > 0 && before !== undefined && seqLt(segment.seq, before);
    if (length > 0 && (before === undefined || seqLt(before, end))) highest[direction] = end;

    const senderBase = isn[direction]!;
    const receiverBase = isn[other];
    const hasAck = (segment.flags & TcpFlag.ACK) !== 0;
    const shift = (segment.flags & TcpFlag.SYN) !== 0 ? 0 : shifts[direction];
    const scaledWindow = segment.window * 2 ** shift;
    const relativeSeq = (segment.seq - senderBase) >>> 0;
    const relativeAck = hasAck && receiverBase !== undefined ? (segment.ack - receiverBase) >>> 0 : null;
    const facts: SegmentFacts = {
      flags: formatTcpFlags(segment.flags),
      seq: segment.seq,
      ack: segment.ack,
      window: segment.window,
      scaledWindow,
      length: segment.payload.length,
      sequenceLength: length,
      relativeSeq,
      relativeAck,
    };

    // What this segment sent belongs to its sender's series; its ACK, window and SACK to the other's.
    const ownSeries = direction === 'out' ? sent : received;
    const peerSeries = direction === 'out' ? received : sent;
    if (length > 0) ownSeries.data.push({ t, start: relativeSeq, end: relativeSeq + length, retransmission, step: index });
    if (relativeAck !== null && receiverBase !== undefined) {
      peerSeries.acks.push({ t, ack: relativeAck, windowEdge: relativeAck + scaledWindow, step: index });
      for (const block of segment.options.sack ?? []) {
        peerSeries.sacks.push({
          t,
          left: (block.left - receiverBase) >>> 0,
          right: (block.right - receiverBase) >>> 0,
          step: index,
        });
      }
    }

    if (direction === 'out') {
      counts.segmentsOut++;
      counts.bytesOut += segment.payload.length;
      if (retransmission) counts.retransmissionsOut++;
    } else {
      counts.segmentsIn++;
      counts.bytesIn += segment.payload.length;
      if (retransmission) counts.retransmissionsIn++;
    }
    if (sample) metrics.push({ ...sample, t: sample.at - start, step: index });
    steps.push({
      index,
      at,
      t,
      kind: 'segment',
      direction,
      summary: segmentSummary(segment),
      state,
      retransmission,
      segment: facts,
      ...(sample ? { metrics: sample } : {}),
    });
  }

  return {
    socket,
    localPort,
    remotePort,
    initialState,
    finalState: state,
    statesVisited,
    transitions,
    steps,
    start,
    duration: steps.length > 0 ? steps[steps.length - 1]!.t : 0,
    sent,
    received,
    metrics,
    counts,
  };
};

/** Events without a time of their own take the time of the nearest timed event before them (or after, at the start). */
function eventTime(event: HostEvent, all: readonly ObservedEvent[]): number {
  if ('at' in event) return event.at;
  for (const { event: other } of all) if ('at' in other) return other.at;
  return 0;
}
