import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type TcpOptions, type TcpSegment, TcpFlag } from '../wire/tcp-types.js';
import { defaultTcpConfig, type TcpConfig } from './config.js';
import { Connection } from './connection.js';
import type { ConnectionEvent } from './events.js';
import type { TcpState } from './machine.js';
import { resetFor } from './reset.js';
import { seqAdd, seqDiff } from './seq.js';

/**
 * Scripted scenarios in the spirit of packetdrill: one connection, a peer whose
 * every segment is written out, and exact expectations on what the connection
 * sends and when. Sequence numbers in scripts are relative, as packetdrill
 * shows them: the peer's to its ISN, ours to ours.
 */

const LOCAL_PORT = 8080;
const PEER_PORT = 45_000;
/** Close to 2^32, so relative numbers cross the wrap within a script. */
const OUR_ISS = 0xffff_f000;
const PEER_ISS = 0x1234_5678;
const MSS = 1460;

const FLAG_LETTERS: Readonly<Record<string, number>> = {
  S: TcpFlag.SYN,
  A: TcpFlag.ACK,
  F: TcpFlag.FIN,
  R: TcpFlag.RST,
  P: TcpFlag.PSH,
};

/** `'SA'` → SYN|ACK. */
const parseFlags = (letters: string): number => {
  let flags = 0;
  for (const letter of letters) {
    const bit = FLAG_LETTERS[letter];
    if (bit === undefined) throw new Error(`unknown flag letter ${letter} in "${letters}"`);
    flags |= bit;
  }
  return flags;
};

const formatFlags = (flags: number): string =>
  Object.entries(FLAG_LETTERS)
    .filter(([, bit]) => (flags & bit) !== 0)
    .map(([letter]) => letter)
    .join('') || '-';

/** A segment the peer sends; relative numbers, payload given by length or bytes. */
interface PeerSegment {
  readonly flags: string;
  readonly seq: number;
  readonly ack?: number;
  readonly win?: number;
  readonly len?: number;
  readonly payload?: Uint8Array;
  readonly options?: TcpOptions;
}

/** What a sent segment must look like; fields left out are not checked. PSH is checked only when named. */
interface Expected {
  readonly flags: string;
  readonly seq?: number;
  readonly ack?: number;
  readonly win?: number;
  readonly len?: number;
  readonly maxLen?: number;
  /** Virtual time it was sent at. */
  readonly at?: number;
}

interface Sent {
  readonly at: number;
  readonly segment: TcpSegment;
}

