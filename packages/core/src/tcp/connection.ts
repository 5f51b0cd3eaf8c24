import { type Actor, type AnyMachineSnapshot, createActor, type InspectionEvent } from 'xstate';
import { type SackBlock, type TcpOptions, type TcpSegment, type TcpTimestamps, TcpFlag } from '../wire/tcp-types.js';
import type { TcpConfig } from './config.js';
import { type CongestionAlgorithm, type CongestionControl, createCongestionControl } from './congestion.js';
import type { ConnectionEvent, ConnectionFailure, ConnectionInput, ConnectionOutput } from './events.js';
import { TCP_MACHINE_ACTIONS, type TcpMachineAction, type TcpMachineEvent, type TcpState, tcpMachine } from './machine.js';
import { Rack } from './rack.js';
import { Reassembler } from './reassembly.js';
import { RttEstimator } from './rtt.js';
import { SackScoreboard } from './sack-scoreboard.js';
import { SendBuffer } from './send-buffer.js';
import { type SendRecord, SendTimes } from './send-times.js';
import { Fifo } from '../stack/fifo.js';
import { SackCompression } from './sack-compression.js';
import { seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt, seqMax, seqMin } from './seq.js';
import { isAcceptableSegment, segmentLength } from './acceptability.js';
import { urgentEndOffset, urgentPointerFor } from './urgent.js';
import { windowScaleFor } from './window.js';

export interface ConnectionParams {
  readonly localPort: number;
  /** 0 while unknown (a passive open learns it from the SYN). */
  readonly remotePort: number;
  /** Initial send sequence number: an input (RFC 6528 is computed by the host). */
  readonly iss: number;
  readonly config: TcpConfig;
  /** Observes the machine's actor (e.g. the XState inspector's `inspect`). */
  readonly inspect?: (event: InspectionEvent) => void;
  /** The path's MTU where an earlier connection to the same host learned it (RFC 1191 §5): segments fit it from the start. */
  readonly pathMtu?: number;
  /**
   * The caller takes every event before the next input, and copies what a
   * 'data' event carries (the host does both): bytes that waited in the
   * reassembly queue then come as views of its storage, valid until the next
   * input, instead of as copies.
   */
  readonly takesDataAtOnce?: boolean;
}

/** RFC 9293 §3.7.1: the MSS assumed when the peer sends no MSS option. */
const DEFAULT_PEER_MSS = 536;
const NO_OPTIONS: TcpOptions = Object.freeze({});

/**
 * `options` with `timestamps` added, spelled out rather than spread: V8 reads
 * the objects `{ ...options, timestamps }` makes far more slowly where they are
 * encoded (writeTcpOptions took about 1 µs for each against 50 ns for a literal
 * of the same fields), and under loss nearly every ACK carries SACK blocks.
 */
const withTimestamps = (options: TcpOptions, timestamps: TcpTimestamps): TcpOptions =>
  options.mss === undefined && options.windowScale === undefined && options.sackPermitted === undefined
    ? { sack: options.sack, timestamps }
    : { mss: options.mss, windowScale: options.windowScale, sackPermitted: options.sackPermitted, sack: options.sack, timestamps };
const EMPTY = new Uint8Array(0);
/** RFC 5681 §3.2: the duplicate ACK threshold for fast retransmit. */
const DUPACK_THRESHOLD = 3;
/** RFC 8985 §7.2: the probe timeout without an RTT sample, and the worst-case delayed ACK (WCDelAckT), ms. */
const PTO_WITHOUT_RTT = 1000;
const WORST_CASE_DELAYED_ACK = 200;
const MIN_PTO = 10;
const earliest = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined ? b : b === undefined || a <= b ? a : b;

const seqDiffTs = (a: number, b: number): number => (a - b) | 0;

/** RFC 7323 §3.2: the timestamps option takes 10 bytes, 12 with its padding, in every segment. */
const TIMESTAMPS_OPTION_SPACE = 12;
/** IPv4 and TCP headers without options: what an MTU holds besides a segment's options and data. */
const IPV4_TCP_HEADERS = 40;
/** RFC 1122 §3.3.3: every host takes datagrams of 576 bytes; path MTU discovery goes no lower (RFC 5927 §7). */
const MIN_PATH_MTU = 576;
/** RFC 4821 §7.2's initial search floor: a path MTU likely to work almost anywhere. */
const BLACK_HOLE_PATH_MTU = 1024;
/** RFC 6298 §5.7: the RTO data starts with after a SYN timed out. */
const RTO_AFTER_SYN_TIMEOUT = 3000;
/** Timeouts in a row, nothing acknowledged, that make a black hole likely (Linux's tcp_retries1). */
const BLACK_HOLE_TIMEOUTS = 3;
/**
 * RFC 1191 §6.3: an estimate below the first hop's is raised again after a
 * while (at least 5 minutes, 10 recommended), for paths change; the host
 * forgets what it learned of the destination after as long.
 */
export const PATH_MTU_RAISE_INTERVAL = 10 * 60_000;

/** An ICMP error as the host hands it to a connection: its kind, the quoted sequence number, and for a packet too big, the path's MTU. */
export type IcmpReport =
  | { readonly kind: 'soft' | 'hard'; readonly seq: number }
  | { readonly kind: 'packet-too-big'; readonly seq: number; readonly mtu: number };

/**
 * Segments of one batch of arrivals per ACK. A batch is what arrived while we
 * were busy, and its ACKs all leave together when it has been processed: at
 * least every second segment still gets acknowledged as soon as we can (RFC
 * 5681 §4.2, RFC 9293 §3.8.6.3), and a lone segment still waits for its pair
 * or the delayed-ACK timer, but within a batch one ACK per eight segments
 * tells the sender as much as four would, except to a sender that grows its
 * window by at most two segments per ACK (RFC 3465), which grows more slowly
 * through a batch (Linux counts segments, not ACKs). Each ACK costs us a frame
 * and its send(), and on a veth pair that send() runs the peer's processing of
 * the ACK too. Reads of the ring from a CUBIC server through 1% loss hold 8–31
 * segments; one ACK per two of them cost 29,600 ACKs for a 100 MB download,
 * against 6,000–11,000 from the kernel's receiver (which acknowledges when the
 * application reads). Medians of 8–12, rotating: through 1% loss from
 * CUBIC, 100 MB 132 -> 163, 125 -> 142 and 130 -> 148 MB/s (10,600 ACKs),
 * 10 MB 86 -> 106; from BBR, 100 MB 248 -> 259; without loss, 100 MB 292 ->
 * 310, 10 MB 208 -> 234. Four was between; sixteen the same at 100 MB,
 * slower at 10 MB without loss. Over io-mock without a link rate, where each
 * window arrives at one instant, our own sender (RFC 3465) did a tenth worse
 * at 20 ms and 1% loss; at 100 Mbit/s segments arrive one by one, and nothing
 * changes.
 */
const ACK_POINT_SPACING = 8;
/**
 * Bound on the ACKs one batch of arrivals produces; beyond it ACKs stretch
 * further. Only a receiver that has fallen far behind reads batches of
 * hundreds of segments, and there each ACK is CPU it lacks, while ACKs sent at
 * the same instant tell a sender nothing one of them does not, but to grow its
 * window. Over the packet ring (then with one ACK per two segments), twelve
 * fresh downloads each in rotating order, medians from 64 to 16: 10 MB 184 ->
 * 220 MB/s, 100 MB 294 -> 329 (whole-machine CPU 270 -> 230 and 780 -> 710
 * ms); 8 and 32 were between.
 */
const MAX_ACK_POINTS = 16;
/** Bound on the out-of-order arrivals of one batch whose ACKs each put their own block first. */
const MAX_SACK_TRIGGERS = 64;
/** Bound on the duplicates below RCV.NXT of one batch reported in ACKs of their own. */
const MAX_DUPLICATE_REPORTS = 16;

/**
 * Out-of-order data that arrived in the current batch, waiting for its
 * duplicate ACKs: [seq, end), and how many ACKs (one per segment) still owe
 * its block the first place (RFC 2018 §4).
 */
interface SackTrigger {
  readonly seq: number;
  end: number;
  acks: number;
  /** RCV.NXT when it came: its ACKs carry that number. */
  ack: number;
  /** Its place among the batch's ACKs (`ackOrder`): they leave in the order their segments came. */
  order: number;
  /**
   * The SACK blocks of the held runs right after it was inserted, its own run
   * first: its ACKs report the queue as it was then (see `takeTriggerAck`).
   */
  blocks: readonly SackBlock[];
  /** Held data received again: its first ACK reports it as a D-SACK block (RFC 2883 §4.2). */
  duplicate?: SackBlock | undefined;
}

/**
 * The machine with its actions bound to a collector: an arc's actions are
 * gathered while the actor takes the event, then carried out by the
 * connection. (A long-lived actor takes an event in ~10 µs; the stateless
 * `transition()` rebuilds an actor scope per call and costs 10–25× more.)
 */
let collecting: TcpMachineAction[] | undefined;
const collectingMachine = tcpMachine.provide({
  actions: Object.fromEntries(
    TCP_MACHINE_ACTIONS.map((name) => [name, () => void collecting?.push(name)]),
  ) as Record<TcpMachineAction, () => void>,
});
type TcpActor = Actor<typeof collectingMachine>;

/**
 * One TCP connection: the transmission control block of RFC 9293 §3.3.1 and
 * the event processing of §3.10, sans I/O.
 *
 * Which state the connection is in is decided by the XState machine
 * (machine.ts), run as one long-lived actor that is sent an event whenever a
 * segment, a user call or a timeout is an arc of the state diagram; everything that
 * happens within a state (sequence arithmetic, windows, retransmission,
 * reassembly) is plain code here, so bulk data is not bound by the machine.
 *
 * Inputs come through methods (or `step`); outputs are pulled: `pollSegment`
 * for segments to send (generated lazily, so a batch of arrivals is
 * acknowledged once), `pollEvent` for user events, `nextDeadline` for timers.
 * Given the same inputs in the same order, it produces the same outputs.
 */
export class Connection {
  readonly localPort: number;
  remotePort: number;
  private readonly config: TcpConfig;
  private readonly takesDataAtOnce: boolean;
  private readonly algorithm: CongestionAlgorithm;

  private readonly actor: TcpActor;
  private stateName: TcpState = 'CLOSED';
  private readonly events = new Fifo<ConnectionEvent>();
  private now = 0;

  // Send sequence variables (§3.3.1, Figure 3)
  private readonly iss: number;
  private sndUna: number;
  private sndNxt: number;
  /** The highest sequence number sent so far (sndNxt moves back on a retransmission timeout). */
  private sndMax: number;
  private sndWnd = 0;
  private sndWl1 = 0;
  private sndWl2 = 0;
  private maxSndWnd = 0;
  private sndShift = 0;
  private sendMss: number;
  private readonly sendBuffer: SendBuffer;
  /** Sequence number of the first byte in `sendBuffer`. */
  private bufferSeq: number;
  private writableWanted = false;
  /** SND.UP (§3.3.1): the sequence number following our urgent data, while that is unacknowledged. */
  private sndUp: number | undefined;

  // Receive sequence variables
  private irs = 0;
  private rcvNxt = 0;
  private rcvShift = 0;
  /** The peer's SYN carried a window scale option: ours may go in the SYN,ACK (RFC 7323 §1.3). */
  private offeredScaleSeen = false;
  /** The peer's SYN arrived: ours goes out as SYN,ACK. */
  private peerSynSeen = false;
  /** The window our SYN offered, unscaled: the right edge once RCV.NXT is known. */
  private synWindow = 0;
  /** RCV.NXT + RCV.WND as last advertised; never moved left (§3.8.6.2.2). */
  private rcvRightEdge = 0;
  /** Delivered to the user but not yet consumed: occupies the receive buffer. */
  private unconsumed = 0;
  private readonly reassembly: Reassembler;
  /** Sequence number of a FIN that arrived ahead of missing data. */
  private pendingFinSeq: number | undefined;
  private finReceived = false;
  /** In-order bytes delivered so far: the stream offset of RCV.NXT (offsets do not wrap). */
  private deliveredBytes = 0;
  /** RCV.UP (§3.3.1) as a stream offset: where the peer's urgent data ends; 0 before any. */
  private urgentEnd = 0;

