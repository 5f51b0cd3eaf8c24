import fc from 'fast-check';
import {
  type CongestionAlgorithm,
  type Connection,
  type TcpSegment,
  TcpFlag,
  seqAdd,
  seqDiff,
  seqGe,
  seqGt,
} from '@tcpts/core';
import { describe, expect, it } from 'vitest';
import type { LinkFaults } from '../faults.js';
import type { MockSocket } from '../socket.js';
import { IP_B, createPair, describeRun, firstDifference, patternBytes, fastCheckReplay } from './testing.js';

/**
 * Congestion control invariants over whole transfers between two hosts of the
 * core on a faulty link, for NewReno and CUBIC, with and without SACK and
 * timestamps. The sender's Connection is watched at four grains:
 *
 * - after every simulation step (through `host.connectionOf`): cwnd ≥ 1 SMSS
 *   (RFC 5681 §3.1: the loss window is the floor) and ssthresh ≥ 2·SMSS once
 *   finite (RFC 5681 eq. (4); RFC 9438 §4.6 keeps the same floor);
 * - at every ACK it processes: cwnd grows by at most the bytes that ACK newly
 *   acknowledges plus one SMSS (RFC 5681 §3.1 with RFC 3465 §2.2: slow start
 *   adds min(N, L·SMSS) ≤ N; congestion avoidance about one SMSS per RTT; fast
 *   recovery one SMSS per duplicate, RFC 5681 §3.2 step 4, RFC 6582 step 5).
 *   Two ACKs get the window the RFCs prescribe for them instead: the one that
 *   starts fast recovery, cwnd ≤ ssthresh + 3·SMSS (RFC 5681 §3.2 step 3),
 *   with ssthresh ≤ max(β·FlightSize, 2·SMSS) (β = ½ for Reno, 0.7 for
 *   CUBIC); and the one that ends it, cwnd ≤ ssthresh (RFC 6582 §3.2 step 6;
 *   RFC 6675 keeps cwnd = ssthresh);
 * - at every transmission that raises SND.MAX outside fast recovery: flight
 *   size ≤ min(cwnd + limited transmit, peer window) + 1 SMSS. Checked when
 *   data leaves rather than at every step, because a timeout (RFC 5681 §3.1)
 *   or the end of recovery (RFC 6582 step 6) may leave cwnd below what is
 *   already in flight: the rule bounds what the sender puts out. Limited
 *   transmit (RFC 3042) allows one SMSS past cwnd for each of the first two
 *   duplicate ACKs; the peer window is the largest it ever offered, an upper
 *   bound of SND.WND.
 * - at every retransmission timeout: cwnd = 1 SMSS (the loss window), and
 *   ssthresh ≤ max(its previous value, β·FlightSize, 2·SMSS).
 */

const PORT = 5002;
const MAX_PAYLOAD = 300_000;
const VIRTUAL_TIME_LIMIT = 30 * 60_000;
const STEP_LIMIT = 400_000;
/** RFC 7323 §3.2: the timestamps option with its padding. */
const TIMESTAMPS_SPACE = 12;
const DEFAULT_MSS = 1460;

interface CongestionCase {
  readonly algorithm: CongestionAlgorithm;
  readonly sack: boolean;
  readonly timestamps: boolean;
  readonly bytes: number;
  /** Percent of frames lost, and held back to be overtaken. */
  readonly lossPercent: number;
  readonly reorderPercent: number;
  /** Milliseconds. */
  readonly delay: number;
  readonly jitter: number;
  /** A bottleneck in bytes per ms with a tail-drop queue, or none. */
  readonly bottleneck: { readonly bandwidth: number; readonly queueLimit: number } | null;
  /** The receiver's buffer: bounds the window it offers. */
  readonly receiveBuffer: number;
  /** Bytes per ms the receiving application reads; null reads at once. */
  readonly readRate: number | null;
  readonly seed: number;
}

const toLinkFaults = (c: CongestionCase): LinkFaults => ({
  loss: c.lossPercent / 100,
  reorder: c.reorderPercent / 100,
  reorderDelay: 3,
  delay: c.delay,
  jitter: c.jitter,
  ...(c.bottleneck !== null ? c.bottleneck : {}),
});

