import { type SackBlock, type TcpOptions, type TcpSegment, type TcpTimestamps, TcpFlag } from '../../wire/tcp-types.js';
import { defaultTcpConfig, type TcpConfig } from '../config.js';
import { Connection, type IcmpReport } from '../connection.js';
import type { ConnectionEvent } from '../events.js';
import type { TcpState } from '../machine.js';
import { seqAdd, seqDiff } from '../seq.js';

/**
 * Scripted scenarios in the spirit of packetdrill: one connection, a peer whose
 * every segment is written out, and exact expectations on what the connection
 * sends and when. Sequence numbers in scripts are relative, as packetdrill
 * shows them: the peer's to its ISN, ours to ours.
 */

export const LOCAL_PORT = 8080;
export const PEER_PORT = 45_000;
/** Close to 2^32, so relative numbers cross the wrap within a script. */
export const OUR_ISS = 0xffff_f000;
export const PEER_ISS = 0x1234_5678;
export const MSS = 1460;

const FLAG_LETTERS: Readonly<Record<string, number>> = {
  S: TcpFlag.SYN,
  A: TcpFlag.ACK,
  F: TcpFlag.FIN,
  R: TcpFlag.RST,
  P: TcpFlag.PSH,
  U: TcpFlag.URG,
};

/** `'SA'` → SYN|ACK. */
export const parseFlags = (letters: string): number => {
  let flags = 0;
  for (const letter of letters) {
    const bit = FLAG_LETTERS[letter];
    if (bit === undefined) throw new Error(`unknown flag letter ${letter} in "${letters}"`);
    flags |= bit;
  }
  return flags;
};

export const formatFlags = (flags: number): string =>
  Object.entries(FLAG_LETTERS)
    .filter(([, bit]) => (flags & bit) !== 0)
    .map(([letter]) => letter)
    .join('') || '-';

/** A SACK block in relative numbers: [left, right). */
export type RelativeBlock = readonly [number, number];

/** A segment the peer sends; relative numbers, payload given by length or bytes. */
export interface PeerSegment {
  readonly flags: string;
  readonly seq: number;
  readonly ack?: number;
  readonly win?: number;
  readonly len?: number;
  readonly payload?: Uint8Array;
  /** The urgent pointer field (flags should name U for it to mean anything). */
  readonly up?: number;
  readonly options?: TcpOptions;
  /** SACK blocks over our data, relative to our ISN; added to `options`. */
  readonly sack?: readonly RelativeBlock[];
  /** The peer's TSval and TSecr (absolute: the script picks the peer's clock); added to `options`. */
  readonly ts?: TcpTimestamps;
}

/** What a sent segment must look like; fields left out are not checked. PSH is checked only when named. */
export interface Expected {
  readonly flags: string;
  readonly seq?: number;
  readonly ack?: number;
  readonly win?: number;
  readonly len?: number;
  readonly maxLen?: number;
  /** The urgent pointer field; URG itself is checked with the flags. */
  readonly up?: number;
  /** Virtual time it was sent at. */
  readonly at?: number;
  /** The SACK blocks in order, relative to the peer's ISN; `[]` means none at all. */
  readonly sack?: readonly RelativeBlock[];
  /** Whether a timestamps option is present. */
  readonly timestamps?: boolean;
  /** TSecr of the timestamps option (which must then be present). */
  readonly tsEcho?: number;
}

export interface Sent {
  readonly at: number;
  readonly segment: TcpSegment;
}

/** One connection and its scripted peer, with a virtual clock and a log of everything on the wire. */
export class Drill {
  now = 0;
  readonly connection: Connection;
  /** Every segment the connection sent, in order, whether or not an expectation took it yet. */
  readonly sentLog: Sent[] = [];
  private readonly outbox: Sent[] = [];
  private readonly wire: string[] = [];
  private readonly eventLog: ConnectionEvent[] = [];
  /** The views of every data event, in order, kept as the user got them. */
  private readonly dataViews: Uint8Array[] = [];