  // What to send next
  private synPending = false;
  private ackNow = false;
  private segmentsUnacked = 0;
  /** The size of the segments merged into the one being processed (`handleSegment`'s `segmentSize`); 0 for one segment. */
  private arrivalSegmentSize = 0;
  /**
   * ACK numbers owed within a batch, one per ACK_POINT_SPACING segments (the
   * ACK of RCV.NXT answers the rest). Frames that arrive together are answered
   * when polled, with ACKs of their own ACK numbers, so the sender's window
   * grows as it should; and each with the SACK blocks of what had arrived by
   * then (RFC 2018 §4: every ACK while data is held), taken when the point is
   * made: later arrivals of the batch may extend or join those runs, and an
   * ACK that then named a run sent later but not one sent earlier would have
   * the sender take the earlier for lost (RFC 8985 §6.2). `sack` is left out
   * where it cannot be needed (see countForDelayedAck).
   */
  private readonly ackPoints: Array<{ readonly ack: number; readonly sack: TcpOptions | undefined; readonly order: number }> = [];
  /** Counts the ACK points and out-of-order arrivals made: their ACKs leave in this order. */
  private ackOrder = 0;
  private delayedAckAt: number | undefined;
  private rstPending: TcpSegment | undefined;
  private finQueued = false;
  /** Sequence number our FIN occupies, once the user closed. */
  private finSeq: number | undefined;
  /** Retransmit the segment at SND.UNA once (fast retransmit, partial ACK). */
  private retransmitHead = false;
  private probePending = false;

  // Timers (absolute virtual times)
  private rtoAt: number | undefined;
  private persistAt: number | undefined;
  private persistBackoff = 0;
  private timeWaitAt: number | undefined;
  private keepAliveAt: number | undefined;
  private finWait2At: number | undefined;
  private keepAliveProbesSent = 0;
  private keepAlivePending = false;
  private timeoutsInARow = 0;
  /** An ACK took a segment's worth of data at once since the segment size was last set: no black hole for this size. */
  private fullSizedSegmentAcked = false;

  // RTT measurement (RFC 6298 §3, Karn's rule) and congestion control
  private readonly rtt: RttEstimator;
  private timedSeq: number | undefined;
  private timedAt = 0;
  private cc: CongestionControl;
  private duplicateAcks = 0;
  private inRecovery = false;
  private recover: number;

  // Selective acknowledgments (RFC 2018) and SACK-based recovery (RFC 6675)
  private sackPermitted = false;
  private readonly scoreboard = new SackScoreboard();
  /** cwnd − pipe at the last look during SACK recovery: what new data may use. */
  private recoveryBudget = 0;
  /** HighRxt: everything below it was retransmitted in this recovery. */
  private highRxt = 0;

  // RACK-TLP (RFC 8985)
  private readonly sendTimes = new SendTimes();
  private readonly rack = new Rack();
  /** When the first hole not yet lost will count as lost (RACK's reordering timer, §6.3). */
  private rackTimerAt: number | undefined;
  /** The probe timeout (§7.2). */
  private ptoAt: number | undefined;
  private tailProbeDue = false;
  /** TLP.end_seq: SND.MAX after the probe, while its episode lasts (§7.3). */
  private tlpEndSeq: number | undefined;
  /** TLP.is_retrans, and whether a D-SACK (RFC 2883) showed the probe to be a duplicate. */
  private tlpRetransmitted = false;
  private tlpDuplicateReported = false;
  /** Fast recoveries before the probe: one that followed it already answered the loss. */
  private recoveriesBeforeProbe = 0;
  /** The ranges the ACK being processed SACKs for the first time (kept to spare an array per ACK). */
  private readonly newlyHeld: Array<{ start: number; end: number }> = [];
  // Timestamps (RFC 7323 §3–§5)
  private timestampsOn = false;
  /** TS.Recent: the peer's timestamp to echo. */
  private tsRecent = 0;
  /** Last.ACK.sent. */
  private lastAckSent = 0;
  /** Our timestamp clock's offset: derived from the ISS, so it is no input of its own (RFC 7323 §7.1 asks for one per connection). */
  private readonly tsOffset: number;

  /** Our TSval when we last retransmitted: older echoes are ambiguous. */
  private retransmittedAtTs = 0;
  /** TSecr of the ACK being processed. */
  private echoedTimestamp: number | undefined;
  /**
   * Segments received twice below RCV.NXT (and held ones past the bound on a batch's
   * arrivals), each to report in an ACK of its own as a D-SACK block (RFC 2883), as one by
   * one: a batch may bring several.
   */
  private readonly duplicateReports: SackBlock[] = [];
  /** Out-of-order segments each owe the peer one duplicate ACK (RFC 5681 §4.2), even in a batch. */
  private dupAcksOwed = 0;
  /** Which of those go at once, with SACK (see `sack-compression.ts`). */
  private readonly sackCompression = new SackCompression();
  /**
   * The out-of-order arrivals of the batch being answered, oldest first. A
   * batch is answered after all of it was taken, when the reassembly queue may
   * hold more runs than one ACK's SACK option has room for (three beside
   * timestamps): each arrival's ACKs name its own run first, as they would
   * have one by one, so that no run the batch brought goes unreported and the
   * sender does not take its segments for lost.
   */
  private readonly sackTriggers: SackTrigger[] = [];
  /**
   * The path reported a soft error (RFC 9293 §3.9.2.2) since the peer last acknowledged
   * anything: should the connection time out, that is the reason the user is given (SHLD-25).
   */
  private softErrorSeen = false;
  /** The path MTU learned (RFC 1191), when below the link's: every segment size is fitted to it. */
  private pathMtuLimit: number | undefined;
  /** The segment size the peer's MSS and ours allow, before any path MTU: what a raise goes back to. */
  private mssWithoutPathLimit: number;
  /** When the path MTU estimate is tried upward again (`PATH_MTU_RAISE_INTERVAL`). */
  private pathMtuRaiseAt: number | undefined;

  /** Counters for tests, benchmarks and traces. */
  readonly stats = {
    segmentsSent: 0,
    segmentsReceived: 0,
    retransmissions: 0,
    timeouts: 0,
    fastRetransmits: 0,
    tailLossProbes: 0,
    pawsDropped: 0,
    /** ICMP errors taken (RFC 9293 §3.9.2.2), and those ignored for quoting no segment in flight (RFC 5927 §4.1). */
    icmpErrors: 0,
    icmpErrorsIgnored: 0,
    /** Times a "fragmentation needed" made segments smaller (RFC 1191). */
    pathMtuReductions: 0,
    /** Times an estimate below the first hop's was tried upward again (RFC 1191 §6.3). */
    pathMtuRaises: 0,
    /** Path MTU reductions for a suspected black hole (RFC 4821 §7.7). */
    blackHoleReductions: 0,
  };

  constructor(params: ConnectionParams) {
    this.localPort = params.localPort;
    this.remotePort = params.remotePort;
    this.config = params.config;
    this.takesDataAtOnce = params.takesDataAtOnce === true;
    this.algorithm = params.config.congestion;
    this.actor = createActor(collectingMachine, {
      input: { foreignSocketKnown: params.remotePort !== 0 },
      ...(params.inspect ? { inspect: params.inspect } : {}),
    }).start();
    this.iss = params.iss >>> 0;
    if (params.pathMtu !== undefined) this.pathMtuLimit = Math.max(params.pathMtu, MIN_PATH_MTU);
    this.tsOffset = Math.imul(this.iss, 0x9e3779b1) >>> 0;
    this.retransmittedAtTs = this.tsOffset;
    this.sndUna = this.iss;
    this.sndNxt = this.iss;
    this.sndMax = this.iss;
    this.recover = this.iss;
    this.bufferSeq = seqAdd(this.iss, 1);
    this.sendMss = Math.min(DEFAULT_PEER_MSS, this.config.mss);
    this.mssWithoutPathLimit = this.sendMss;
    this.sendBuffer = new SendBuffer(this.config.sendBufferSize);
    this.reassembly = new Reassembler(Math.min(this.config.reassemblyLimit, this.config.receiveBufferSize));
    this.rtt = new RttEstimator({
      initialRto: this.config.initialRto,
      minRto: this.config.minRto,
      maxRto: this.config.maxRto,
    });
    this.cc = createCongestionControl(this.algorithm, this.sendMss, 0, { hystart: params.config.hystart });
  }

  // ---------------------------------------------------------------- queries

  get state(): TcpState {
    return this.stateName;
  }

  /** The machine's snapshot: the source of truth for `state`, for inspection and diagrams. */
  get machineSnapshot(): AnyMachineSnapshot {
    return this.actor.getSnapshot();
  }

  /** Past the handshake: the sender's congestion state means something. */
  get isSynchronizedState(): boolean {
    return this.isSynchronized();
  }

  get congestionWindow(): number {
    return this.cc.cwnd;
  }

  get slowStartThreshold(): number {
    return this.cc.ssthresh;
  }

  get smoothedRtt(): number | undefined {
    return this.rtt.srtt;
  }

  get retransmissionTimeout(): number {
    return this.rtt.rto;
  }

  /** Bytes sent and not yet acknowledged (SND.NXT − SND.UNA). */
  get flightSize(): number {
    return seqDiff(this.sndMax, this.sndUna);
  }

  /** Bytes the user queued that the peer has not acknowledged. */
  get sendQueueLength(): number {
    return this.sendBuffer.length;
  }

  get sendBufferFree(): number {
    return this.isClosingForSend() ? 0 : this.sendBuffer.free;
  }

  nextDeadline(): number | undefined {
    return earliest(
      earliest(earliest(this.rtoAt, this.persistAt), earliest(this.delayedAckAt, this.timeWaitAt)),
      earliest(
        earliest(this.keepAliveAt, this.finWait2At),
        earliest(earliest(this.rackTimerAt, this.ptoAt), earliest(this.pathMtuRaiseAt, this.sackCompression.deadline)),
      ),
    );
  }

  pollEvent(): ConnectionEvent | undefined {
    return this.events.take();
  }

  // ------------------------------------------------------------ user calls

  /** OPEN (§3.10.1). */
  open(mode: 'active' | 'passive', now: number): void {
    this.now = now;
    this.fire(mode === 'active' ? 'OPEN_ACTIVE' : 'OPEN_PASSIVE');
  }

  /**
   * SEND (§3.10.2): returns how many bytes the send buffer accepted. With
   * `urgent`, SND.UP moves to the sequence number following the last byte
   * accepted; the rest, offered again as urgent, moves it further.
   */
  send(data: Uint8Array, now: number, urgent = false): number {
    this.now = now;
    const state = this.stateName;
    if (state === 'LISTEN') this.fire('SEND');
    if (!this.acceptsUserData()) return 0;
    const accepted = this.sendBuffer.append(data);
    if (accepted < data.length) this.writableWanted = true;
    if (urgent && accepted > 0) this.sndUp = seqAdd(this.bufferSeq, this.sendBuffer.length);
    return accepted;
  }

  /** RECEIVE, done (§3.10.3): the user processed `bytes` of delivered data. */
  consume(bytes: number, now: number): void {
    this.now = now;
    this.unconsumed = Math.max(0, this.unconsumed - bytes);
    if (this.isSynchronized() && !this.finReceived && this.windowUpdateWorthSending()) this.ackNow = true;
  }

  /** CLOSE (§3.10.4): FIN after all queued data. */
  close(now: number): void {
    this.now = now;
    this.fire('CLOSE');
  }

  /** ABORT (§3.10.5). */
  abort(now: number): void {
    this.now = now;
    this.fire('ABORT');
  }

  /** Runs the timers that are due at `now` (§3.10.8). */
  handleTimeout(now: number): void {
    this.now = now;
    if (this.timeWaitAt !== undefined && now >= this.timeWaitAt) {
      this.timeWaitAt = undefined;
      this.fire('TIMEOUT_2MSL');
      return;
    }
    if (this.delayedAckAt !== undefined && now >= this.delayedAckAt) {
      this.delayedAckAt = undefined;
      this.ackNow = true;
    }
    if (this.sackCompression.expire(now, this.rcvNxt)) {
      // The folded duplicates' one ACK, with the latest SACK blocks.
      this.dupAcksOwed++;
      this.ackNow = true;
    }
    // A probe due with the RTO goes in its place (RFC 8985 §7.2), and the RTO runs from it.
    if (this.ptoAt !== undefined && now >= this.ptoAt) this.onProbeTimeout(now);
    if (this.rtoAt !== undefined && now >= this.rtoAt) this.onRetransmissionTimeout(now);
    if (this.rackTimerAt !== undefined && now >= this.rackTimerAt) {
      // §6.3: the reordering window has passed; what RACK now finds lost is recovered.
      this.rackTimerAt = undefined;
      this.maybeEnterRecovery();
      this.updateRackTimer();
    }
    if (this.persistAt !== undefined && now >= this.persistAt) {
      // §3.8.6.1: probe a zero window. The probe (an old sequence number) makes the peer answer with its window.
      this.probePending = true;
      this.persistBackoff++;
      this.persistAt = now + Math.min(this.rtt.rto * 2 ** this.persistBackoff, this.config.maxRto);
    }
    if (this.keepAliveAt !== undefined && now >= this.keepAliveAt) this.onKeepAliveTimer(now);
    if (this.pathMtuRaiseAt !== undefined && now >= this.pathMtuRaiseAt) this.raisePathMtu();
    if (this.finWait2At !== undefined && now >= this.finWait2At) {
      this.finWait2At = undefined;
      this.fire('TIMEOUT_USER');
    }
  }