/** One connection and its scripted peer, with a virtual clock and a log of everything on the wire. */
class Drill {
  now = 0;
  readonly connection: Connection;
  private readonly outbox: Sent[] = [];
  private readonly wire: string[] = [];
  private readonly eventLog: ConnectionEvent[] = [];

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
    close: (): this => this.input(() => this.connection.close(this.now)),
    abort: (): this => this.input(() => this.connection.abort(this.now)),
  };

  peerSends(spec: PeerSegment): this {
    const payload = spec.payload ?? new Uint8Array(spec.len ?? 0).fill(0x62);
    const segment: TcpSegment = {
      srcPort: PEER_PORT,
      dstPort: LOCAL_PORT,
      seq: seqAdd(PEER_ISS, spec.seq),
      ack: spec.ack === undefined ? 0 : seqAdd(OUR_ISS, spec.ack),
      flags: parseFlags(spec.flags),
      window: spec.win ?? 65_535,
      urgent: 0,
      options: spec.options ?? {},
      payload,
    };
    this.wire.push(`${this.now} ms < ${this.describe(segment, 'peer')}`);
    return this.input(() => this.connection.handleSegment(segment, this.now));
  }

  // ------------------------------------------------------------ expectations

  expectSent(expected: Expected): this {
    const sent = this.outbox.shift();
    if (sent === undefined) this.fail(`expected ${JSON.stringify(expected)}, but nothing was sent`);
    const { segment, at } = sent!;
    const flagMask = expected.flags.includes('P') ? 0xff : 0xff & ~TcpFlag.PSH;
    const actual = {
      flags: formatFlags(segment.flags & flagMask),
      seq: seqDiff(segment.seq, OUR_ISS),
      ack: seqDiff(segment.ack, PEER_ISS),
      win: segment.window,
      len: segment.payload.length,
      at,
    };
    const mismatches: string[] = [];
    if (actual.flags !== formatFlags(parseFlags(expected.flags))) mismatches.push(`flags ${actual.flags}`);
    for (const field of ['seq', 'ack', 'win', 'len', 'at'] as const) {
      const want = expected[field];
      if (want !== undefined && actual[field] !== want) mismatches.push(`${field} ${actual[field]} (expected ${want})`);
    }
    if (expected.maxLen !== undefined && actual.len > expected.maxLen) mismatches.push(`len ${actual.len} > ${expected.maxLen}`);
    if (mismatches.length > 0) this.fail(`sent segment differs: ${mismatches.join(', ')}`);
    return this;
  }

  expectNothingSent(): this {
    if (this.outbox.length > 0) this.fail(`expected nothing sent, but ${this.outbox.length} segment(s) were`);
    return this;
  }

  expectState(state: TcpState): this {
    if (this.connection.state !== state) this.fail(`expected ${state}, the connection is in ${this.connection.state}`);
    return this;
  }

  /** User events since the last call, `state` events left out; data as `data:<bytes>`. */
  takeEvents(): string[] {
    const events = this.eventLog.splice(0).filter((event) => event.type !== 'state');
    return events.map((event) =>
      event.type === 'data' ? `data:${event.data.length}` : event.type === 'error' ? `error:${event.error}` : event.type,
    );
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

  /** The passive three-way handshake (RFC 9293 §3.5), the peer's ACK after `rtt`. */
  passiveHandshake(rtt = 100): this {
    return this.user
      .open()
      .peerSends({ flags: 'S', seq: 0, options: { mss: MSS } })
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

  // ------------------------------------------------------------ internals

  private input(action: () => void): this {
    action();
    this.collect();
    return this;
  }

  private collect(): void {
    for (let i = 0; i < 10_000; i++) {
      const segment = this.connection.pollSegment(this.now);
      if (segment === undefined) break;
      this.outbox.push({ at: this.now, segment });
      this.wire.push(`${this.now} ms > ${this.describe(segment, 'ours')}`);
    }
    for (let event = this.connection.pollEvent(); event; event = this.connection.pollEvent()) this.eventLog.push(event);
  }

  private describe(segment: TcpSegment, from: 'ours' | 'peer'): string {
    const [ownIss, otherIss] = from === 'ours' ? [OUR_ISS, PEER_ISS] : [PEER_ISS, OUR_ISS];
    const ack = segment.flags & TcpFlag.ACK ? ` ack=${seqDiff(segment.ack, otherIss)}` : '';
    return `${formatFlags(segment.flags)} seq=${seqDiff(segment.seq, ownIss)}${ack} win=${segment.window} len=${segment.payload.length}`;
  }

  private fail(message: string): never {
    throw new Error(`${message}\n  at ${this.now} ms in ${this.connection.state}; wire so far:\n    ${this.wire.join('\n    ')}`);
  }
}

describe('scripted scenarios', () => {
  it('retransmits exactly the first unacknowledged segment on the third duplicate ACK (RFC 5681 §3.2)', () => {
    const drill = new Drill('passive').passiveHandshake();
    drill
      .at(200)
      .user.send(4 * MSS)
      .expectSent({ flags: 'A', seq: 1, len: MSS })
      .expectSent({ flags: 'A', seq: 1 + MSS, len: MSS })
      .expectSent({ flags: 'A', seq: 1 + 2 * MSS, len: MSS })
      .expectSent({ flags: 'A', seq: 1 + 3 * MSS, len: MSS })
      .expectNothingSent()
      // The first segment arrives, the second is lost: every later one draws the same ACK.
      .at(300)
      .peerSends({ flags: 'A', seq: 1, ack: 1 + MSS })
      .expectNothingSent()
      .peerSends({ flags: 'A', seq: 1, ack: 1 + MSS })
      .expectNothingSent()
      .peerSends({ flags: 'A', seq: 1, ack: 1 + MSS })
      .expectNothingSent()
      .at(301)
      .peerSends({ flags: 'A', seq: 1, ack: 1 + MSS })
      .expectSent({ flags: 'A', seq: 1 + MSS, len: MSS, at: 301 })
      .expectNothingSent();
    expect(drill.connection.stats.fastRetransmits).toBe(1);
  });

  it('resends SND.UNA on a retransmission timeout and doubles the next timeout (RFC 6298 §5.4, §5.5)', () => {
    const drill = new Drill('passive').passiveHandshake(100);
    // One RTT sample of 100 ms: RTO = SRTT + 4·RTTVAR = 100 + 4·50 (§2.2), above the 200 ms floor.
    const rto = drill.connection.retransmissionTimeout;
    expect(rto).toBe(300);
    drill.at(200).user.send(500).expectSent({ flags: 'A', seq: 1, len: 500, at: 200 });
    drill
      .at(200 + rto - 1)
      .expectNothingSent()
      .at(200 + rto)
      .expectSent({ flags: 'A', seq: 1, len: 500, at: 200 + rto });
    expect(drill.connection.retransmissionTimeout).toBe(2 * rto);
    drill
      .at(200 + 3 * rto - 1)
      .expectNothingSent()
      .at(200 + 3 * rto)
      .expectSent({ flags: 'A', seq: 1, len: 500, at: 200 + 3 * rto })
      .at(200 + 7 * rto)
      .expectSent({ flags: 'A', seq: 1, len: 500, at: 200 + 7 * rto })
      .expectNothingSent();
    // An ACK of new data ends the backoff (§5.7 keeps the backed-off value until a new sample).
    drill.at(200 + 7 * rto + 100).peerSends({ flags: 'A', seq: 1, ack: 501 }).expectNothingSent();
    expect(drill.connection.flightSize).toBe(0);
  });

  it('acknowledges one full segment after the delayed-ACK timeout, two at once (RFC 9293 §3.8.6.3, RFC 5681 §4.2)', () => {
    const delay = defaultTcpConfig.delayedAckTimeout;
    const drill = new Drill('passive').passiveHandshake();
    drill
      .at(200)
      .peerSends({ flags: 'A', seq: 1, ack: 1, len: MSS })
      .expectNothingSent()
      .at(200 + delay - 1)
      .expectNothingSent()
      .at(200 + delay)
      .expectSent({ flags: 'A', seq: 1, ack: 1 + MSS, at: 200 + delay })
      .at(400)
      .peerSends({ flags: 'A', seq: 1 + MSS, ack: 1, len: MSS })
      .expectNothingSent()
      .peerSends({ flags: 'A', seq: 1 + 2 * MSS, ack: 1, len: MSS })
      .expectSent({ flags: 'A', seq: 1, ack: 1 + 3 * MSS, at: 400 })
      .at(400 + 2 * delay)
      .expectNothingSent();
    expect(drill.takeEvents()).toEqual([`data:${MSS}`, `data:${MSS}`, `data:${MSS}`]);
  });

  it('stops at a zero window, probes it after the persist timeout, resumes on a window update (§3.8.6.1)', () => {
    const drill = new Drill('passive').passiveHandshake();
    const rto = drill.connection.retransmissionTimeout;
    drill
      .at(200)
      .peerSends({ flags: 'A', seq: 1, ack: 1, win: 0 })
      .user.send(3000)
      .expectNothingSent()
      .at(200 + rto - 1)
      .expectNothingSent();
    const firstProbe = drill.runUntilSent(200 + 10 * rto);
    expect(firstProbe).toBe(200 + rto);
    drill.expectSent({ flags: 'A', maxLen: 1 });
    // The window stays shut: the next probe comes later, and after a longer wait.
    drill.peerSends({ flags: 'A', seq: 1, ack: 1, win: 0 });
    const secondProbe = drill.runUntilSent(firstProbe + 100 * rto);
    expect(secondProbe - firstProbe).toBeGreaterThan(firstProbe - 200);
    drill.expectSent({ flags: 'A', maxLen: 1 }).expectState('ESTABLISHED');
    // The peer's reader caught up: the update releases everything queued, in order from SND.UNA.
    drill
      .at(secondProbe + 10)
      .peerSends({ flags: 'A', seq: 1, ack: 1, win: 65_535 })
      .expectSent({ flags: 'A', seq: 1, len: MSS })
      .expectSent({ flags: 'A', seq: 1 + MSS, len: MSS })
      // Nagle (§3.7.4): the small rest waits while full segments are unacknowledged.
      .expectNothingSent()
      .peerSends({ flags: 'A', seq: 1, ack: 1 + 2 * MSS })
      .expectSent({ flags: 'A', seq: 1 + 2 * MSS, len: 3000 - 2 * MSS })
      .expectNothingSent()
      .peerSends({ flags: 'A', seq: 1, ack: 3001 });
    expect(drill.connection.flightSize).toBe(0);
    expect(drill.connection.sendQueueLength).toBe(0);
  });

  it('holds a FIN that arrives ahead of missing data until the data arrives (§3.10.7.4, eighth step)', () => {
    const drill = new Drill('passive').passiveHandshake();
    drill
      .at(200)
      .peerSends({ flags: 'FA', seq: 1001, ack: 1, len: 1000 })
      // Out of order: an immediate duplicate ACK for the hole (RFC 5681 §4.2), no FIN acknowledged.
      .expectSent({ flags: 'A', seq: 1, ack: 1 })
      .expectState('ESTABLISHED');
    expect(drill.takeEvents()).toEqual([]);
    drill
      .at(210)
      .peerSends({ flags: 'A', seq: 1, ack: 1, len: 1000 })
      .expectSent({ flags: 'A', seq: 1, ack: 2002 })
      .expectState('CLOSE-WAIT');
    const events = drill.takeEvents();
    expect(events.filter((event) => event.startsWith('data:')).reduce((sum, e) => sum + Number(e.slice(5)), 0)).toBe(2000);
    expect(events.at(-1)).toBe('peer-closed');
  });

  it('answers an ACK of data never sent with an ACK and drops the segment, text included (RFC 5961 §5.2)', () => {
    const drill = new Drill('passive').passiveHandshake();
    drill
      .at(200)
      .user.send(100)
      .expectSent({ flags: 'A', seq: 1, len: 100 })
      .at(210)
      .peerSends({ flags: 'PA', seq: 1, ack: 101 + 5000, len: 50 })
      .expectSent({ flags: 'A', seq: 101, ack: 1, len: 0 })
      .expectNothingSent()
      .expectState('ESTABLISHED');
    expect(drill.takeEvents()).toEqual([]);
    expect(drill.connection.flightSize).toBe(100);
    // The same text with a believable ACK is taken.
    drill.at(220).peerSends({ flags: 'PA', seq: 1, ack: 101, len: 50 });
    expect(drill.takeEvents()).toEqual(['data:50']);
    expect(drill.connection.flightSize).toBe(0);
  });

  it('answers a SYN in ESTABLISHED with a challenge ACK and stays established (RFC 5961 §4.2)', () => {
    const drill = new Drill('passive').passiveHandshake();
    drill
      .at(200)
      .peerSends({ flags: 'S', seq: 1, options: { mss: MSS } })
      .expectSent({ flags: 'A', seq: 1, ack: 1, len: 0 })
      .expectNothingSent()
      .expectState('ESTABLISHED')
      .at(300)
      .peerSends({ flags: 'S', seq: 40_000, options: { mss: MSS } })
      .expectSent({ flags: 'A', seq: 1, ack: 1, len: 0 })
      .expectState('ESTABLISHED');
    expect(drill.takeEvents()).toEqual([]);
  });

  it('after a retransmission timeout, a bare ACK carries the highest sequence number sent, which the peer accepts', () => {
    // The peer received all three segments but its ACKs were lost; its next segment still acknowledges
    // nothing new. Our ACK of its data must not carry an old sequence number: below the peer's RCV.NXT
    // it fails the acceptability test (§3.10.7.4, first step) and the peer drops it.
    const drill = new Drill('passive').passiveHandshake();
    const rto = drill.connection.retransmissionTimeout;
    drill
      .at(200)
      .user.send(3 * MSS)
      .expectSent({ flags: 'A', seq: 1, len: MSS })
      .expectSent({ flags: 'A', seq: 1 + MSS, len: MSS })
      .expectSent({ flags: 'A', seq: 1 + 2 * MSS, len: MSS })
      .at(200 + rto)
      .expectSent({ flags: 'A', seq: 1, len: MSS })
      .at(200 + rto + 10)
      .peerSends({ flags: 'PA', seq: 1, ack: 1, len: 100 })
      .at(200 + rto + 10 + defaultTcpConfig.delayedAckTimeout)
      .expectSent({ flags: 'A', seq: 1 + 3 * MSS, ack: 101, len: 0 });
  });
});

describe('segments to a closed port (§3.10.7.1)', () => {
  const segment = (flags: number, seq: number, ack: number, length: number): TcpSegment => ({
    srcPort: PEER_PORT,
    dstPort: LOCAL_PORT,
    seq,
    ack,
    flags,
    window: 1000,
    urgent: 0,
    options: {},
    payload: new Uint8Array(length),
  });

  it('answers a SYN with <SEQ=0><ACK=SEG.SEQ+1><CTL=RST,ACK> and an ACK with <SEQ=SEG.ACK><CTL=RST>', () => {
    expect(resetFor(segment(TcpFlag.SYN, 0xffff_ffff, 0, 0))).toMatchObject({
      srcPort: LOCAL_PORT,
      dstPort: PEER_PORT,
      seq: 0,
      ack: 0,
      flags: TcpFlag.RST | TcpFlag.ACK,
      payload: new Uint8Array(0),
    });
    expect(resetFor(segment(TcpFlag.ACK | TcpFlag.PSH, 10, 777, 100))).toMatchObject({
      seq: 777,
      flags: TcpFlag.RST,
    });
    expect(resetFor(segment(TcpFlag.FIN, 10, 0, 100))).toMatchObject({ seq: 0, ack: 111, flags: TcpFlag.RST | TcpFlag.ACK });
    expect(resetFor(segment(TcpFlag.RST | TcpFlag.ACK, 10, 777, 0))).toBeUndefined();
  });

  it('for any segment: never answers a RST, and otherwise builds the reset of the RFC', () => {
    const anySegment = fc.record({
      flags: fc.integer({ min: 0, max: 0xff }),
      seq: fc.nat({ max: 0xffff_ffff }),
      ack: fc.nat({ max: 0xffff_ffff }),
      length: fc.integer({ min: 0, max: 1500 }),
    });
    fc.assert(
      fc.property(anySegment, ({ flags, seq, ack, length }) => {
        const incoming = segment(flags, seq, ack, length);
        const reset = resetFor(incoming);
        if (flags & TcpFlag.RST) {
          expect(reset).toBeUndefined();
          return;
        }
        expect(reset).toBeDefined();
        expect({ srcPort: reset!.srcPort, dstPort: reset!.dstPort, payload: reset!.payload.length }).toEqual({
          srcPort: LOCAL_PORT,
          dstPort: PEER_PORT,
          payload: 0,
        });
        if (flags & TcpFlag.ACK) {
          expect({ seq: reset!.seq, flags: reset!.flags }).toEqual({ seq: ack, flags: TcpFlag.RST });
        } else {
          // SEG.LEN counts SYN and FIN (§3.4).
          const segmentLength = length + (flags & TcpFlag.SYN ? 1 : 0) + (flags & TcpFlag.FIN ? 1 : 0);
          expect({ seq: reset!.seq, ack: reset!.ack, flags: reset!.flags }).toEqual({
            seq: 0,
            ack: (seq + segmentLength) >>> 0,
            flags: TcpFlag.RST | TcpFlag.ACK,
          });
        }
      }),
      { numRuns: 300 },
    );
  });

  it('leaves segments to a CLOSED connection unanswered: the host sends the reset, not the connection', () => {
    const connection = new Connection({ localPort: LOCAL_PORT, remotePort: PEER_PORT, iss: OUR_ISS, config: defaultTcpConfig });
    connection.handleSegment(segment(TcpFlag.SYN, 5, 0, 0), 0);
    expect(connection.state).toBe('CLOSED');
    expect(connection.pollSegment(0)).toBeUndefined();
  });
});