  constructor(
    readonly mode: 'active' | 'passive',
    config: Partial<TcpConfig> = {},
  ) {
    this.connection = new Connection({
      localPort: LOCAL_PORT,
      remotePort: mode === 'active' ? PEER_PORT : 0,
      iss: OUR_ISS,
      config: { ...defaultTcpConfig, ...config },
    });
  }

  // ------------------------------------------------------------ time

  /** Moves the clock to `time`, running every timer due on the way at its own deadline. */
  at(time: number): this {
    if (time < this.now) throw new Error(`script goes back in time: ${time} < ${this.now}`);
    for (let i = 0; i < 10_000; i++) {
      const deadline = this.connection.nextDeadline();
      if (deadline === undefined || deadline > time) break;
      this.now = Math.max(this.now, deadline);
      this.connection.handleTimeout(this.now);
      this.collect();
    }
    this.now = time;
    return this;
  }

  // ------------------------------------------------------------ inputs

  readonly user = {
    open: (): this => this.input(() => this.connection.open(this.mode, this.now)),
    send: (bytes: number | Uint8Array): this =>
      this.input(() => {
        const data = typeof bytes === 'number' ? new Uint8Array(bytes).fill(0x61) : bytes;
        const accepted = this.connection.send(data, this.now);
        if (accepted !== data.length) throw new Error(`send accepted ${accepted} of ${data.length} bytes`);
      }),
    /** SEND with the URGENT flag (RFC 9293 §3.10.2). */
    sendUrgent: (bytes: number): this =>
      this.input(() => {
        const accepted = this.connection.send(new Uint8Array(bytes).fill(0x75), this.now, true);
        if (accepted !== bytes) throw new Error(`send accepted ${accepted} of ${bytes} bytes`);
      }),
    close: (): this => this.input(() => this.connection.close(this.now)),
    abort: (): this => this.input(() => this.connection.abort(this.now)),
  };

  peerSends(spec: PeerSegment): this {
    const segment = this.peerSegment(spec);
    return this.input(() => this.connection.handleSegment(segment, this.now));
  }

  /**
   * Segments that arrive in one batch (as receive offload hands them over):
   * all are taken in before the connection is asked what to send.
   */
  peerSendsTogether(specs: readonly PeerSegment[]): this {
    const segments = specs.map((spec) => this.peerSegment(spec));
    return this.input(() => {
      for (const segment of segments) this.connection.handleSegment(segment, this.now);
    });
  }

  /**
   * An ICMP error quoting our segment at `seq` (counted from our ISS), as the host hands
   * it over; `expectTaken` says whether the connection should take it.
   */
  icmpError(severity: 'soft' | 'hard', seq: number, expectTaken = true): this {
    return this.icmpReport({ kind: severity, seq }, expectTaken);
  }

  /** A router's "fragmentation needed" for our segment at `seq`, the next hop's MTU `mtu` (RFC 1191). */
  packetTooBig(seq: number, mtu: number, expectTaken = true): this {
    return this.icmpReport({ kind: 'packet-too-big', seq, mtu }, expectTaken);
  }

  private icmpReport(report: IcmpReport, expectTaken: boolean): this {
    return this.input(() => {
      const taken = this.connection.handleIcmpError({ ...report, seq: seqAdd(OUR_ISS, report.seq) }, this.now);
      if (taken !== expectTaken) this.fail(`the ICMP error was ${taken ? 'taken' : 'ignored'}`);
    });
  }

  // ------------------------------------------------------------ expectations