  /** §3.8.4: probe a silent peer with an old sequence number; give up after the configured probes. */
  private onKeepAliveTimer(now: number): void {
    if (this.flightSize > 0 || (this.stateName !== 'ESTABLISHED' && this.stateName !== 'CLOSE-WAIT')) {
      // Retransmissions watch a connection with data outstanding; look again later.
      this.keepAliveAt = now + this.config.keepAliveIdle;
      return;
    }
    if (this.keepAliveProbesSent >= this.config.keepAliveProbes) {
      this.keepAliveAt = undefined;
      this.fire('TIMEOUT_USER');
      return;
    }
    this.keepAliveProbesSent++;
    this.keepAlivePending = true;
    this.keepAliveAt = now + this.config.keepAliveInterval;
  }

  /** Applies any input; a convenience over the methods for recording and replaying runs. */
  step(input: ConnectionInput): ConnectionOutput[] {
    const outputs: ConnectionOutput[] = [];
    switch (input.type) {
      case 'open':
        this.open(input.mode, input.now);
        break;
      case 'send':
        outputs.push({ type: 'accepted', bytes: this.send(input.data, input.now, input.urgent === true) });
        break;
      case 'consume':
        this.consume(input.bytes, input.now);
        break;
      case 'close':
        this.close(input.now);
        break;
      case 'abort':
        this.abort(input.now);
        break;
      case 'segment':
        this.handleSegment(input.segment, input.now, input.segmentSize);
        break;
      case 'tick':
        this.handleTimeout(input.now);
        break;
    }
    for (let segment = this.pollSegment(input.now); segment; segment = this.pollSegment(input.now)) {
      outputs.push({ type: 'transmit', segment });
    }
    for (let event = this.pollEvent(); event; event = this.pollEvent()) outputs.push({ type: 'event', event });
    outputs.push({ type: 'deadline', at: this.nextDeadline() });
    return outputs;
  }

  // ------------------------------------------------------- segment arrives

  /**
   * An ICMP error about a segment of ours (RFC 9293 §3.9.2.2, MUST-48), which the
   * host matched to this connection by the quoted addresses and ports; `seq` is
   * the quoted sequence number. False when it is ignored: it must quote one in
   * flight, as a blind attacker cannot (RFC 5927 §4.1).
   *
   * A hard error before synchronization ends the open, as RST would: the peer's
   * host or the path refuses the port or protocol. Every other error, and a hard
   * one on a synchronized connection, is soft: it never aborts (MUST-56; RFC 5461
   * §4 and RFC 5927 §4.3 on resetting established connections by forged ICMP),
   * and if the connection later times out, it is the reason given. A packet too
   * big for the path lowers the segment size (RFC 1191).
   */
  handleIcmpError(report: IcmpReport, now: number): boolean {
    this.now = now;
    const { seq } = report;
    if (this.stateName === 'CLOSED' || this.stateName === 'LISTEN' || seqLt(seq, this.sndUna) || seqGe(seq, this.sndMax)) {
      this.stats.icmpErrorsIgnored++;
      return false;
    }
    this.stats.icmpErrors++;
    const opening = this.stateName === 'SYN-SENT' || this.stateName === 'SYN-RECEIVED';
    if (report.kind === 'packet-too-big') {
      // Our SYN and SYN,ACK are far below any MTU: a report about one is nonsense, kept as soft.
      if (opening || !this.lowerPathMtu(report.mtu)) this.softErrorSeen = true;
    } else if (report.kind === 'hard' && opening) {
      this.fire('RCV_ICMP_HARD_ERROR');
    } else {
      this.softErrorSeen = true;
    }
    return true;
  }

  /** The largest packet the connection sends: its segments sized to the path MTU RFC 1191 discovers, or less for the peer's MSS. */
  get pathMtu(): number {
    return this.sendMss + this.headerSpace();
  }

  /** What a packet of ours holds besides data: IPv4 and TCP headers, and the timestamps every segment carries. */
  private headerSpace(): number {
    return IPV4_TCP_HEADERS + (this.timestampsOn ? TIMESTAMPS_OPTION_SPACE : 0);
  }

  /**
   * RFC 1191 §6.3–6.5: a router dropped a segment of ours as too big for the next hop.
   * Segments shrink to fit `mtu` (never below RFC 1122's 576, RFC 5927 §7), and what is in
   * flight goes again at once at the new size: it was dropped by a router, not by
   * congestion, so the windows stay as they are. False when `mtu` is no smaller.
   */
  private lowerPathMtu(mtu: number): boolean {
    const pathMtu = Math.max(mtu, MIN_PATH_MTU);
    if (!this.fitSegmentsTo(pathMtu)) return false;
    this.stats.pathMtuReductions++;
    if (seqLt(this.sndUna, this.sndMax)) {
      this.sndNxt = this.sndUna;
      this.retransmitHead = true;
      this.timedSeq = undefined; // Karn: no RTT sample from what is sent again
    }
    return true;
  }

  /**
   * Segments shrink to fit a path MTU of `pathMtu`; false when they fit already.
   * Nothing is known yet of what gets through at the new size.
   */
  private fitSegmentsTo(pathMtu: number): boolean {
    const fitted = pathMtu - this.headerSpace();
    if (fitted >= this.sendMss) return false;
    this.pathMtuLimit = pathMtu;
    this.sendMss = fitted;
    this.cc.onSmssChange(fitted);
    this.fullSizedSegmentAcked = false;
    this.pathMtuRaiseAt = this.now + PATH_MTU_RAISE_INTERVAL;
    return true;
  }

  /**
   * RFC 1191 §6.3: the estimate goes back up to what the peer's MSS allows. A hop
   * that is still narrow says so again (ICMP), or drops the larger segments until
   * black-hole detection shrinks them once more.
   */
  private raisePathMtu(): void {
    this.pathMtuRaiseAt = undefined;
    if (this.pathMtuLimit === undefined || this.mssWithoutPathLimit <= this.sendMss) return;
    this.pathMtuLimit = undefined;
    this.sendMss = this.mssWithoutPathLimit;
    this.cc.onSmssChange(this.sendMss);
    this.fullSizedSegmentAcked = false;
    this.stats.pathMtuRaises++;
    this.emit({ type: 'path-mtu-raised', pathMtu: this.pathMtu });
  }

  /** SEGMENT ARRIVES (§3.10.7). */
  handleSegment(seg: TcpSegment, now: number, segmentSize = 0): void {
    this.now = now;
    this.arrivalSegmentSize = segmentSize;
    this.stats.segmentsReceived += this.segmentsIn(seg.payload.length);
    if (this.keepAliveAt !== undefined) {
      this.keepAliveAt = now + this.config.keepAliveIdle;
      this.keepAliveProbesSent = 0;
    }
    if (this.finWait2At !== undefined) this.finWait2At = now + this.config.finWait2Timeout;
    switch (this.stateName) {
      case 'CLOSED':
        return; // The host answers segments without a connection (§3.10.7.1).
      case 'LISTEN':
        return this.segmentInListen(seg);
      case 'SYN-SENT':
        return this.segmentInSynSent(seg);
      default:
        return this.segmentInSynchronizedStates(seg);
    }
  }

  /** §3.10.7.2 */
  private segmentInListen(seg: TcpSegment): void {
    const { flags } = seg;
    if (flags & TcpFlag.RST) return;
    if (flags & TcpFlag.ACK) {
      this.queueReset(seg.ack, 0, TcpFlag.RST, seg.srcPort);
      return;
    }
    if (!(flags & TcpFlag.SYN)) return;
    this.remotePort = seg.srcPort;
    this.irs = seg.seq;
    this.peerSynSeen = true;
    this.rcvNxt = seqAdd(seg.seq, 1);
    this.acceptSynOptions(seg.options);
    this.sndWnd = seg.window; // never scaled in a SYN (RFC 7323 §2.2)
    this.maxSndWnd = this.sndWnd;
    this.sndWl1 = seg.seq;
    this.fire('RCV_SYN');
    // Text in a SYN is not acknowledged here: the peer sends it again once we are synchronized.
  }

  /** §3.10.7.3 */
  private segmentInSynSent(seg: TcpSegment): void {
    const { flags } = seg;
    const hasAck = (flags & TcpFlag.ACK) !== 0;
    if (hasAck && (seqLe(seg.ack, this.iss) || seqGt(seg.ack, this.sndNxt))) {
      if (!(flags & TcpFlag.RST)) this.queueReset(seg.ack, 0, TcpFlag.RST);
      return;
    }
    if (flags & TcpFlag.RST) {
      if (hasAck) this.fire('RCV_RST'); // "error: connection reset"; without an acceptable ACK, drop
      return;
    }
    if (!(flags & TcpFlag.SYN)) return;
    this.irs = seg.seq;
    this.peerSynSeen = true;
    this.rcvNxt = seqAdd(seg.seq, 1);
    this.rcvRightEdge = seqAdd(this.rcvNxt, this.synWindow);
    this.acceptSynOptions(seg.options);
    this.sndWnd = seg.window;
    this.maxSndWnd = this.sndWnd;
    this.sndWl1 = seg.seq;
    this.sndWl2 = seg.ack;
    if (hasAck) {
      this.acknowledge(seg.ack);
      this.synAcknowledged();
      this.fire('RCV_SYN_ACK');
      // Continue with the URG, text and FIN of the segment (sixth step onwards).
      if (flags & TcpFlag.URG) this.processUrgent(seg);
      this.processText(seqAdd(seg.seq, 1), seg.payload);
      this.processFin(seg);
    } else {
      // Simultaneous open (§3.5): our SYN is answered with SYN,ACK once the peer's SYN is seen.
      this.fire('RCV_SYN');
    }
  }

  /**
   * Our SYN is acknowledged, in SYN-SENT: its round trip is the first RTT
   * measurement (RFC 6298 §2.2), unless it was sent more than once (Karn, §3):
   * then the data starts with an RTO of 3 s (§5.7). Its timeouts and its timer
   * are over, so the data's start afresh. In SYN-RECEIVED the ACK of our
   * SYN,ACK is new data acknowledged, which does the same but for §5.7.
   */
  private synAcknowledged(): void {
    if (this.timedSeq !== undefined && seqGe(this.sndUna, this.timedSeq)) {
      this.rtt.sample(Math.max(this.now - this.timedAt, 0));
      this.timedSeq = undefined;
    }
    if (this.timeoutsInARow > 0) this.rtt.afterSynTimeout(RTO_AFTER_SYN_TIMEOUT);
    else this.rtt.resetBackoff();
    this.timeoutsInARow = 0;
    // RFC 6298 §5.2: nothing is outstanding any more, so the SYN's timer stops (data the SYN
    // carried, or that was queued behind it, starts its own when it is sent).
    if (seqGe(this.sndUna, this.sndMax)) this.rtoAt = undefined;
  }