/** β of the multiplicative decrease: RFC 5681 eq. (4), RFC 9438 §4.6. */
const decreaseFactor = (algorithm: CongestionAlgorithm): number => (algorithm === 'cubic' ? 0.7 : 0.5);

/** A reading of the sender's congestion state, taken through its public getters. */
interface Reading {
  readonly cwnd: number;
  readonly ssthresh: number;
  readonly flight: number;
  readonly fastRetransmits: number;
  readonly timeouts: number;
  readonly synchronized: boolean;
}

const read = (connection: Connection): Reading => ({
  cwnd: connection.congestionWindow,
  ssthresh: connection.slowStartThreshold,
  flight: connection.flightSize,
  fastRetransmits: connection.stats.fastRetransmits,
  timeouts: connection.stats.timeouts,
  synchronized: connection.isSynchronizedState,
});

/** Sequence space a segment occupies: SYN and FIN count one each (RFC 9293 §3.4). */
const segmentEnd = (segment: TcpSegment): number =>
  seqAdd(
    segment.seq,
    segment.payload.length + (segment.flags & TcpFlag.SYN ? 1 : 0) + (segment.flags & TcpFlag.FIN ? 1 : 0),
  );

/**
 * Watches one sending Connection: wraps its segment, timer and transmit entry
 * points on the instance (the host calls them there) and checks the rules
 * above around each call. `fail` gets a description of the first breach.
 */
class CongestionWatch {
  /** SND.MAX as seen on the wire. */
  private highestSent: number | undefined;
  private recoveryPoint: number | undefined;
  private windowShift = 0;
  private largestPeerWindow = 0;
  private duplicatesSinceAdvance = 0;
  acksChecked = 0;
  sendsChecked = 0;
  private probesSeen = 0;
  recoveries = 0;

  constructor(
    private readonly connection: Connection,
    private readonly smss: number,
    private readonly beta: number,
    private readonly fail: (what: string) => never,
  ) {
    const handleSegment = connection.handleSegment.bind(connection);
    connection.handleSegment = (segment, now) => {
      const before = read(connection);
      handleSegment(segment, now);
      this.afterSegment(segment, before, read(connection));
    };
    const handleTimeout = connection.handleTimeout.bind(connection);
    connection.handleTimeout = (now) => {
      const before = read(connection);
      handleTimeout(now);
      this.afterTimeout(before, read(connection));
    };
    const pollSegment = connection.pollSegment.bind(connection);
    connection.pollSegment = (now) => {
      const segment = pollSegment(now);
      if (segment !== undefined) this.afterSend(segment);
      return segment;
    };
  }

  /** What the test reads after every simulation step. */
  sample(connection: Connection | undefined): void {
    if (connection === undefined) return;
    if (connection !== this.connection) this.fail('the host swapped the connection behind the socket');
    const now = read(connection);
    if (!now.synchronized) return;
    if (now.cwnd < this.smss) this.fail(`cwnd ${now.cwnd} < 1 SMSS (${this.smss})`);
    if (Number.isFinite(now.ssthresh) && now.ssthresh < 2 * this.smss) {
      this.fail(`ssthresh ${now.ssthresh} < 2 SMSS (${2 * this.smss})`);
    }
  }

  private get sndUna(): number | undefined {
    return this.highestSent === undefined ? undefined : seqAdd(this.highestSent, -this.connection.flightSize);
  }

