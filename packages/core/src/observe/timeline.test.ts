import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createHost } from '../stack/host.js';
import type { HostEvent } from '../stack/host-types.js';
import { type TcpSegment, TcpFlag } from '../wire/tcp-types.js';
import { configA, configB, transfer } from './testing/two-hosts.js';
import {
  type ConnectionMetricsSource,
  type ObservedEvent,
  buildTimeline,
  observeEvent,
  sampleMetrics,
  segmentSummary,
} from './timeline.js';

/** A's side of a 30 kB transfer in which A's frames `dropped` are lost (frame 0 is A's ARP request). */
const observedTransfer = (dropped: readonly number[] = []) => {
  const a = createHost(configA({ tcp: { msl: 200 } }));
  const b = createHost(configB());
  const observed: ObservedEvent[] = [];
  const { socket } = transfer(a, b, 30_000, {
    dropFromA: new Set(dropped),
    onEvent: (host, event) => {
      if (host === 'a') observed.push(observeEvent(a, event));
    },
  });
  return { observed, socket };
};

const segment = (fields: Partial<TcpSegment>): TcpSegment => ({
  srcPort: 1000,
  dstPort: 80,
  seq: 0,
  ack: 0,
  flags: TcpFlag.ACK,
  window: 1000,
  urgent: 0,
  options: {},
  payload: new Uint8Array(0),
  ...fields,
});