  /** §3.10.7.4: SYN-RECEIVED and every synchronized state. */
  private segmentInSynchronizedStates(seg: TcpSegment): void {
    const { flags } = seg;
    const rcvWnd = this.receiveWindow();

    // RFC 7323 §5.3: PAWS. A segment whose timestamp is older than TS.Recent is an old duplicate.
    const ts = this.timestampsOn ? seg.options.timestamps : undefined;
    if (ts && !(flags & TcpFlag.RST) && seqLt(ts.value, this.tsRecent)) {
      this.ackNow = true;
      this.stats.pawsDropped++;
      return;
    }

    // First: sequence number acceptability (the four cases of the table).
    if (!isAcceptableSegment(seg.seq, segmentLength(seg), this.rcvNxt, rcvWnd)) {
      if (flags & TcpFlag.RST) return;
      if (flags & TcpFlag.FIN && this.finReceived && seqAdd(seg.seq, seg.payload.length + 1) === this.rcvNxt) {
        // A retransmitted FIN (our ACK of it was lost): acknowledge it again; in TIME-WAIT
        // this restarts the 2 MSL wait (§3.10.7.4, eighth step).
        this.ackFinAgain();
        return;
      }
      // A zero window still accepts valid ACKs (§3.10.7.4 note on RCV.WND = 0).
      if (rcvWnd === 0 && seg.seq === this.rcvNxt && flags & TcpFlag.ACK) this.processAck(seg);
      // RFC 2883: data received twice is reported in the ACK's first SACK block (a D-SACK),
      // which tells the sender that a retransmission, such as a loss probe, was not needed.
      if (this.sackPermitted && seg.payload.length > 0 && seqLe(seqAdd(seg.seq, seg.payload.length), this.rcvNxt)) {
        this.noteDuplicate({ left: seg.seq, right: seqAdd(seg.seq, seg.payload.length) });
      }
      this.ackNow = true;
      return;
    }

    // RFC 7323 §4.3: remember the timestamp to echo, from segments that cover Last.ACK.sent.
    if (ts && seqGe(ts.value, this.tsRecent) && seqLe(seg.seq, this.lastAckSent)) this.tsRecent = ts.value;

    // Second: RST. RFC 5961 §3.2 as adopted by RFC 9293: only an exact RCV.NXT resets; otherwise a challenge ACK.
    if (flags & TcpFlag.RST) {
      if (seg.seq === this.rcvNxt) this.fire('RCV_RST');
      else this.ackNow = true;
      return;
    }

    // Fourth: SYN in a synchronized state gets a challenge ACK (RFC 5961 §4).
    if (flags & TcpFlag.SYN) {
      if (this.stateName === 'SYN-RECEIVED' && this.actor.getSnapshot().context.passive && seg.seq === this.irs) {
        // A retransmission of the SYN we answered: answer it again.
        this.synPending = true;
        return;
      }
      this.ackNow = true;
      return;
    }

    // Fifth: ACK.
    if (!(flags & TcpFlag.ACK)) return;
    let synTimedOut = false;
    if (this.stateName === 'SYN-RECEIVED') {
      synTimedOut = this.timeoutsInARow > 0;
      if (seqLt(this.sndUna, seg.ack) && seqLe(seg.ack, this.sndNxt)) {
        this.sndWnd = seg.window << this.sndShift;
        this.maxSndWnd = Math.max(this.maxSndWnd, this.sndWnd);
        this.sndWl1 = seg.seq;
        this.sndWl2 = seg.ack;
        this.fire('RCV_ACK_OF_SYN');
      } else {
        this.queueReset(seg.ack, 0, TcpFlag.RST);
        return;
      }
    }
    if (!this.processAck(seg)) return;
    if (synTimedOut) this.rtt.afterSynTimeout(RTO_AFTER_SYN_TIMEOUT); // RFC 6298 §5.7
    if (this.stateName === 'CLOSED') return; // LAST-ACK saw its FIN acknowledged

    // Sixth: URG. One flag test for the segments without it.
    if (flags & TcpFlag.URG) this.processUrgent(seg);
    // Seventh: segment text.
    this.processText(seg.seq, seg.payload);
    // A PSH ends what the sender had to send for now: it may be waiting for this ACK to free
    // its buffer, so the ACK of an odd last segment is not delayed (it still goes out with
    // the rest of the batch). RFC 9293 §3.8.6.3 lets an ACK be sent sooner than the timer.
    if (seg.flags & TcpFlag.PSH && this.delayedAckAt !== undefined) this.ackNow = true;
    // Eighth: FIN.
    this.processFin(seg);
  }

  /** The fifth step for synchronized states. Returns false when the segment must be dropped. */
  private processAck(seg: TcpSegment): boolean {
    const ack = seg.ack;
    // RFC 5961 §5.2: an ACK of data never sent, or too old to be believable, is answered and dropped.
    if (seqGt(ack, this.sndMax)) {
      this.ackNow = true;
      return false;
    }
    if (seqLt(ack, seqAdd(this.sndUna, -Math.max(this.maxSndWnd, 1)))) {
      this.ackNow = true;
      return false;
    }
    const newlyAcked = seqDiff(ack, this.sndUna);
    const windowBefore = this.sndWnd;
    // Window update (SND.WL1/SND.WL2 rule).
    if (seqLt(this.sndWl1, seg.seq) || (this.sndWl1 === seg.seq && seqLe(this.sndWl2, ack))) {
      this.sndWnd = seg.window << this.sndShift;
      this.maxSndWnd = Math.max(this.maxSndWnd, this.sndWnd);
      this.sndWl1 = seg.seq;
      this.sndWl2 = ack;
    }
    const echo = this.timestampsOn ? seg.options.timestamps?.echo : undefined;
    this.echoedTimestamp = echo !== undefined && echo !== 0 ? echo : undefined;
    if (newlyAcked === 0 && this.flightSize === 0 && seg.options.sack === undefined) {
      // The ACKs of a peer that sends while we only receive: nothing of ours is in flight, so there
      // is no transmission to deliver, find lost or probe (RFC 8985 §6 acts on sent data) and no
      // duplicate to count (RFC 5681 §2); RACK's timers were settled by the ACK that emptied the flight.
      this.updatePersistTimer();
      return true;
    }
    const newlyHeld = this.rackOn ? this.newlyHeld : undefined;
    // Emptied only when it holds something: setting an array's length is a call into the runtime.
    if (newlyHeld !== undefined && newlyHeld.length > 0) newlyHeld.length = 0;
    const newlySacked = this.recordSack(seg, newlyHeld);
    if (newlyHeld !== undefined) this.rackOnAck(ack, newlyHeld, seg);
    if (newlyAcked > 0) {
      this.onNewAck(ack, newlyAcked);
    } else if (
      newlyAcked === 0 &&
      seg.payload.length === 0 &&
      !(seg.flags & (TcpFlag.SYN | TcpFlag.FIN)) &&
      this.flightSize > 0 &&
      // RFC 5681 §2: an ACK that moves the window is no duplicate. RFC 6675 §2: with SACK, one
      // that reports octets not held before is, whatever its window: a receiver whose
      // application reads between two segments announces a new window in every ACK.
      (this.sndWnd === windowBefore || newlySacked > 0)
    ) {
      this.onDuplicateAck(newlySacked);
    }
    this.updatePersistTimer();
    if (this.rackOn) {
      // RFC 8985 §6.2 runs on every ACK: SND.UNA may be lost by time whatever kind of ACK tells it.
      if (!this.inRecovery && newlyAcked === 0 && this.isLostByRack(this.sndUna)) this.maybeEnterRecovery();
      this.endTailProbeEpisode(ack);
      this.updateRackTimer();
      this.armProbeTimer();
    }

    if (this.finSeq !== undefined && seqGt(ack, this.finSeq)) {
      // Our FIN is acknowledged.
      const state = this.stateName;
      if (state === 'FIN-WAIT-1' || state === 'CLOSING' || state === 'LAST-ACK') this.fire('RCV_ACK_OF_FIN');
    }
    return true;
  }

  /**
   * A transmission the peer now holds, part of [from, to) that this ACK newly
   * reports. One of a full segment shows that packets of this size get through
   * (RFC 4821 §7.7): timeouts are losses then, not a black hole. Two smaller
   * ones acknowledged together show nothing, and neither does a full-sized
   * resend of which the ACK reports only some bytes: an earlier, smaller
   * segment may have brought those (a probe that repacketized the tail, whose
   * last byte a delayed SACK names).
   */
  private delivered(record: SendRecord, now: number, from: number, to: number): void {
    this.rack.onDelivered(record, now);
    const whole = seqLe(from, record.start) && seqLe(record.end, to);
    if (whole && seqDiff(record.end, record.start) >= this.sendMss) this.fullSizedSegmentAcked = true;
  }

  /** Takes the SACK blocks of an ACK into the scoreboard; returns the bytes newly reported held. */
  private recordSack(seg: TcpSegment, newlyHeld?: Array<{ start: number; end: number }>): number {
    const blocks = seg.options.sack;
    if (!this.sackPermitted || !blocks || blocks.length === 0) return 0;
    const before = this.scoreboard.sackedBytes;
    this.scoreboard.add(blocks, seg.ack, this.sndMax, newlyHeld);
    return this.scoreboard.sackedBytes - before;
  }

  // ------------------------------------------------------- RACK-TLP (RFC 8985)

  private get rackOn(): boolean {
    return this.sackPermitted && this.config.rackTlp;
  }

  /**
   * §6.2 steps 1–3 for one ACK: every transmission it newly delivers, by the
   * cumulative ACK (SACKed ones were delivered before) or by SACK.
   */
  private rackOnAck(ack: number, newlyHeld: ReadonlyArray<{ start: number; end: number }>, seg: TcpSegment): void {
    const now = this.now;
    if (seqGt(ack, this.sndUna)) {
      let from = this.sndUna;
      while (seqLt(from, ack)) {
        const held = this.scoreboard.heldUntil(from);
        if (held !== undefined) {
          from = held;
          continue;
        }
        const hole = this.scoreboard.holeFrom(from);
        const to = hole !== undefined && seqLt(hole.end, ack) ? hole.end : ack;
        for (const record of this.sendTimes.overlapping(from, to)) this.delivered(record, now, from, to);
        from = to;
      }
    }
    for (const range of newlyHeld) {
      for (const record of this.sendTimes.overlapping(range.start, range.end)) this.delivered(record, now, range.start, range.end);
    }
    // RFC 2883 §4: a first block below the cumulative ACK, or inside the second block,
    // reports a duplicate: a retransmission (perhaps a probe) that was not needed.
    const [first, second] = seg.options.sack ?? [];
    const duplicate =
      first !== undefined &&
      (seqLe(first.right, ack) || (second !== undefined && seqGe(first.left, second.left) && seqLe(first.right, second.right)));
    if (duplicate) {
      if (this.tlpEndSeq !== undefined) this.tlpDuplicateReported = true;
      this.rack.onDuplicateReported(now, this.rtt.srtt);
    }
  }

  /** The first range at or above `from`, below SND.MAX, that the peer has not reported held. */
  private unsackedFrom(from: number): { start: number; end: number } | undefined {
    const hole = this.scoreboard.holeFrom(from);
    if (hole !== undefined) return hole;
    const highest = this.scoreboard.highestSacked;
    const start = highest !== undefined && seqGt(highest, from) ? highest : from;
    return seqLt(start, this.sndMax) ? { start, end: this.sndMax } : undefined;
  }

  private rackReorderWindow(): number {
    const sackedSegments = Math.floor(this.scoreboard.sackedBytes / this.sendMss);
    return this.rack.reorderWindow(this.inRecovery, sackedSegments, this.rtt.srtt);
  }

  /** §6.2 step 5: the byte at `seq` was last sent before a delivered transmission, an RTT and more ago. */
  private isLostByRack(seq: number): boolean {
    if (!this.rackOn) return false;
    const record = this.sendTimes.find(seq);
    // Nothing sent at this very instant is known lost, whatever a zero RTT says: that
    // would resend it at once, again and again, on a path without delay.
    if (record === undefined || record.at >= this.now) return false;
    const lostAt = this.rack.lostAt(record, this.rackReorderWindow());
    return lostAt !== undefined && lostAt <= this.now;
  }

  /**
   * §6.3: wake up when the first hole not yet retransmitted would count as
   * lost, or, in recovery, the first retransmission not yet found lost: a
   * resend lost at the end of a flight has no later ACK to reveal it.
   */
  private updateRackTimer(): void {
    this.rackTimerAt = undefined;
    if (!this.rackOn || !this.rack.hasDelivery) return;
    const reorderWindow = this.rackReorderWindow();
    const lostAt = (seq: number): number | undefined => {
      const record = this.sendTimes.find(seq);
      const at = record === undefined ? undefined : this.rack.lostAt(record, reorderWindow);
      return at !== undefined && at > this.now ? at : undefined;
    };
    const hole = this.unsackedFrom(this.inRecovery ? seqMax(this.highRxt, this.sndUna) : this.sndUna);
    let wakeAt = hole === undefined ? undefined : lostAt(hole.start);
    if (this.inRecovery) {
      // Resends leave in order: the first not yet found lost is the first to become so.
      for (
        let resent = this.scoreboard.holeFrom(this.sndUna);
        resent !== undefined && seqLt(resent.start, this.highRxt);
        resent = this.scoreboard.holeFrom(resent.end)
      ) {
        const at = lostAt(resent.start);
        if (at === undefined) continue;
        wakeAt = wakeAt === undefined ? at : Math.min(wakeAt, at);
        break;
      }
    }
    this.rackTimerAt = wakeAt;
  }