  private afterSegment(segment: TcpSegment, before: Reading, after: Reading): void {
    if (segment.flags & TcpFlag.SYN) {
      // RFC 7323 §2.2: the SYN,ACK's window is not scaled; its option sets the shift of all later ones.
      this.windowShift = Math.min(segment.options.windowScale ?? 0, 14);
      this.largestPeerWindow = Math.max(this.largestPeerWindow, segment.window);
      return;
    }
    if (segment.flags & TcpFlag.RST) return;
    this.largestPeerWindow = Math.max(this.largestPeerWindow, segment.window * 2 ** this.windowShift);
    if (!before.synchronized || !after.synchronized) return;
    this.acksChecked++;
    const acked = before.flight - after.flight;
    if (acked < 0) this.fail(`flight grew from ${before.flight} to ${after.flight} on an ACK`);
    if (acked > 0) this.duplicatesSinceAdvance = 0;
    else if (segment.payload.length === 0 && !(segment.flags & TcpFlag.FIN) && before.flight > 0) this.duplicatesSinceAdvance++;

    const describe = (): string =>
      `cwnd ${before.cwnd} → ${after.cwnd}, ssthresh ${before.ssthresh} → ${after.ssthresh}, ` +
      `flight ${before.flight} → ${after.flight}, ${acked} bytes newly acknowledged`;
    if (after.timeouts !== before.timeouts) this.fail(`a timeout inside segment processing: ${describe()}`);
    if (after.fastRetransmits > before.fastRetransmits) return this.enteredRecovery(before, after, describe);
    const una = this.sndUna;
    if (this.recoveryPoint !== undefined && una !== undefined && seqGe(una, this.recoveryPoint)) {
      // The ACK of the recovery point: RFC 6582 §3.2 step 6.
      this.recoveryPoint = undefined;
      if (after.cwnd > after.ssthresh) this.fail(`cwnd above ssthresh on leaving recovery: ${describe()}`);
      return;
    }
    if (after.cwnd - before.cwnd > acked + this.smss) this.fail(`cwnd grew by more than the bytes acknowledged + 1 SMSS: ${describe()}`);
  }

  /** Fast retransmit: RFC 5681 §3.2 steps 2 and 3. */
  private enteredRecovery(before: Reading, after: Reading, describe: () => string): void {
    this.recoveries++;
    this.recoveryPoint = this.highestSent;
    const ceiling = Math.max(this.beta * before.flight, 2 * this.smss);
    if (after.ssthresh > ceiling + 1) this.fail(`ssthresh above max(β·FlightSize, 2·SMSS) = ${ceiling} on entering recovery: ${describe()}`);
    // +1: windows are kept as fractions and read rounded down, each on its own.
    if (after.cwnd > after.ssthresh + 3 * this.smss + 1) this.fail(`cwnd above ssthresh + 3·SMSS on entering recovery: ${describe()}`);
  }

  private afterTimeout(before: Reading, after: Reading): void {
    // RACK's reordering timer (RFC 8985 §6.3) may find a loss and start fast recovery.
    if (after.timeouts === before.timeouts && after.fastRetransmits > before.fastRetransmits) {
      const describe = (): string => `on RACK's timer: cwnd ${before.cwnd} → ${after.cwnd}, ssthresh ${before.ssthresh} → ${after.ssthresh}`;
      return this.enteredRecovery(before, after, describe);
    }
    if (after.timeouts === before.timeouts) {
      // Delayed ACK, persist or keep-alive timers: none of them opens the window.
      if (after.cwnd > before.cwnd) this.fail(`cwnd grew on a timer from ${before.cwnd} to ${after.cwnd}`);
      return;
    }
    // RFC 6298 §5 and RFC 5681 §3.1: the loss window; a timeout also ends fast recovery.
    this.recoveryPoint = undefined;
    if (!after.synchronized) return;
    if (after.cwnd !== this.smss) this.fail(`cwnd ${after.cwnd} after a retransmission timeout, not 1 SMSS`);
    const ceiling = Math.max(before.ssthresh, this.beta * before.flight, 2 * this.smss);
    if (after.ssthresh > ceiling + 1) this.fail(`ssthresh ${after.ssthresh} above ${ceiling} after a timeout`);
  }