describe('buildTimeline over a real transfer', () => {
  const dropped = [12, 13, 20];
  const { observed, socket } = observedTransfer(dropped);
  const timeline = buildTimeline(observed);

  it('follows the connection through the states of an active open and close', () => {
    expect(timeline.socket).toBe(socket);
    expect(timeline.initialState).toBe('CLOSED');
    expect(timeline.statesVisited).toEqual(['CLOSED', 'SYN-SENT', 'ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2', 'TIME-WAIT']);
    expect(timeline.finalState).toBe('CLOSED');
    expect(timeline.transitions.map((t) => `${t.from}>${t.to}`)).toEqual([
      'CLOSED>SYN-SENT',
      'SYN-SENT>ESTABLISHED',
      'ESTABLISHED>FIN-WAIT-1',
      'FIN-WAIT-1>FIN-WAIT-2',
      'FIN-WAIT-2>TIME-WAIT',
      'TIME-WAIT>CLOSED',
    ]);
  });

  it('has one step per segment, state change and notable event, in time order, each with the state after it', () => {
    const stepTypes = ['segment', 'state', 'connected', 'accepted', 'peer-closed', 'closed', 'error'];
    const expected = observed.filter(({ event }) => stepTypes.includes(event.type)).length;
    expect(timeline.steps).toHaveLength(expected);
    let state = 'CLOSED';
    timeline.steps.forEach((step, i) => {
      expect(step.index).toBe(i);
      if (i > 0) expect(step.t).toBeGreaterThanOrEqual(timeline.steps[i - 1]!.t);
      if (step.kind === 'state') state = step.to!;
      expect(step.state).toBe(state);
    });
    expect(timeline.steps[0]!.t).toBe(0);
    expect(timeline.steps.filter((s) => s.kind === 'event').map((s) => s.summary)).toEqual([
      'connected',
      'peer closed (FIN received)',
      'closed',
    ]);
  });

  it('summarizes segments readably', () => {
    const syn = timeline.steps.find((s) => s.kind === 'segment')!;
    expect(syn.direction).toBe('out');
    expect(syn.summary).toMatch(/^SYN seq=\d+ win=65535 len=0 <mss 1460,ws \d+,sackOK,TS>$/);
    expect(syn.segment?.relativeSeq).toBe(0);
    const synAck = timeline.steps.find((s) => s.segment?.flags === 'SYN,ACK')!;
    expect(synAck.direction).toBe('in');
    expect(synAck.summary).toMatch(/^SYN,ACK seq=\d+ ack=\d+ win=\d+ len=0 </);
    expect(synAck.segment?.relativeAck).toBe(1);
    const data = timeline.steps.find((s) => s.segment && s.segment.length > 0)!;
    expect(data.summary).toMatch(/^ACK seq=\d+ ack=\d+ win=\d+ len=1448 <TS>$/);
    expect(data.segment?.relativeSeq).toBe(1);
  });

  it('scales windows by the scale the sender offered in its SYN (RFC 7323 §2.3)', () => {
    const synAck = timeline.steps.find((s) => s.segment?.flags === 'SYN,ACK')!;
    const peerShift = Number(/ws (\d+)/.exec(synAck.summary)![1]);
    const laterIn = timeline.steps.find((s) => s.direction === 'in' && s.index > synAck.index)!;
    expect(laterIn.segment!.scaledWindow).toBe(laterIn.segment!.window * 2 ** peerShift);
    expect(synAck.segment!.scaledWindow).toBe(synAck.segment!.window);
  });

  it('marks exactly the lost segments as retransmitted', () => {
    // Frame k ≥ 1 from A is A's k-th segment.
    const outSegments = timeline.steps.filter((s) => s.kind === 'segment' && s.direction === 'out');
    const lostSeqs = new Set(dropped.map((k) => outSegments[k - 1]!.segment!.seq));
    const resent = outSegments.filter((s) => s.retransmission);
    expect(new Set(resent.map((s) => s.segment!.seq))).toEqual(lostSeqs);
    expect(timeline.counts.retransmissionsOut).toBe(resent.length);
    expect(timeline.sent.data.filter((d) => d.retransmission)).toHaveLength(resent.length);
    expect(timeline.received.data.every((d) => !d.retransmission)).toBe(true);
  });

  it('gives the time–sequence series of both directions', () => {
    const out = timeline.steps.filter((s) => s.direction === 'out' && s.segment!.sequenceLength > 0);
    expect(timeline.sent.data).toHaveLength(out.length);
    // SYN and FIN take one sequence number each: the data ends at 30 000 + 2 relative.
    expect(Math.max(...timeline.sent.data.map((d) => d.end))).toBe(30_002);
    expect(timeline.sent.acks.length).toBeGreaterThan(5);
    expect(timeline.sent.acks[timeline.sent.acks.length - 1]!.ack).toBe(30_002);
    for (const mark of timeline.sent.acks) expect(mark.windowEdge).toBeGreaterThanOrEqual(mark.ack);
    // Out-of-order arrivals at B came back as SACK blocks above the hole.
    expect(timeline.sent.sacks.length).toBeGreaterThan(0);
    // B sent no data: its series has only its SYN and FIN, and A's ACKs of them.
    expect(timeline.received.data.map((d) => d.end - d.start)).toEqual([1, 1]);
    expect(timeline.counts.bytesOut).toBe(30_000 + resent(timeline));
  });

  it("carries the metrics of the host's congestion events and of the samples taken for segment steps", () => {
    const congestionEvents = observed.filter(({ event }) => event.type === 'congestion');
    expect(congestionEvents.length).toBeGreaterThan(0);
    const fromEvents = timeline.metrics.filter((m) => m.flight === null);
    const fromSamples = timeline.metrics.filter((m) => m.flight !== null);
    expect(fromEvents).toHaveLength(congestionEvents.length);
    expect(fromSamples).toHaveLength(timeline.steps.filter((s) => s.metrics !== undefined).length);
    for (const point of fromSamples) {
      expect(timeline.steps[point.step]!.metrics).toEqual(expect.objectContaining({ cwnd: point.cwnd, at: point.at }));
    }
    for (let i = 1; i < timeline.metrics.length; i++) expect(timeline.metrics[i]!.t).toBeGreaterThanOrEqual(timeline.metrics[i - 1]!.t);
    expect(timeline.metrics[0]!.ssthresh).toBeNull();
    expect(timeline.metrics.some((m) => m.srtt !== null && m.srtt > 0)).toBe(true);
    // Loss brought ssthresh down from "unbounded".
    expect(timeline.metrics.some((m) => m.ssthresh !== null)).toBe(true);
  });

  it('takes congestion events as metrics, not as steps', () => {
    const events: HostEvent[] = [
      { type: 'state', socket: 3, from: 'CLOSED', to: 'SYN-SENT', at: 10 },
      { type: 'congestion', socket: 3, cwnd: 2920, ssthresh: Number.POSITIVE_INFINITY, srtt: undefined, rto: 1000, at: 12 },
      { type: 'congestion', socket: 3, cwnd: 4380, ssthresh: 8000, srtt: 20, rto: 220, at: 15 },
    ];
    const synthetic = buildTimeline(events);
    expect(synthetic.steps).toHaveLength(1);
    expect(synthetic.metrics).toEqual([
      { at: 12, t: 2, step: 0, cwnd: 2920, ssthresh: null, srtt: null, rto: 1000, flight: null },
      { at: 15, t: 5, step: 0, cwnd: 4380, ssthresh: 8000, srtt: 20, rto: 220, flight: null },
    ]);
  });
});