  /**
   * §7.2: while data is outstanding outside recovery and no probe is out, a
   * probe timeout of two smoothed RTTs (plus a delayed ACK when only one
   * segment is out) runs ahead of the retransmission timer; when the RTO
   * would come first, the probe goes at its time instead. The floor of
   * 10 ms (the TLP draft's max(2·SRTT, 10 ms)) keeps an ACK held up a few
   * milliseconds by a busy host from drawing a probe on a sub-millisecond path.
   */
  private armProbeTimer(): void {
    this.ptoAt = undefined;
    if (!this.rackOn || this.tlpEndSeq !== undefined || this.inRecovery || this.timeoutsInARow > 0) return;
    const state = this.stateName;
    if (state !== 'ESTABLISHED' && state !== 'CLOSE-WAIT' && state !== 'FIN-WAIT-1' && state !== 'CLOSING' && state !== 'LAST-ACK') {
      return;
    }
    const flight = this.flightSize;
    if (flight <= 0) return;
    const srtt = this.rtt.srtt;
    let pto = srtt === undefined ? PTO_WITHOUT_RTT : Math.max(2 * srtt, MIN_PTO);
    if (srtt !== undefined && flight <= this.sendMss) pto += WORST_CASE_DELAYED_ACK;
    this.ptoAt = this.rtoAt === undefined ? this.now + pto : Math.min(this.now + pto, this.rtoAt);
  }

  private onProbeTimeout(now: number): void {
    this.ptoAt = undefined;
    if (!this.rackOn || this.inRecovery || this.flightSize <= 0 || this.tlpEndSeq !== undefined) return;
    this.tailProbeDue = true;
    this.rtoAt = now + this.rtt.rto;
  }

  /**
   * §7.3: the probe is a new segment if the peer's window has room for one,
   * else the last segment sent again. It elicits an ACK whose SACK blocks let
   * RACK find what else of the tail was lost, instead of waiting for the RTO.
   */
  private tailLossProbe(): TcpSegment | undefined {
    const flight = this.flightSize;
    const offset = seqDiff(this.sndNxt, this.bufferSeq);
    const unsent = this.sendBuffer.length - offset;
    let probe: TcpSegment | undefined;
    if (unsent > 0 && this.sndWnd - flight > 0 && seqGe(this.sndNxt, this.sndMax)) {
      probe = this.dataSegment(this.sndNxt, offset, Math.min(this.sendMss, unsent, this.sndWnd - flight), false);
      this.tlpRetransmitted = false;
    } else {
      // The last data sent (a FIN that went with it is sent again by dataSegment).
      const dataEnd = this.finSeq !== undefined && seqGt(this.sndMax, this.finSeq) ? this.finSeq : this.sndMax;
      const start = seqMax(this.sndUna, seqAdd(dataEnd, -this.sendMss));
      const offset = seqDiff(start, this.bufferSeq);
      const length = Math.min(Math.max(seqDiff(dataEnd, start), 0), this.sendBuffer.length - offset);
      if (offset < 0 || (length <= 0 && !this.finPendingAt(start))) return undefined;
      probe = this.dataSegment(start, offset, Math.max(length, 0), false);
      this.tlpRetransmitted = true;
    }
    this.stats.tailLossProbes++;
    this.tlpEndSeq = this.sndMax;
    this.tlpDuplicateReported = false;
    this.recoveriesBeforeProbe = this.stats.fastRetransmits;
    this.rtoAt = this.now + this.rtt.rto;
    return probe;
  }

  /**
   * §7.4: once the probe is acknowledged its episode ends. A retransmitted
   * probe that no D-SACK reported as a duplicate repaired a loss; unless a
   * fast recovery already answered it, the window is reduced as for one.
   */
  private endTailProbeEpisode(ack: number): void {
    if (this.tlpEndSeq === undefined || seqLt(ack, this.tlpEndSeq)) return;
    if (this.tlpRetransmitted && !this.tlpDuplicateReported && this.stats.fastRetransmits === this.recoveriesBeforeProbe) {
      this.cc.onEnterRecovery(this.flightSize, this.now, 'sack');
      this.cc.onExitRecovery(this.flightSize, this.now);
    }
    this.tlpEndSeq = undefined;
  }

  private onNewAck(ack: number, newlyAcked: number): void {
    const flightBefore = this.flightSize;
    this.acknowledge(ack);
    this.scoreboard.acknowledge(ack);
    this.sendTimes.forget(ack);
    this.timeoutsInARow = 0;
    // Without RACK's record of each transmission, a segment's worth acknowledged at once is the sign.
    if (!this.rackOn && newlyAcked >= this.sendMss) this.fullSizedSegmentAcked = true;
    this.rtt.resetBackoff();
    // RFC 6298 §5.3: restart the timer when new data is acknowledged; §5.2: stop it when all is.
    if (seqGe(ack, this.sndMax)) this.rtoAt = undefined;
    else this.rtoAt = this.now + this.rtt.rto;
    let sample: number | undefined;
    if (this.echoedTimestamp !== undefined) {
      // RFC 7323 §4.1: with timestamps every ACK of new data yields a sample. But a receiver
      // that already held a retransmitted segment echoes the original's timestamp (§4.3, R3
      // skips unacceptable segments), so an echo older than our last retransmission may
      // measure the timeout itself: Karn's ambiguity again, and no sample is taken.
      if (!seqLt(this.echoedTimestamp, this.retransmittedAtTs)) {
        sample = Math.max(seqDiffTs(this.tsValue(), this.echoedTimestamp), 0);
      }
      this.timedSeq = undefined;
    } else if (this.timedSeq !== undefined && seqGe(ack, this.timedSeq)) {
      sample = Math.max(this.now - this.timedAt, 0);
      this.timedSeq = undefined;
    }
    if (sample !== undefined) this.rtt.sample(sample);
    if (this.inRecovery) {
      if (seqGe(ack, this.recover)) {
        // RFC 6582 §3.2 step 3 / RFC 6675 §5: recovery ends with the ACK of everything sent before it began.
        this.inRecovery = false;
        this.rack.onRecoveryEnd();
        this.cc.onExitRecovery(this.flightSize, this.now);
      } else if (!this.sackPermitted) {
        // RFC 6582 step 5: a partial ACK retransmits the next hole and deflates the window.
        this.cc.onPartialAck(newlyAcked);
        this.retransmitHead = true;
      }
    } else {
      this.cc.onAck(Math.min(newlyAcked, flightBefore), this.now, this.rtt.srtt, { rtt: sample, ack, sndNxt: this.sndNxt });
      // SACK may show a loss before three duplicates arrive (RFC 6675 §5, IsLost(SND.UNA)).
      if (this.sackPermitted) this.maybeEnterRecovery();
    }
    this.duplicateAcks = 0;
  }

  private onDuplicateAck(newlySacked: number): void {
    this.duplicateAcks++;
    if (this.inRecovery) {
      // NewReno inflates the window per duplicate; SACK recovery counts the pipe instead.
      if (!this.sackPermitted) this.cc.onRecoveryDuplicateAck();
      return;
    }
    if (this.sackPermitted && newlySacked === 0 && this.duplicateAcks < DUPACK_THRESHOLD) return;
    this.maybeEnterRecovery();
  }

  /**
   * Fast retransmit (RFC 5681 §3.2): three duplicate ACKs, or with SACK DupThresh
   * segments held above SND.UNA, or RACK's verdict. RFC 6582 §3.2 step 2: only if the ACK covers
   * `recover`, so duplicates caused by a timeout's go-back do not cut the window again.
   */
  private maybeEnterRecovery(): void {
    if (this.inRecovery || !seqGe(this.sndUna, this.recover) || this.flightSize === 0) return;
    const lostBySack =
      this.sackPermitted && this.scoreboard.sackedAbove(this.sndUna) >= DUPACK_THRESHOLD * this.sendMss;
    // RFC 8985 §6.2: or RACK finds SND.UNA lost by time, with fewer duplicates.
    const lostByRack = !lostBySack && this.isLostByRack(this.sndUna);
    if (this.duplicateAcks < DUPACK_THRESHOLD && !lostBySack && !lostByRack) return;
    this.inRecovery = true;
    this.recover = this.sndMax;
    this.highRxt = this.sndUna;
    this.cc.onEnterRecovery(this.flightSize, this.now, this.sackPermitted ? 'sack' : 'newreno');
    this.retransmitHead = true;
    this.stats.fastRetransmits++;
  }

  /** Moves SND.UNA to `ack`, dropping acknowledged bytes from the send buffer. */
  private acknowledge(ack: number): void {
    const dataAcked = Math.min(Math.max(seqDiff(ack, this.bufferSeq), 0), this.sendBuffer.length);
    if (dataAcked > 0) {
      this.sendBuffer.acknowledge(dataAcked);
      this.bufferSeq = seqAdd(this.bufferSeq, dataAcked);
      if (this.writableWanted && this.acceptsUserData() && this.sendBuffer.free > 0) {
        this.writableWanted = false;
        this.emit({ type: 'writable' });
      }
    }
    this.sndUna = ack;
    if (this.softErrorSeen) this.softErrorSeen = false; // the path works again
    // §3.8.5: urgent mode ends once the peer holds every urgent byte.
    if (this.sndUp !== undefined && seqGe(ack, this.sndUp)) this.sndUp = undefined;
    if (seqLt(this.sndNxt, ack)) this.sndNxt = ack;
    if (seqLt(this.sndMax, ack)) this.sndMax = ack;
  }

  /** The seventh step: in-order text is delivered, early text is kept for reassembly. */
  private processText(seq: number, payload: Uint8Array): void {
    if (payload.length === 0) return;
    const state = this.stateName;
    if (state !== 'ESTABLISHED' && state !== 'FIN-WAIT-1' && state !== 'FIN-WAIT-2') return;
    if (this.finReceived) return;
    // Trim what lies before RCV.NXT (already received) and beyond the window.
    let data = payload;
    let start = seq;
    const before = seqDiff(this.rcvNxt, start);
    if (before > 0) {
      if (before >= data.length) {
        this.ackNow = true; // a pure duplicate: the peer missed our ACK
        return;
      }
      // RFC 2883 §4: the part received before is reported too (a sender may have resent
      // several segments as one, or a receive-coalescing device merged them).
      if (this.sackPermitted) this.noteDuplicate({ left: start, right: this.rcvNxt });
      data = data.subarray(before);
      start = this.rcvNxt;
    }
    const room = seqDiff(this.rcvRightEdgeNow(), start);
    if (room <= 0) {
      this.ackNow = true;
      return;
    }
    if (data.length > room) data = data.subarray(0, room);

    if (start === this.rcvNxt) {
      // Held bytes it brings again are duplicates (RFC 2883 §4), below the ACK that follows.
      if (this.sackPermitted && !this.reassembly.isEmpty) {
        for (const run of this.reassembly.heldWithin(0, data.length)) this.noteDuplicate(this.heldBlock(run));
      }
      this.deliver(data);
      // Fill from the reassembly queue what is now in order.
      if (!this.reassembly.isEmpty) {
        for (let run = this.takeReassembled(); run; run = this.takeReassembled()) this.deliver(run);
        this.ackNow = true; // a hole was filled: acknowledge at once (RFC 5681 §4.2)
        this.dupAcksOwed = 0; // the next ACK moves forward: duplicates of the old one would mislead
      }
      this.countForDelayedAck(start, data.length);
    } else {
      const offset = seqDiff(start, this.rcvNxt);
      // What lies past the reassembler's limit is not kept (config.reassemblyLimit): it must not be
      // reported either, neither SACKed nor taken for a duplicate, or the sender would not send it
      // again before a timeout. A plain duplicate ACK answers it: the hole before it is still open.
      const kept = Math.min(data.length, this.reassembly.limit - offset);
      if (kept <= 0) {
        this.ackNow = true;
        return;
      }
      // RFC 2883 §4.2: held data received again is reported too, so that a sender can undo what
      // it did for a retransmission that was not needed, and widen its reordering window. The
      // first such run goes first in this arrival's ACK, before the run that now holds it.
      const again = this.sackPermitted && !this.reassembly.isEmpty ? this.reassembly.heldWithin(offset, kept) : [];
      this.reassembly.insert(offset, data);
      const end = seqAdd(start, data.length);
      const segments = this.segmentsIn(data.length);
      const duplicate = again.length === 0 ? undefined : this.heldBlock(again[0]!);
      for (let i = 1; i < again.length; i++) this.noteDuplicate(this.heldBlock(again[i]!));
      // Out of order: a duplicate ACK at once (RFC 5681 §4.2), for each segment; with SACK, new
      // data past the first three duplicates is folded into fewer ACKs (sack-compression.ts).
      const due =
        this.sackPermitted && this.config.sackCompression && duplicate === undefined
          ? this.sackCompression.dueNow(start, end, segments, this.rcvNxt, this.now, this.rtt.srtt)
          : segments;
      if (due > 0) {
        this.ackNow = true;
        this.dupAcksOwed += due;
        if (this.sackPermitted) this.noteSackTrigger(start, data.length, due, duplicate);
      } else if (this.sackPermitted) {
        this.extendSackTrigger(start, data.length);
      }
    }
  }

  /** In-order bytes from the reassembly queue: views of its storage for a caller that takes them at once. */
  private takeReassembled(): Uint8Array | undefined {
    return this.takesDataAtOnce ? this.reassembly.takeReadyView() : this.reassembly.takeReady();
  }