  private afterSend(segment: TcpSegment): void {
    if (segment.flags & TcpFlag.RST) return;
    const end = segmentEnd(segment);
    const raises = this.highestSent === undefined || seqGt(end, this.highestSent);
    if (!raises) return;
    this.highestSent = end;
    const now = read(this.connection);
    // RFC 8985 §7.3: a tail loss probe goes out whatever cwnd says, one segment at a time.
    const probes = this.connection.stats.tailLossProbes;
    const isProbe = probes > this.probesSeen;
    this.probesSeen = probes;
    if (!now.synchronized || this.recoveryPoint !== undefined || isProbe) return;
    this.sendsChecked++;
    const limitedTransmit = Math.min(this.duplicatesSinceAdvance, 2) * this.smss;
    const allowed = Math.min(now.cwnd + limitedTransmit, this.largestPeerWindow) + this.smss + (segment.flags & TcpFlag.FIN ? 1 : 0);
    if (now.flight > allowed) {
      this.fail(
        `flight ${now.flight} > min(cwnd ${now.cwnd} + ${limitedTransmit}, peer window ${this.largestPeerWindow}) + 1 SMSS ` +
          `after sending ${seqDiff(end, segment.seq)} bytes`,
      );
    }
  }
}

interface RunSummary {
  readonly watch: CongestionWatch;
  readonly retransmissions: number;
}

/** One transfer a → b under `c`; throws with the case, the breach and the trace tail. */
const runCase = (c: CongestionCase, tamper?: (connection: Connection) => void): RunSummary => {
  const { sim, hostA, a, b } = createPair({
    seed: c.seed,
    faults: toLinkFaults(c),
    tcp: { congestion: c.algorithm, sack: c.sack, timestamps: c.timestamps, maxSynRetransmissions: 12 },
    tcpB: { receiveBufferSize: c.receiveBuffer },
    knownNeighbours: true,
    traceLimit: 200,
  });
  const fail = (what: string): never => {
    throw new Error(`${what}\ncase ${JSON.stringify(c)}\n${describeRun(sim, 30)}`);
  };
  const payload = patternBytes(c.bytes, c.seed);
  let receiver: MockSocket | undefined;
  b.listen(PORT, (socket) => {
    receiver = socket;
    if (c.readRate !== null) socket.readRate = c.readRate;
  });
  const sender = a.connect(IP_B, PORT);
  const connection = hostA.connectionOf(sender.id);
  if (connection === undefined) return fail('no connection behind the new socket');
  tamper?.(connection);
  const smss = DEFAULT_MSS - (c.timestamps ? TIMESTAMPS_SPACE : 0);
  const watch = new CongestionWatch(connection, smss, decreaseFactor(c.algorithm), fail);
  sender.write(payload);

  // Delivered, and the sender has heard every ACK it is going to act on.
  const delivered = () => receiver !== undefined && receiver.bytesReceived >= payload.length && connection.flightSize === 0;
  const result = sim.run({
    until: () => {
      watch.sample(hostA.connectionOf(sender.id));
      return delivered();
    },
    maxTime: VIRTUAL_TIME_LIMIT,
    maxSteps: STEP_LIMIT,
  });
  if (result.reason !== 'until') {
    fail(
      `not delivered and acknowledged (stopped by ${result.reason}): ${receiver?.bytesReceived ?? 0}/${payload.length} bytes ` +
        `received; sender ${connection.state}, flight ${connection.flightSize}, queued ${connection.sendQueueLength}, ` +
        `error ${sender.error ?? 'none'}, ${JSON.stringify(connection.stats)}`,
    );
  }
  if (sender.error !== undefined) fail(`sender error ${sender.error}`);
  const difference = firstDifference(receiver!.received(), payload);
  if (difference >= 0) fail(`bytes differ from offset ${difference}`);
  return { watch, retransmissions: connection.stats.retransmissions };
};

const congestionCase: fc.Arbitrary<CongestionCase> = fc.record({
  algorithm: fc.constantFrom<CongestionAlgorithm>('newreno', 'cubic'),
  sack: fc.boolean(),
  timestamps: fc.boolean(),
  bytes: fc.integer({ min: 1, max: MAX_PAYLOAD }),
  lossPercent: fc.integer({ min: 0, max: 10 }),
  reorderPercent: fc.integer({ min: 0, max: 20 }),
  delay: fc.integer({ min: 1, max: 50 }),
  jitter: fc.integer({ min: 0, max: 10 }),
  bottleneck: fc.option(
    fc.record({ bandwidth: fc.integer({ min: 500, max: 12_500 }), queueLimit: fc.integer({ min: 8_000, max: 64_000 }) }),
    { nil: null },
  ),
  receiveBuffer: fc.constantFrom(8 * 1024, 64 * 1024, 4 * 1024 * 1024),
  readRate: fc.option(fc.integer({ min: 50, max: 5_000 }), { nil: null }),
  seed: fc.integer({ min: 0, max: 0x7fff_ffff }),
});