const resent = (timeline: ReturnType<typeof buildTimeline>): number =>
  timeline.steps.filter((s) => s.direction === 'out' && s.retransmission).reduce((sum, s) => sum + s.segment!.length, 0);

describe('buildTimeline of the passive side', () => {
  it('follows the forked connection from LISTEN and graphs the data it received', () => {
    const a = createHost(configA());
    const b = createHost(configB());
    const observed: ObservedEvent[] = [];
    transfer(a, b, 10_000, {
      onEvent: (host, event) => {
        if (host === 'b') observed.push(observeEvent(b, event));
      },
    });
    const timeline = buildTimeline(observed);
    expect(timeline.statesVisited).toEqual(['CLOSED', 'LISTEN', 'SYN-RECEIVED', 'ESTABLISHED', 'CLOSE-WAIT', 'LAST-ACK']);
    expect(timeline.finalState).toBe('CLOSED');
    expect(timeline.localPort).toBe(80);
    // The SYN arrives before the connection exists: the first step, in CLOSED.
    expect(timeline.steps[0]).toMatchObject({ kind: 'segment', direction: 'in', state: 'CLOSED' });
    expect(timeline.counts.bytesIn).toBe(10_000);
    expect(Math.max(...timeline.received.data.map((d) => d.end))).toBe(10_002);
    expect(timeline.received.acks[timeline.received.acks.length - 1]!.ack).toBe(10_002);
    const accepted = observed.map((o) => o.event).find((e) => e.type === 'accepted');
    const clientPort = accepted?.type === 'accepted' ? accepted.remotePort : undefined;
    expect(clientPort).toBeGreaterThanOrEqual(49152);
    expect(timeline.steps.map((s) => s.summary)).toContain(`accepted from port ${clientPort}`);
  });
});