  expectSent(expected: Expected): this {
    const { segment, at } = this.takeSent(`expected ${JSON.stringify(expected)}`);
    const flagMask = expected.flags.includes('P') ? 0xff : 0xff & ~TcpFlag.PSH;
    const actual = {
      flags: formatFlags(segment.flags & flagMask),
      seq: seqDiff(segment.seq, OUR_ISS),
      ack: seqDiff(segment.ack, PEER_ISS),
      win: segment.window,
      len: segment.payload.length,
      up: segment.urgent,
      at,
    };
    const mismatches: string[] = [];
    if (actual.flags !== formatFlags(parseFlags(expected.flags))) mismatches.push(`flags ${actual.flags}`);
    for (const field of ['seq', 'ack', 'win', 'len', 'up', 'at'] as const) {
      const want = expected[field];
      if (want !== undefined && actual[field] !== want) mismatches.push(`${field} ${actual[field]} (expected ${want})`);
    }
    if (expected.maxLen !== undefined && actual.len > expected.maxLen) mismatches.push(`len ${actual.len} > ${expected.maxLen}`);
    if (expected.sack !== undefined) {
      const blocks = formatBlocks(relativeBlocks(segment.options.sack ?? [], PEER_ISS));
      if (blocks !== formatBlocks(expected.sack)) mismatches.push(`sack ${blocks} (expected ${formatBlocks(expected.sack)})`);
    }
    const ts = segment.options.timestamps;
    if (expected.timestamps !== undefined && (ts !== undefined) !== expected.timestamps) {
      mismatches.push(ts === undefined ? 'no timestamps' : `timestamps ${ts.value}/${ts.echo} (expected none)`);
    }
    if (expected.tsEcho !== undefined && ts?.echo !== expected.tsEcho) {
      mismatches.push(`TSecr ${ts?.echo ?? 'absent'} (expected ${expected.tsEcho})`);
    }
    if (mismatches.length > 0) this.fail(`sent segment differs: ${mismatches.join(', ')}`);
    return this;
  }

  /** Takes the next sent segment for checks of its own; fails when nothing was sent. */
  takeSent(what = 'expected a segment'): Sent {
    const sent = this.outbox.shift();
    if (sent === undefined) this.fail(`${what}, but nothing was sent`);
    return sent!;
  }

  /** Takes every sent segment not yet taken, for checks of their own. */
  takeAllSent(): Sent[] {
    return this.outbox.splice(0, this.outbox.length);
  }

  expectNothingSent(): this {
    if (this.outbox.length > 0) this.fail(`expected nothing sent, but ${this.outbox.length} segment(s) were`);
    return this;
  }

  expectState(state: TcpState): this {
    if (this.connection.state !== state) this.fail(`expected ${state}, the connection is in ${this.connection.state}`);
    return this;
  }

  /** User events since the last call, `state` events left out; data as `data:<bytes>`, urgent as `urgent:<end>`. */
  takeEvents(): string[] {
    const events = this.eventLog.splice(0).filter((event) => event.type !== 'state');
    return events.map((event) => {
      if (event.type === 'data') return `data:${event.data.length}`;
      if (event.type === 'error') return `error:${event.error}`;
      if (event.type === 'urgent') return `urgent:${event.end}`;
      if (event.type === 'black-hole') return `black-hole:${event.pathMtu}`;
      if (event.type === 'path-mtu-raised') return `path-mtu-raised:${event.pathMtu}`;
      return event.type;
    });
  }

  /** Runs the clock until the connection sends something, up to `limit`; returns the send time. */
  runUntilSent(limit: number): number {
    for (let i = 0; i < 1000 && this.outbox.length === 0; i++) {
      const deadline = this.connection.nextDeadline();
      if (deadline === undefined || deadline > limit) this.fail(`nothing sent before ${limit} ms`);
      this.at(deadline!);
    }
    return this.outbox[0]!.at;
  }

  // ------------------------------------------------------------ the usual openings

  /**
   * The passive three-way handshake (RFC 9293 §3.5), the peer's ACK after `rtt`.
   * `synOptions` are what the peer's SYN offers beside its MSS (SACK-permitted,
   * a window scale, timestamps).
   */
  passiveHandshake({ rtt = 100, synOptions = {} }: { rtt?: number; synOptions?: TcpOptions } = {}): this {
    return this.user
      .open()
      .peerSends({ flags: 'S', seq: 0, options: { mss: MSS, ...synOptions } })
      .expectSent({ flags: 'SA', seq: 0, ack: 1 })
      .at(this.now + rtt)
      .peerSends({ flags: 'A', seq: 1, ack: 1 })
      .expectNothingSent()
      .expectState('ESTABLISHED')
      .expectEvents(['connected']);
  }