describe('congestion control invariants over a faulty link', () => {
  it('for any loss up to 10%, reordering, delay, bottleneck, seed and both algorithms: bytes intact, windows within the RFCs', () => {
    fc.assert(
      fc.property(congestionCase, (c) => {
        const { watch } = runCase(c);
        // The watch saw the run: every delivered byte needed at least one ACK and one send.
        expect(watch.acksChecked).toBeGreaterThan(0);
        expect(watch.sendsChecked).toBeGreaterThan(0);
      }),
      { numRuns: 100, ...fastCheckReplay() },
    );
  });

  it('exercises recovery and timeouts: a lossy bulk transfer with each algorithm', () => {
    for (const algorithm of ['newreno', 'cubic'] as const) {
      for (const sack of [true, false]) {
        const { watch, retransmissions } = runCase({
          algorithm,
          sack,
          timestamps: true,
          bytes: MAX_PAYLOAD,
          lossPercent: 5,
          reorderPercent: 5,
          delay: 20,
          jitter: 2,
          bottleneck: { bandwidth: 2_500, queueLimit: 30_000 },
          receiveBuffer: 4 * 1024 * 1024,
          readRate: null,
          seed: 11,
        });
        expect(retransmissions).toBeGreaterThan(0);
        expect(watch.recoveries).toBeGreaterThan(0);
        expect(watch.acksChecked).toBeGreaterThan(100);
      }
    }
  });

  it('retransmits the last segment after its window update was overtaken by an older, smaller one', () => {
    // Found by the property: the final 953 bytes are lost, and the receiver's two window updates
    // (952, then 8192 bytes) arrive in the wrong order, so SND.WND stays one byte short of the
    // segment. The retransmission timer must still get data or a probe out (RFC 6298 §5.4,
    // RFC 9293 §3.8.6.1) instead of firing in silence until the connection gives up.
    runCase({
      algorithm: 'newreno',
      sack: false,
      timestamps: true,
      bytes: 103_761,
      lossPercent: 6,
      reorderPercent: 2,
      delay: 1,
      jitter: 1,
      bottleneck: { bandwidth: 8_872, queueLimit: 8_000 },
      receiveBuffer: 8192,
      readRate: null,
      seed: 27,
    });
  });

  it('fails loudly, naming the case, when the window grows faster than the ACKs allow', () => {
    // The checker itself must be able to fail: from the 5th ACK on, each ACK appears to open the
    // window by ten more segments than it did.
    const tamper = (connection: Connection): void => {
      const real = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(connection), 'congestionWindow')!.get!;
      const handleSegment = connection.handleSegment.bind(connection);
      let acks = 0;
      connection.handleSegment = (segment, now) => {
        handleSegment(segment, now);
        acks++;
      };
      Object.defineProperty(connection, 'congestionWindow', {
        get: () => (real.call(connection) as number) + Math.max(acks - 5, 0) * 10 * DEFAULT_MSS,
      });
    };
    const clean: CongestionCase = {
      algorithm: 'newreno',
      sack: true,
      timestamps: true,
      bytes: 100_000,
      lossPercent: 0,
      reorderPercent: 0,
      delay: 10,
      jitter: 0,
      bottleneck: null,
      receiveBuffer: 4 * 1024 * 1024,
      readRate: null,
      seed: 3,
    };
    expect(() => runCase(clean)).not.toThrow();
    expect(() => runCase(clean, tamper)).toThrow(/cwnd grew by more than the bytes acknowledged \+ 1 SMSS[\s\S]*"seed":3/);
  });
});