  /**
   * An out-of-order arrival's ACKs are owed its block first; one that continues the last arrival
   * shares its entry, a duplicate has one of its own.
   */
  private noteSackTrigger(start: number, length: number, segments: number, duplicate: SackBlock | undefined): void {
    const triggers = this.sackTriggers;
    const last = triggers[triggers.length - 1];
    const end = seqAdd(start, length);
    const full = triggers.length === MAX_SACK_TRIGGERS;
    if (last !== undefined && (full || (this.continues(last, start) && duplicate === undefined))) {
      if (last.end === start) last.end = end;
      last.acks += segments;
      // Past the bound the last entry stands for every later arrival: it takes the place of the latest.
      if (last.ack !== this.rcvNxt) {
        last.ack = this.rcvNxt;
        last.order = ++this.ackOrder;
      }
      last.blocks = this.blocksHolding(last.seq);
      if (duplicate !== undefined) this.noteDuplicate(duplicate);
    } else {
      triggers.push({ seq: start, end, acks: segments, ack: this.rcvNxt, order: ++this.ackOrder, blocks: this.blocksHolding(start), duplicate });
    }
  }

  /** The SACK blocks of the held runs as they are now, the one holding `seq` first. */
  private blocksHolding(seq: number): SackBlock[] {
    return this.appendHeldBlocks([], seqDiff(seq, this.rcvNxt));
  }

  /** Whether data at `start` continues the arrival of `trigger`, with nothing acknowledged in between. */
  private continues(trigger: SackTrigger, start: number): boolean {
    return trigger.end === start && trigger.duplicate === undefined && trigger.ack === this.rcvNxt;
  }

  /**
   * An out-of-order arrival folded into a later ACK (sack-compression.ts) that continues the last
   * arrival still owed ACKs: those report it too, as the ACK of a merged frame holding both would.
   */
  private extendSackTrigger(start: number, length: number): void {
    const last = this.sackTriggers[this.sackTriggers.length - 1];
    if (last === undefined || !this.continues(last, start)) return;
    last.end = seqAdd(start, length);
    last.blocks = this.blocksHolding(last.seq);
  }

  /**
   * A range of offsets from RCV.NXT as a SACK block. A FIN held at the range's end is in it: it
   * takes a sequence number of its own (RFC 9293 §3.4), Linux's receiver reports it so, and
   * Linux's sender takes a segment for SACKed only when a block covers all of it, FIN included.
   * With the last segment alone arriving after a loss, that sender has nothing else SACKed to
   * find the loss by.
   */
  private heldBlock(range: { readonly start: number; readonly end: number }): SackBlock {
    return { left: seqAdd(this.rcvNxt, range.start), right: this.withHeldFin(seqAdd(this.rcvNxt, range.end)) };
  }

  /** A block's right edge, past the FIN when one is held there. */
  private withHeldFin(right: number): number {
    return right === this.pendingFinSeq ? seqAdd(right, 1) : right;
  }

  /** How many segments `length` bytes of the arriving segment were sent as: more than one only in a merged frame. */
  private segmentsIn(length: number): number {
    return this.arrivalSegmentSize > 0 && length > this.arrivalSegmentSize ? Math.ceil(length / this.arrivalSegmentSize) : 1;
  }

  /**
   * RFC 5681 §4.2: an ACK for at least every second full-sized segment, and
   * within the delayed-ACK timeout for a lone one. The segments of a merged
   * frame count one by one; within a batch every ACK_POINT_SPACING-th gets an
   * ACK point where it ended, and the ACK of RCV.NXT answers the rest.
   */
  private countForDelayedAck(start: number, length: number): void {
    const segments = this.segmentsIn(length);
    for (let i = 1; i <= segments; i++) {
      const unacked = ++this.segmentsUnacked;
      if (unacked < 2 && this.config.delayedAckTimeout > 0) continue;
      this.ackNow = true;
      if (unacked % ACK_POINT_SPACING !== 0) continue;
      const ack = i === segments ? this.rcvNxt : seqAdd(start, i * this.arrivalSegmentSize);
      // The last point of a batch is answered by the ACK of RCV.NXT with the blocks of then
      // (takeAck), and once the bound is reached a point only ever replaces the last one.
      const last = this.ackPoints.length >= MAX_ACK_POINTS - 1;
      const ackPoint = { ack, sack: last ? undefined : this.heldBlocks(), order: ++this.ackOrder };
      if (this.ackPoints.length < MAX_ACK_POINTS) this.ackPoints.push(ackPoint);
      else this.ackPoints[this.ackPoints.length - 1] = ackPoint;
    }
    if (!this.ackNow && this.delayedAckAt === undefined) this.delayedAckAt = this.now + this.config.delayedAckTimeout;
  }

  /**
   * The sixth step (§3.10.7.4): RCV.UP ← max(RCV.UP, SEG.SEQ + SEG.UP), and the
   * user hears of every advance (MUST-31) with the offset where the urgent data
   * ends, from which it knows how much of it is left to read (MUST-32). The
   * data itself stays in line (RFC 6093 §5). Only acceptable segments get here,
   * so an old duplicate never moves RCV.UP back or reports it again.
   */
  private processUrgent(seg: TcpSegment): void {
    const state = this.stateName;
    // CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT: the peer's FIN came, no urgent data can follow; ignored.
    if (state !== 'ESTABLISHED' && state !== 'FIN-WAIT-1' && state !== 'FIN-WAIT-2') return;
    const end = urgentEndOffset(seg.seq, seg.urgent, this.rcvNxt, this.deliveredBytes);
    if (end <= this.urgentEnd) return;
    this.urgentEnd = end;
    this.emit({ type: 'urgent', end });
  }

  private deliver(data: Uint8Array): void {
    this.deliveredBytes += data.length;
    this.rcvNxt = seqAdd(this.rcvNxt, data.length);
    this.reassembly.advance(data.length);
    this.unconsumed += data.length;
    this.emit({ type: 'data', data });
  }

  /** The eighth step. A FIN ahead of missing data waits until the data arrives. */
  private processFin(seg: TcpSegment): void {
    if (seg.flags & TcpFlag.FIN) {
      const finSeq = seqAdd(seg.seq, seg.payload.length);
      if (this.finReceived) {
        if (seqAdd(finSeq, 1) === this.rcvNxt) this.ackFinAgain();
        return;
      }
      this.pendingFinSeq = finSeq;
    }
    if (this.pendingFinSeq !== undefined && !this.finReceived && this.pendingFinSeq === this.rcvNxt) {
      this.pendingFinSeq = undefined;
      this.finReceived = true;
      this.rcvNxt = seqAdd(this.rcvNxt, 1);
      this.ackNow = true;
      this.fire('RCV_FIN');
    }
  }

  /** A retransmitted FIN: acknowledge it again; in TIME-WAIT this restarts the 2 MSL wait. */
  private ackFinAgain(): void {
    this.ackNow = true;
    if (this.stateName === 'TIME-WAIT') this.fire('RCV_FIN');
  }

  // ------------------------------------------------------------ timers

  private onRetransmissionTimeout(now: number): void {
    this.rtoAt = undefined;
    if (seqGe(this.sndUna, this.sndMax) && !this.synPending) return;
    this.timeoutsInARow++;
    this.stats.timeouts++;
    // Our SYN unacknowledged: resend it, even if the user closed meanwhile (SYN-RECEIVED → FIN-WAIT-1).
    const synchronizing = seqLe(this.sndUna, this.iss);
    const limit = synchronizing ? this.config.maxSynRetransmissions : this.config.maxRetransmissions;
    if (this.timeoutsInARow > limit) {
      this.fire('TIMEOUT_USER');
      return;
    }
    // RFC 6298 §5.4–5.6: retransmit the earliest unacknowledged segment, back off, restart the timer.
    if (synchronizing) {
      this.synPending = true;
    } else {
      this.cc.onRetransmissionTimeout(this.flightSize, now, this.timeoutsInARow > 1);
      this.inRecovery = false;
      this.recover = this.sndMax; // RFC 6582 §3.2 step 4 analogue for timeouts
      this.duplicateAcks = 0;
      this.sndNxt = this.sndUna; // go back: resend from the first unacknowledged byte
      // §3.8.1 / RFC 6298 §5.4: the earliest segment goes out now, whatever a stale or shrunken
      // window and the sender's silly-window rule would otherwise hold back.
      this.retransmitHead = true;
      // RFC 2018 §8: a receiver may discard what it SACKed; after a second timeout, stop trusting it.
      if (this.timeoutsInARow > 1) this.scoreboard.clear();
      if (this.config.blackHoleDetection && this.timeoutsInARow % BLACK_HOLE_TIMEOUTS === 0) this.suspectBlackHole();
    }
    this.timedSeq = undefined; // Karn: no sample from a retransmitted segment
    // RFC 8985 §7.3: a timeout ends any probe episode; the go-back resends everything anyway.
    this.ptoAt = undefined;
    this.rackTimerAt = undefined;
    this.tailProbeDue = false;
    this.tlpEndSeq = undefined;
    this.rtt.backoff();
    this.rtoAt = now + this.rtt.rto;
  }

  /**
   * RFC 4821 §7.7: timeouts in a row with nothing acknowledged (a "full-stop
   * timeout") may mean packets of this size no longer get through, dropped by a
   * narrow hop whose router sends no ICMP (RFC 2923 §2.1). The path MTU falls to
   * the search floor §7.2 recommends, 1024 bytes, and on each further such run
   * by half, here not below 576, as for ICMP reports. On a lossy path the same
   * segment can time out three times too: once a full-sized segment has been
   * delivered (`delivered`; without SACK, a segment's worth acknowledged at
   * once), packets of this size evidently get through, and timeouts are
   * losses. A size the data in flight fits already would explain
   * nothing: the search goes on down to the first size it does not fit, and
   * when even 576 holds it, the timeouts are no sign of a black hole.
   */
  private suspectBlackHole(): void {
    if (this.fullSizedSegmentAcked) return;
    const inFlight = seqDiff(this.sndMax, this.sndUna);
    const fits = (pathMtu: number): boolean => inFlight <= pathMtu - this.headerSpace();
    let lowered = this.pathMtu > BLACK_HOLE_PATH_MTU ? BLACK_HOLE_PATH_MTU : this.pathMtu >> 1;
    while (lowered > MIN_PATH_MTU && fits(lowered)) lowered >>= 1;
    lowered = Math.max(lowered, MIN_PATH_MTU);
    if (fits(lowered) || !this.fitSegmentsTo(lowered)) return;
    this.stats.blackHoleReductions++;
    this.emit({ type: 'black-hole', pathMtu: lowered });
  }

  /**
   * The persist timer (§3.8.6.1) runs while data waits, nothing is in flight
   * (so no ACK will come to open the window), and the offered window is too
   * small to send: zero, or below a segment and the data (the sender's silly
   * window avoidance holds such data back, §3.8.6.2.1, until this override).
   */
  private updatePersistTimer(): void {
    const unsent = this.unsentBytes();
    const waiting =
      unsent > 0 &&
      seqGe(this.sndUna, this.sndMax) &&
      this.sndWnd < Math.min(this.sendMss, unsent) &&
      this.isSynchronized();
    if (waiting && this.persistAt === undefined) {
      this.persistBackoff = 0;
      this.persistAt = this.now + this.rtt.rto;
    } else if (!waiting) {
      this.persistAt = undefined;
      this.probePending = false;
    }
  }

  // ------------------------------------------------------- sending

  /** The next segment to transmit, if any. Call until it returns undefined. */
  pollSegment(now: number): TcpSegment | undefined {
    this.now = now;
    if (this.rstPending) {
      const rst = this.rstPending;
      this.rstPending = undefined;
      this.stats.segmentsSent++;
      return rst;
    }
    const state = this.stateName;
    if (state === 'CLOSED' || state === 'LISTEN') return undefined;
    if (this.synPending) return this.emitSyn();
    if (state === 'SYN-SENT') return undefined;
    if (state === 'SYN-RECEIVED') return this.takeAck();

    const segment = this.nextDataSegment();
    if (segment) return segment;
    if (this.probePending) {
      this.probePending = false;
      if (this.sndWnd > 0) {
        // Override the silly window avoidance: send what the window allows.
        const offset = seqDiff(this.sndNxt, this.bufferSeq);
        const length = Math.min(this.sndWnd, this.sendBuffer.length - offset);
        if (length > 0) return this.dataSegment(this.sndNxt, offset, length, false);
      }
      // §3.8.6.1: an old sequence number elicits an ACK that carries the peer's window.
      return this.buildSegment(seqAdd(this.sndUna, -1), TcpFlag.ACK, EMPTY);
    }
    if (this.keepAlivePending) {
      this.keepAlivePending = false;
      return this.buildSegment(seqAdd(this.sndUna, -1), TcpFlag.ACK, EMPTY);
    }
    const ack = this.takeAck();
    if (!ack) this.updatePersistTimer();
    return ack;
  }