  expectEvents(expected: readonly string[]): this {
    const events = this.takeEvents();
    if (events.join() !== expected.join()) this.fail(`events ${JSON.stringify(events)}, expected ${JSON.stringify(expected)}`);
    return this;
  }

  /** Throws with the wire so far: for checks a test makes on its own. */
  fail(message: string): never {
    throw new Error(`${message}\n  at ${this.now} ms in ${this.connection.state}; wire so far:\n    ${this.wire.join('\n    ')}`);
  }

  // ------------------------------------------------------------ internals

  private peerSegment(spec: PeerSegment): TcpSegment {
    const payload = spec.payload ?? new Uint8Array(spec.len ?? 0).fill(0x62);
    const sack: SackBlock[] | undefined = spec.sack?.map(([left, right]) => ({
      left: seqAdd(OUR_ISS, left),
      right: seqAdd(OUR_ISS, right),
    }));
    const options: TcpOptions = {
      ...spec.options,
      ...(sack !== undefined ? { sack } : {}),
      ...(spec.ts !== undefined ? { timestamps: spec.ts } : {}),
    };
    const segment: TcpSegment = {
      srcPort: PEER_PORT,
      dstPort: LOCAL_PORT,
      seq: seqAdd(PEER_ISS, spec.seq),
      ack: spec.ack === undefined ? 0 : seqAdd(OUR_ISS, spec.ack),
      flags: parseFlags(spec.flags),
      window: spec.win ?? 65_535,
      urgent: spec.up ?? 0,
      options,
      payload,
    };
    this.wire.push(`${this.now} ms < ${this.describe(segment, 'peer')}`);
    return segment;
  }

  private input(action: () => void): this {
    action();
    this.collect();
    return this;
  }

  private collect(): void {
    for (let i = 0; i < 10_000; i++) {
      const segment = this.connection.pollSegment(this.now);
      if (segment === undefined) break;
      const sent = { at: this.now, segment };
      this.outbox.push(sent);
      this.sentLog.push(sent);
      this.wire.push(`${this.now} ms > ${this.describe(segment, 'ours')}`);
    }
    for (let event = this.connection.pollEvent(); event; event = this.connection.pollEvent()) {
      this.eventLog.push(event);
      if (event.type === 'data') this.dataViews.push(event.data);
    }
  }

  /** Every byte the data events delivered so far, read from their views now, as a user who kept them would. */
  receivedBytes(): Uint8Array {
    return Uint8Array.from(this.dataViews.flatMap((view) => Array.from(view)));
  }

  private describe(segment: TcpSegment, from: 'ours' | 'peer'): string {
    const [ownIss, otherIss] = from === 'ours' ? [OUR_ISS, PEER_ISS] : [PEER_ISS, OUR_ISS];
    const ack = segment.flags & TcpFlag.ACK ? ` ack=${seqDiff(segment.ack, otherIss)}` : '';
    const { sack, timestamps } = segment.options;
    const sackText = sack && sack.length > 0 ? ` sack ${formatBlocks(relativeBlocks(sack, otherIss))}` : '';
    const tsText = timestamps ? ` ts ${timestamps.value}/${timestamps.echo}` : '';
    const upText = segment.flags & TcpFlag.URG ? ` up=${segment.urgent}` : '';
    return (
      `${formatFlags(segment.flags)} seq=${seqDiff(segment.seq, ownIss)}${ack} win=${segment.window} ` +
      `len=${segment.payload.length}${upText}${sackText}${tsText}`
    );
  }
}

/** SACK blocks as relative numbers against `iss`. */
export const relativeBlocks = (blocks: readonly SackBlock[], iss: number): RelativeBlock[] =>
  blocks.map(({ left, right }) => [seqDiff(left, iss), seqDiff(right, iss)] as const);

const formatBlocks = (blocks: readonly RelativeBlock[]): string =>
  blocks.length === 0 ? 'none' : blocks.map(([left, right]) => `${left}-${right}`).join(' ');