describe('buildTimeline over synthetic events', () => {
  it('follows the asked socket only, and the first one by default', () => {
    const events: HostEvent[] = [
      { type: 'state', socket: 7, from: 'CLOSED', to: 'LISTEN', at: 5 },
      { type: 'state', socket: 8, from: 'CLOSED', to: 'SYN-SENT', at: 6 },
      { type: 'segment', socket: 8, direction: 'out', segment: segment({ flags: TcpFlag.SYN, seq: 10 }), at: 6 },
      { type: 'data', socket: 8, data: new Uint8Array(3) },
    ];
    expect(buildTimeline(events).steps.map((s) => s.summary)).toEqual(['CLOSED → LISTEN']);
    const eight = buildTimeline(events, { socket: 8 });
    expect(eight.steps.map((s) => s.kind)).toEqual(['state', 'segment']);
    expect(eight.start).toBe(6);
    expect(eight.localPort).toBe(1000);
    expect(eight.remotePort).toBe(80);
    expect(buildTimeline([]).steps).toEqual([]);
    const urgent = buildTimeline([...events, { type: 'urgent', socket: 8, end: 3 }], { socket: 8 });
    expect(urgent.steps.at(-1)?.summary).toBe('urgent data up to byte 3');
  });

  it('marks a segment as retransmitted exactly when it starts below the highest sequence sent (property)', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 0xffffffff }),
        fc.array(fc.tuple(fc.nat({ max: 20_000 }), fc.nat({ max: 1500 })), { minLength: 1, maxLength: 40 }),
        (isn, sends) => {
          const events: HostEvent[] = [
            { type: 'segment', socket: 1, direction: 'out', segment: segment({ flags: TcpFlag.SYN, seq: isn }), at: 0 },
            ...sends.map(([offset, length], i): HostEvent => ({
              type: 'segment',
              socket: 1,
              direction: 'out',
              segment: segment({ seq: (isn + 1 + offset) >>> 0, payload: new Uint8Array(length) }),
              at: i + 1,
            })),
          ];
          const timeline = buildTimeline(events);
          // The model, in offsets from the ISN where nothing wraps.
          let highest = 1;
          sends.forEach(([offset, length], i) => {
            const step = timeline.steps[i + 1]!;
            expect(step.retransmission).toBe(length > 0 && 1 + offset < highest);
            expect(step.segment!.relativeSeq).toBe(1 + offset);
            if (length > 0) highest = Math.max(highest, 1 + offset + length);
          });
          expect(timeline.sent.data.filter((d) => !d.retransmission).every((d) => d.end <= highest)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('segmentSummary', () => {
  it('writes flags, numbers and options in one line', () => {
    expect(
      segmentSummary(
        segment({
          flags: TcpFlag.SYN | TcpFlag.ACK,
          seq: 1,
          ack: 2,
          window: 3,
          options: { mss: 1460, windowScale: 7, sackPermitted: true, timestamps: { value: 1, echo: 0 } },
        }),
      ),
    ).toBe('SYN,ACK seq=1 ack=2 win=3 len=0 <mss 1460,ws 7,sackOK,TS>');
    expect(
      segmentSummary(
        segment({ flags: TcpFlag.PSH | TcpFlag.ACK, seq: 5, ack: 6, window: 7, payload: new Uint8Array(9), options: { sack: [{ left: 10, right: 20 }] } }),
      ),
    ).toBe('PSH,ACK seq=5 ack=6 win=7 len=9 <sack 10-20>');
    expect(segmentSummary(segment({ flags: TcpFlag.RST, seq: 4 }))).toBe('RST seq=4 win=1000 len=0');
  });
});

describe('sampleMetrics', () => {
  const connection: ConnectionMetricsSource = {
    congestionWindow: 14_600,
    slowStartThreshold: Number.POSITIVE_INFINITY,
    smoothedRtt: undefined,
    retransmissionTimeout: 1000,
    flightSize: 2920,
  };
  const provider = { connectionOf: (socket: number) => (socket === 1 ? connection : undefined) };

  it('reads the connection and writes unbounded or unknown values as null', () => {
    expect(sampleMetrics(provider, 1, 42)).toEqual({ at: 42, cwnd: 14_600, ssthresh: null, srtt: null, rto: 1000, flight: 2920 });
    expect(sampleMetrics(provider, 2, 42)).toBeUndefined();
  });

  it('samples for segment events only', () => {
    const seg: HostEvent = { type: 'segment', socket: 1, direction: 'in', segment: segment({}), at: 3 };
    expect(observeEvent(provider, seg).metrics?.at).toBe(3);
    expect(observeEvent(provider, { type: 'connected', socket: 1 }).metrics).toBeUndefined();
  });
});