  private emitSyn(): TcpSegment {
    this.synPending = false;
    const synAck = this.peerSynSeen;
    const options: TcpOptions = {
      mss: this.config.mss,
      ...(this.config.windowScaling && (!synAck || this.offeredScaleSeen)
        ? { windowScale: this.ourWindowScale() }
        : {}),
      ...(this.config.sack && (!synAck || this.sackPermitted) ? { sackPermitted: true } : {}),
      ...(this.config.timestamps && (!synAck || this.timestampsOn)
        ? { timestamps: { value: this.tsValue(), echo: synAck ? this.tsRecent : 0 } }
        : {}),
    };
    if (seqGt(this.sndMax, this.iss)) this.stats.retransmissions++;
    this.sndNxt = seqAdd(this.iss, 1);
    this.sndMax = seqMax(this.sndMax, this.sndNxt);
    if (this.rtoAt === undefined) this.rtoAt = this.now + this.rtt.rto;
    if (this.timedSeq === undefined && this.timeoutsInARow === 0) {
      this.timedSeq = this.sndNxt;
      this.timedAt = this.now;
    }
    this.ackNow = false;
    this.stats.segmentsSent++;
    const window = Math.min(this.config.receiveBufferSize, 0xffff); // RFC 7323 §2.2: a SYN's window is never scaled
    this.synWindow = window;
    this.rcvRightEdge = seqAdd(this.rcvNxt, window);
    if (synAck) this.lastAckSent = this.rcvNxt;
    return {
      srcPort: this.localPort,
      dstPort: this.remotePort,
      seq: this.iss,
      ack: synAck ? this.rcvNxt : 0,
      flags: synAck ? TcpFlag.SYN | TcpFlag.ACK : TcpFlag.SYN,
      window,
      urgent: 0,
      options,
      payload: EMPTY,
    };
  }

  /** Our TSval: a millisecond clock (RFC 7323 §5.4 asks for 1 ms to 1 s per tick). */
  private tsValue(): number {
    return (this.tsOffset + Math.floor(this.now)) >>> 0;
  }

  private ourWindowScale(): number {
    return windowScaleFor(this.config.receiveBufferSize);
  }

  private acceptSynOptions(options: TcpOptions): void {
    const peerMss = options.mss ?? DEFAULT_PEER_MSS;
    this.timestampsOn = this.config.timestamps && options.timestamps !== undefined;
    if (this.timestampsOn) this.tsRecent = options.timestamps!.value;
    // The MSS counts no options: every segment's timestamps come out of it (RFC 6691 §3).
    const optionSpace = this.timestampsOn ? TIMESTAMPS_OPTION_SPACE : 0;
    this.sendMss = Math.max(Math.min(peerMss, this.config.mss) - optionSpace, 64);
    this.mssWithoutPathLimit = this.sendMss;
    // The peer's MSS speaks for its link; a path MTU learned before, for the hops between (RFC 1191 §3.1).
    if (this.pathMtuLimit !== undefined) this.fitSegmentsTo(this.pathMtuLimit);
    if (this.config.windowScaling && options.windowScale !== undefined) {
      // RFC 7323 §2.2: scaling is on only when both SYNs carry the option.
      this.offeredScaleSeen = true;
      this.sndShift = Math.min(options.windowScale, 14);
      this.rcvShift = this.ourWindowScale();
    } else {
      this.sndShift = 0;
      this.rcvShift = 0;
    }
    this.sackPermitted = this.config.sack && options.sackPermitted === true;
    this.cc = createCongestionControl(this.algorithm, this.sendMss, this.now, { hystart: this.config.hystart });
  }

  private unsentBytes(): number {
    return this.sendBuffer.length - seqDiff(this.sndNxt, this.bufferSeq);
  }

  private nextDataSegment(): TcpSegment | undefined {
    const mss = this.sendMss;
    if (this.retransmitHead) {
      // Fast retransmit of the first unacknowledged segment: due whatever the window says
      // (RFC 5681 §3.2 step 2, RFC 6675 §5 step 4.3), and only up to the first SACKed byte.
      this.retransmitHead = false;
      const offset = Math.max(seqDiff(this.sndUna, this.bufferSeq), 0);
      let length = Math.min(mss, this.sendBuffer.length - offset);
      const hole = this.sackPermitted ? this.scoreboard.holeFrom(this.sndUna) : undefined;
      if (hole) length = Math.min(length, seqDiff(hole.end, this.sndUna));
      if (length > 0 || this.finPendingAt(this.sndUna)) {
        if (this.inRecovery && this.sackPermitted) this.highRxt = seqAdd(this.sndUna, Math.max(length, 0));
        return this.dataSegment(this.sndUna, offset, Math.max(length, 0), false);
      }
    }
    if (this.tailProbeDue) {
      this.tailProbeDue = false;
      const probe = this.tailLossProbe();
      if (probe !== undefined) return probe;
    }
    if (this.inRecovery && this.sackPermitted) {
      const segment = this.nextSackRecoverySegment();
      if (segment !== null) return segment;
    }
    // After a timeout's go-back, skip what the peer reported held (RFC 6675 §5.1).
    if (this.sackPermitted && seqLt(this.sndNxt, this.sndMax)) {
      const held = this.scoreboard.heldUntil(this.sndNxt);
      if (held !== undefined) this.sndNxt = held;
    }
    const offset = seqDiff(this.sndNxt, this.bufferSeq);
    const available = this.sendBuffer.length - offset;
    const finToSend = this.finQueued && !this.finSentAt(this.sndNxt) && available <= 0;
    if (available <= 0 && !finToSend) return undefined;

    const flight = seqDiff(this.sndNxt, this.sndUna);
    // Limited transmit (RFC 3042): each of the first two duplicate ACKs lets one new segment out,
    // so that a small window still gathers the three duplicates fast retransmit needs.
    const limitedTransmit = this.inRecovery ? 0 : Math.min(this.duplicateAcks, 2) * mss;
    const window = Math.min(this.sndWnd, this.cc.cwnd + limitedTransmit);
    // In SACK recovery the congestion window bounds the pipe, not SND.NXT − SND.UNA (RFC 6675 §5, NextSeg rule 2).
    const usable =
      this.inRecovery && this.sackPermitted
        ? Math.min(this.sndWnd - flight, this.recoveryBudget)
        : window - flight;
    if (finToSend) {
      // A FIN takes no window space worth waiting for; send it once all data is out.
      return this.dataSegment(this.sndNxt, offset, 0, true);
    }
    if (usable <= 0) return undefined;
    let length = Math.min(available, usable, mss);
    if (this.sackPermitted && seqLt(this.sndNxt, this.sndMax)) {
      const hole = this.scoreboard.holeFrom(this.sndNxt);
      if (hole) length = Math.min(length, seqDiff(hole.end, this.sndNxt));
    }
    if (length < mss && length < available) {
      // Sender silly window avoidance (§3.8.6.2.1): wait for a full segment or half the peer's largest window.
      if (length < this.maxSndWnd / 2) return undefined;
    }
    const resending = seqLt(this.sndNxt, this.sndMax);
    if (length < mss && length === available && flight > 0 && !this.config.noDelay && !this.finQueued && !resending) {
      // Nagle (§3.7.4): one small segment outstanding at a time. Not for bytes sent before and
      // going again (after a timeout, or at a smaller path MTU): they were in flight already.
      return undefined;
    }
    length = Math.max(length, 0);
    const carriesFin = this.finQueued && length === available && usable > length;
    return this.dataSegment(this.sndNxt, offset, length, carriesFin);
  }

  /**
   * RFC 6675 §5: while in recovery, send when the pipe (bytes believed in the
   * network) is below cwnd: first the lost holes (NextSeg rule 1), then new data
   * (rule 2). Returns null to fall through to new data, undefined to send nothing.
   */
  private nextSackRecoverySegment(): TcpSegment | undefined | null {
    const lostThreshold = DUPACK_THRESHOLD * this.sendMss;
    if (seqLt(this.highRxt, this.sndUna)) this.highRxt = this.sndUna;
    const outstanding = seqDiff(this.sndMax, this.sndUna);
    // The hole at SND.UNA counts as lost from the moment recovery starts.
    let lost = this.scoreboard.lostBytesFrom(this.highRxt, lostThreshold);
    const firstHole = this.scoreboard.holeFrom(this.highRxt);
    const unaHoleLost = firstHole !== undefined && firstHole.start === this.sndUna;
    if (unaHoleLost && this.scoreboard.sackedAbove(firstHole.end) < lostThreshold) {
      lost += seqDiff(firstHole.end, firstHole.start);
    }
    // RACK's lost ranges are a prefix of the unSACKed ones too (they were sent in order), and may
    // reach past the highest SACKed byte: the pipe leaves out the longer prefix (RFC 8985 §6.2).
    const rackCandidate = firstHole ?? this.unsackedFrom(this.highRxt);
    let lostByRack = 0;
    for (let range = rackCandidate; range !== undefined && this.isLostByRack(range.start); range = this.unsackedFrom(range.end)) {
      lostByRack += seqDiff(range.end, range.start);
    }
    lost = Math.max(lost, lostByRack);
    // Below HighRxt every hole was resent in this recovery; RACK finds a resend lost like any segment.
    const lostResend = this.lostRetransmission();
    if (lostResend !== undefined) lost += seqDiff(lostResend.end, lostResend.start);
    const pipe = outstanding - this.scoreboard.sackedBytes - lost;
    if (pipe >= this.cc.cwnd) return undefined;
    this.recoveryBudget = this.cc.cwnd - pipe;
    if (lostResend !== undefined) {
      const segment = this.retransmitFrom(lostResend);
      if (segment !== undefined) return segment;
    }
    const lostHole =
      firstHole !== undefined && (unaHoleLost || this.scoreboard.sackedAbove(firstHole.end) >= lostThreshold)
        ? firstHole
        : lostByRack > 0
          ? rackCandidate
          : undefined;
    if (lostHole !== undefined) {
      const segment = this.retransmitFrom(lostHole);
      if (segment !== undefined) {
        this.highRxt = seqMax(this.highRxt, seqAdd(lostHole.start, segment.payload.length));
        return segment;
      }
    }
    return null;
  }

  /** The first segment's worth of `range`, sent again; undefined when none of it is in the send buffer. */
  private retransmitFrom(range: { start: number; end: number }): TcpSegment | undefined {
    const offset = seqDiff(range.start, this.bufferSeq);
    const length = Math.min(this.sendMss, seqDiff(range.end, range.start), this.sendBuffer.length - offset);
    return offset >= 0 && length > 0 ? this.dataSegment(range.start, offset, length, false) : undefined;
  }

  /** The first hole below HighRxt whose latest (re)transmission RACK finds lost (RFC 8985 §6.2). */
  private lostRetransmission(): { start: number; end: number } | undefined {
    if (!this.rackOn) return undefined;
    for (
      let hole = this.scoreboard.holeFrom(this.sndUna);
      hole !== undefined && seqLt(hole.start, this.highRxt);
      hole = this.scoreboard.holeFrom(hole.end)
    ) {
      if (this.isLostByRack(hole.start)) {
        const record = this.sendTimes.find(hole.start);
        const end = record === undefined ? hole.end : seqMin(seqMin(hole.end, record.end), this.highRxt);
        return { start: hole.start, end };
      }
    }
    return undefined;
  }

  private finPendingAt(seq: number): boolean {
    return this.finSeq !== undefined && this.finSeq === seq;
  }

  private finSentAt(seq: number): boolean {
    return this.finSeq !== undefined && seqGt(seq, this.finSeq);
  }

  private dataSegment(seq: number, offset: number, length: number, fin: boolean): TcpSegment {
    const payload = length > 0 ? this.sendBuffer.peek(offset, length) : EMPTY;
    const isRetransmission = seqLt(seq, this.sndMax);
    let end = seqAdd(seq, length);
    let flags = TcpFlag.ACK;
    if (length > 0 && offset + length === this.sendBuffer.length) flags |= TcpFlag.PSH;
    if (fin || this.finPendingAt(end)) {
      if (this.finQueued) {
        this.finSeq = end;
        flags |= TcpFlag.FIN;
        end = seqAdd(end, 1);
      }
    }
    if (isRetransmission) {
      this.stats.retransmissions++;
      this.timedSeq = undefined;
      this.retransmittedAtTs = this.tsValue();
    } else if (this.timedSeq === undefined) {
      this.timedSeq = end;
      this.timedAt = this.now;
    }
    if (seq === this.sndNxt) this.sndNxt = end;
    this.sndMax = seqMax(this.sndMax, end);
    if (this.rtoAt === undefined) this.rtoAt = this.now + this.rtt.rto;
    if (this.rackOn) {
      this.sendTimes.record(seq, end, this.now, isRetransmission);
      // §7.2: the probe timer runs from the latest transmission of new data.
      if (!isRetransmission) this.armProbeTimer();
    }
    return this.buildSegment(seq, flags, payload);
  }

  private takeAck(): TcpSegment | undefined {
    const point = this.ackPoints[0];
    const trigger = this.sackTriggers[0];
    // A batch's ACKs leave in the order of the segments that made them, as they would have one by one.
    if (trigger !== undefined && (point === undefined || trigger.order < point.order)) return this.takeTriggerAck(trigger);
    if (point !== undefined && (this.ackPoints.length > 1 || trigger !== undefined || point.ack !== this.rcvNxt)) {
      // An ACK owed for part of a batch: everything after it is answered by the ones that follow.
      this.ackPoints.shift();
      const segment = this.buildSegment(this.sndMax, TcpFlag.ACK, EMPTY, point.sack ?? this.heldBlocks(), point.ack);
      this.ackNow = true;
      return segment;
    }
    if (!this.ackNow && !this.moreAcksOwed()) return undefined;
    // A bare ACK carries SND.MAX, not a SND.NXT moved back by a timeout: the peer may hold
    // everything up to SND.MAX, and would find an older sequence number unacceptable.
    const ack = this.buildSegment(this.sndMax, TcpFlag.ACK, EMPTY, this.sackBlocks());
    if (this.dupAcksOwed > 0) this.dupAcksOwed--;
    this.ackNow = this.moreAcksOwed();
    return ack;
  }

  /** Whether ACKs are owed beyond a pending one: a duplicate for each out-of-order segment, one for each arrival or duplicate to report. */
  private moreAcksOwed(): boolean {
    return this.dupAcksOwed > 0 || this.sackTriggers.length > 0 || this.duplicateReports.length > 0;
  }

  /** A D-SACK block to report (RFC 2883); past a bound, the latest replaces the last one kept. */
  private noteDuplicate(block: SackBlock): void {
    const reports = this.duplicateReports;
    if (reports.length < MAX_DUPLICATE_REPORTS) reports.push(block);
    else reports[reports.length - 1] = block;
  }

  /**
   * One ACK of the oldest out-of-order arrival of the batch still owed one,
   * as it would have left had the arrival been answered at once: its ACK
   * number and its blocks are those of then (RFC 2018 §4: the block holding
   * the arrival first), a D-SACK block it has yet to report before them (RFC
   * 2883 §4). A sender takes for lost what it sent before a segment an ACK
   * reports and that no block has named (RFC 8985 §6.2): an ACK that named
   * data sent later, or carried a number a retransmission that came later
   * brought, before the batch's other ACKs named the runs that came in
   * between, would have it send those again.
   */
  private takeTriggerAck(trigger: SackTrigger): TcpSegment {
    if (--trigger.acks <= 0) this.sackTriggers.shift();
    const blocks: SackBlock[] = trigger.duplicate === undefined ? [] : [trigger.duplicate];
    trigger.duplicate = undefined;
    for (const block of trigger.blocks) {
      if (blocks.length === 4) break;
      // A FIN that came later in the batch goes in the block of the run it ends, as heldBlock puts it.
      blocks.push({ left: block.left, right: this.withHeldFin(block.right) });
    }
    const segment = this.buildSegment(this.sndMax, TcpFlag.ACK, EMPTY, { sack: blocks }, trigger.ack);
    if (this.dupAcksOwed > 0) this.dupAcksOwed--;
    // The ACK of RCV.NXT is still owed when this one was of an older number.
    this.ackNow = trigger.ack !== this.rcvNxt || this.moreAcksOwed();
    return segment;
  }

  /**
   * The SACK blocks of an ACK of RCV.NXT that answers no particular arrival:
   * the runs as they are now, the latest first (RFC 2018 §4), after a D-SACK
   * block still to report (RFC 2883 §4).
   */
  private sackBlocks(): TcpOptions {
    const duplicate = this.takeDuplicateReport(true);
    if (!this.sackPermitted || (this.reassembly.isEmpty && duplicate === undefined)) return NO_OPTIONS;
    // A sender knows a block above the ACK for a duplicate only when the next block holds it.
    const blocks: SackBlock[] = duplicate === undefined ? [] : [duplicate];
    const holding = duplicate !== undefined && this.isHeld(duplicate) ? seqDiff(duplicate.left, this.rcvNxt) : undefined;
    return { sack: this.appendHeldBlocks(blocks, holding) };
  }

  /** Whether a D-SACK block reports held data (above RCV.NXT), not data already delivered. */
  private isHeld(block: SackBlock): boolean {
    return seqGt(block.right, this.rcvNxt);
  }

  /** The next D-SACK block still to report; one of held data only when `heldToo`. */
  private takeDuplicateReport(heldToo: boolean): SackBlock | undefined {
    const next = this.duplicateReports[0];
    if (next === undefined || (!heldToo && this.isHeld(next))) return undefined;
    return this.duplicateReports.shift();
  }

  /** The held runs as they are now, the most recently changed first: an ACK's SACK blocks for in-order data. */
  private heldBlocks(): TcpOptions {
    if (!this.sackPermitted || this.reassembly.isEmpty) return NO_OPTIONS;
    return { sack: this.appendHeldBlocks([]) };
  }

  /**
   * The held runs `Reassembler.sackRanges` chooses, as SACK blocks after `blocks`: four blocks in
   * all, the run holding `holdingOffset` (from RCV.NXT) first where one does.
   */
  private appendHeldBlocks(blocks: SackBlock[], holdingOffset?: number): SackBlock[] {
    for (const range of this.reassembly.sackRanges(4 - blocks.length, holdingOffset)) blocks.push(this.heldBlock(range));
    return blocks;
  }

  /** Every segment we send carries the current ACK and window, so it clears any pending ACK. */
  private buildSegment(
    seq: number,
    flags: number,
    payload: Uint8Array,
    options: TcpOptions = NO_OPTIONS,
    ack = this.rcvNxt,
  ): TcpSegment {
    this.ackNow = false;
    if (ack === this.rcvNxt) {
      this.segmentsUnacked = 0;
      if (this.ackPoints.length > 0) this.ackPoints.length = 0;
    }
    this.lastAckSent = ack;
    if (this.timestampsOn) {
      const timestamps = { value: this.tsValue(), echo: this.tsRecent };
      options = options === NO_OPTIONS ? { timestamps } : withTimestamps(options, timestamps);
    }
    this.delayedAckAt = undefined;
    this.stats.segmentsSent++;
    this.advanceRightEdge();
    // §3.8.5: in urgent mode, every segment that starts before SND.UP points to its end.
    const urgent = this.sndUp === undefined ? 0 : urgentPointerFor(this.sndUp, seq);
    if (urgent > 0) flags |= TcpFlag.URG;
    return {
      srcPort: this.localPort,
      dstPort: this.remotePort,
      seq,
      ack,
      flags,
      // The window is counted from this segment's ACK number, so every ACK names the same right edge.
      window: Math.min(Math.max(seqDiff(this.rcvRightEdge, ack), 0) >>> this.rcvShift, 0xffff),
      urgent,
      options,
      payload,
    };
  }

  // ------------------------------------------------------- receive window

  private receiveBufferFree(): number {
    return Math.max(this.config.receiveBufferSize - this.unconsumed, 0);
  }

  /** The right edge we would offer now, rounded down to what the window scale can express. */
  private rcvRightEdgeNow(): number {
    return seqMax(this.rcvRightEdge, this.candidateRightEdge());
  }

  private candidateRightEdge(): number {
    const free = this.receiveBufferFree();
    const expressible = Math.min(free, 0xffff << this.rcvShift);
    const rounded = (expressible >>> this.rcvShift) << this.rcvShift;
    return seqAdd(this.rcvNxt, rounded);
  }

  /** RCV.WND: what the peer may send beyond RCV.NXT according to our last advertisement. */
  private receiveWindow(): number {
    return Math.max(seqDiff(this.rcvRightEdge, this.rcvNxt), 0);
  }

  /** Receiver silly window avoidance (§3.8.6.2.2): move the right edge only by worthwhile amounts. */
  private advanceRightEdge(): void {
    const candidate = this.candidateRightEdge();
    const increase = seqDiff(candidate, this.rcvRightEdge);
    const threshold = Math.min(this.config.receiveBufferSize / 2, this.config.mss);
    if (increase >= threshold || seqLt(this.rcvRightEdge, this.rcvNxt)) {
      this.rcvRightEdge = seqMax(candidate, this.rcvRightEdge);
    }
  }

  private windowUpdateWorthSending(): boolean {
    const increase = seqDiff(this.candidateRightEdge(), this.rcvRightEdge);
    const threshold = Math.min(this.config.receiveBufferSize / 2, this.config.mss);
    // Tell the peer promptly when its view of the window is small: it may be probing a zero window.
    return increase >= threshold && (this.receiveWindow() < 2 * this.config.mss || increase >= this.config.receiveBufferSize / 2);
  }

  // --------------------------------------------------- machine plumbing

  private isSynchronized(): boolean {
    const s = this.stateName;
    return s !== 'CLOSED' && s !== 'LISTEN' && s !== 'SYN-SENT' && s !== 'SYN-RECEIVED';
  }

  private acceptsUserData(): boolean {
    const s = this.stateName;
    return s === 'SYN-SENT' || s === 'SYN-RECEIVED' || s === 'ESTABLISHED' || s === 'CLOSE-WAIT';
  }

  private isClosingForSend(): boolean {
    return !this.acceptsUserData();
  }

  private queueReset(seq: number, ack: number, flags: number, dstPort = this.remotePort): void {
    this.rstPending = {
      srcPort: this.localPort,
      dstPort,
      seq,
      ack,
      flags,
      window: 0,
      urgent: 0,
      options: NO_OPTIONS,
      payload: EMPTY,
    };
  }

  private emit(event: ConnectionEvent): void {
    this.events.push(event);
  }

  /** Sends an arc of the state diagram to the machine and carries out the arc's actions. */
  private fire(type: TcpMachineEvent['type']): void {
    const event = { type } as TcpMachineEvent;
    if (!this.actor.getSnapshot().can(event)) return; // not an arc of the current state
    const actions: TcpMachineAction[] = [];
    const outer = collecting;
    collecting = actions;
    try {
      this.actor.send(event);
    } finally {
      collecting = outer;
    }
    const after = this.actor.getSnapshot();
    const from = this.stateName;
    this.stateName = after.value as TcpState;
    if (from !== this.stateName) this.emit({ type: 'state', from, to: this.stateName });
    // A peer that never sends its FIN must not hold FIN-WAIT-2 forever (the user timeout of §3.10.8).
    this.finWait2At =
      this.stateName === 'FIN-WAIT-2' && this.config.finWait2Timeout > 0 ? this.now + this.config.finWait2Timeout : undefined;
    for (const action of actions) this.perform(action);
  }

  private perform(action: TcpMachineAction): void {
    switch (action) {
      case 'sendSyn':
      case 'sendSynAck':
        this.synPending = true;
        break;
      case 'sendAck':
        this.ackNow = true;
        break;
      case 'queueFin':
        this.finQueued = true;
        this.writableWanted = false;
        break;
      case 'sendRst':
        this.queueReset(this.sndNxt, 0, TcpFlag.RST);
        break;
      case 'startTimeWait':
        this.keepAliveAt = undefined;
        this.timeWaitAt = this.now + 2 * this.config.msl;
        this.rtoAt = undefined;
        this.persistAt = undefined;
        break;
      case 'deleteTcb':
        this.keepAliveAt = undefined;
        this.rtoAt = undefined;
        this.persistAt = undefined;
        this.delayedAckAt = undefined;
        this.timeWaitAt = undefined;
        this.ackNow = false;
        this.synPending = false;
        this.emit({ type: 'closed' });
        break;
      case 'signalEstablished':
        if (this.config.keepAliveIdle > 0) this.keepAliveAt = this.now + this.config.keepAliveIdle;
        this.emit({ type: 'connected' });
        break;
      case 'signalPeerClosed':
        this.emit({ type: 'peer-closed' });
        break;
      case 'signalRefused':
        this.fail('refused');
        break;
      case 'signalReset':
        this.fail('reset');
        break;
      case 'signalTimedOut':
        this.fail(this.softErrorSeen ? 'path-unreachable' : 'timed-out');
        break;
    }
  }

  private fail(error: ConnectionFailure): void {
    this.emit({ type: 'error', error });
  }
}
