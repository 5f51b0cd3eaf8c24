import fc from 'fast-check';
import { type HostEvent, TcpFlag } from '@tcpts/core';
import { describe, expect, it } from 'vitest';
import type { LinkFaults } from '../faults.js';
import type { MockSocket } from '../socket.js';
import { IP_B, createPair, describeRun, firstDifference, patternBytes, tracedSegments, fastCheckReplay } from './testing.js';

/**
 * For any payloads in both directions, any mix of faults within bounds and any
 * seed, two hosts of the core exchange every byte intact and in order, close,
 * and both reach CLOSED without an error.
 */

const PORT = 5001;
/** TIME-WAIT lasts 2 MSL (RFC 9293 §3.4.2); a short MSL keeps virtual time short. */
const MSL = 400;
const MAX_PAYLOAD = 200_000;
/** Bounds of one run: virtual time and simulation steps. */
const VIRTUAL_TIME_LIMIT = 60 * 60_000;
const STEP_LIMIT = 1_000_000;

type Closing = 'a-first' | 'b-first' | 'both';

interface FaultMix {
  /** Percent of frames lost, duplicated, held back; corruption in tenths of a percent. */
  readonly lossPercent: number;
  readonly duplicatePercent: number;
  readonly reorderPercent: number;
  readonly corruptPermille: number;
  /** Milliseconds. */
  readonly delay: number;
  readonly jitter: number;
  /** A narrow hop on the path that reports itself (RFC 1191), or 0 for none: a 1500 link end to end. */
  readonly pathMtu?: number;
  /** The narrow hop drops in silence, its ICMP filtered: a black hole the senders must find by their timeouts (RFC 4821 §7.7). */
  readonly silentHop?: boolean;
}

interface TransferCase {
  readonly bytesAtoB: number;
  readonly bytesBtoA: number;
  readonly faults: FaultMix;
  readonly closing: Closing;
  readonly seed: number;
  /** Both devices offload TCP checksums, as the packet ring does (the host trusts and leaves them). */
  readonly checksumOffload?: boolean;
  /** Both devices merge the segments that arrive together, as the packet ring does (receive coalescing). */
  readonly receiveCoalescing?: boolean;
}

const toLinkFaults = (mix: FaultMix): LinkFaults => ({
  loss: mix.lossPercent / 100,
  duplicate: mix.duplicatePercent / 100,
  reorder: mix.reorderPercent / 100,
  reorderDelay: 5,
  corrupt: mix.corruptPermille / 1000,
  delay: mix.delay,
  jitter: mix.jitter,
  ...(mix.pathMtu ? { mtu: mix.pathMtu, mtuReport: mix.silentHop !== true } : {}),
});

interface SideRecord {
  socket: MockSocket | undefined;
  /** Virtual times of state changes, `FROM>TO` → time of the latest. */
  readonly stateTimes: Map<string, number>;
  closedAt: number | undefined;
}

const newSide = (): SideRecord => ({ socket: undefined, stateTimes: new Map(), closedAt: undefined });

/** Runs one case; throws an error naming the case, both seeds' replay data and the trace tail. */
const runTransfer = (transferCase: TransferCase): void => {
  const { sim, a, b } = createPair({
    seed: transferCase.seed,
    faults: toLinkFaults(transferCase.faults),
    // Loss of up to 20% each way can eat 7 handshakes in a row once in a few hundred runs;
    // more SYN attempts keep that legitimate give-up (§3.8.3 R2) out of the property.
    tcp: { msl: MSL, maxSynRetransmissions: 12 },
    knownNeighbours: true,
    checksumOffload: transferCase.checksumOffload === true,
    receiveCoalescing: transferCase.receiveCoalescing === true,
  });
  const payloadAtoB = patternBytes(transferCase.bytesAtoB, transferCase.seed);
  const payloadBtoA = patternBytes(transferCase.bytesBtoA, transferCase.seed + 1);
  const sides = { a: newSide(), b: newSide() };
  const closesFirst = (name: 'a' | 'b'): boolean => transferCase.closing === 'both' || transferCase.closing === `${name}-first`;

  const attach = (name: 'a' | 'b', socket: MockSocket, payload: Uint8Array): void => {
    const side = sides[name];
    side.socket = socket;
    socket.onEvent = (event: HostEvent) => {
      if (event.type === 'state') side.stateTimes.set(`${event.from}>${event.to}`, event.at);
      if (event.type === 'closed') side.closedAt = sim.now;
      // The second closer closes once it has seen the peer's FIN.
      if (event.type === 'peer-closed' && !closesFirst(name)) socket.end();
    };
    socket.write(payload);
    if (closesFirst(name)) socket.end();
  };

  b.listen(PORT, (socket) => attach('b', socket, payloadBtoA));
  attach('a', a.connect(IP_B, PORT), payloadAtoB);

  const fail = (what: string): never => {
    throw new Error(
      `${what}\ncase ${JSON.stringify(transferCase)}\n` +
        `a: ${JSON.stringify(sides.a.socket?.events)} received ${sides.a.socket?.bytesReceived}/${payloadBtoA.length}\n` +
        `b: ${JSON.stringify(sides.b.socket?.events)} received ${sides.b.socket?.bytesReceived}/${payloadAtoB.length}\n` +
        describeRun(sim, 80),
    );
  };

  const bothClosed = () => sides.a.socket?.closed === true && sides.b.socket?.closed === true;
  const result = sim.run({ until: bothClosed, maxTime: VIRTUAL_TIME_LIMIT, maxSteps: STEP_LIMIT });
  if (result.reason !== 'until') fail(`both ends did not close (stopped by ${result.reason})`);

  const socketA = sides.a.socket!;
  const socketB = sides.b.socket!;
  for (const [name, socket] of [
    ['a', socketA],
    ['b', socketB],
  ] as const) {
    if (socket.events.some((event) => event.startsWith('error:'))) fail(`${name} reported an error`);
    if (socket.state() !== undefined) fail(`${name} still has a connection in ${socket.state()}`);
  }
  const differenceAtB = firstDifference(socketB.received(), payloadAtoB);
  if (differenceAtB >= 0) fail(`a→b bytes differ from offset ${differenceAtB}`);
  const differenceAtA = firstDifference(socketA.received(), payloadBtoA);
  if (differenceAtA >= 0) fail(`b→a bytes differ from offset ${differenceAtA}`);

  // How each side ended: an active close (FIN-WAIT-1 …) waits out TIME-WAIT for 2 MSL; a passive close
  // (CLOSE-WAIT, LAST-ACK) ends when its FIN is acknowledged. Either may be cut short by a reset only
  // (§3.10.7.4; RFC 1337 describes the TIME-WAIT hazard, and Linux accepts such a reset as well): a late
  // duplicate answered with an ACK draws a RST from a peer that has already closed.
  const segments = tracedSegments(sim.trace());
  for (const name of ['a', 'b'] as const) {
    const side = sides[name];
    const changes = [...side.stateTimes.keys()];
    const activeClose = changes.some((change) => change.endsWith('>FIN-WAIT-1'));
    const passiveClose = changes.some((change) => change.endsWith('>CLOSE-WAIT'));
    if (transferCase.closing === `${name}-first` && !activeClose) fail(`${name} was to close first but did not`);
    if (transferCase.closing === `${name === 'a' ? 'b' : 'a'}-first` && !passiveClose) {
      fail(`${name} was to close second but did not see the peer's FIN first`);
    }
    const resetEnded = segments.some(
      (t) => t.to === name && t.arrival === side.closedAt && (t.segment.flags & TcpFlag.RST) !== 0,
    );
    if (resetEnded) continue;
    if (activeClose) {
      const enteredTimeWait = side.stateTimes.get('FIN-WAIT-2>TIME-WAIT') ?? side.stateTimes.get('CLOSING>TIME-WAIT');
      if (enteredTimeWait === undefined || !side.stateTimes.has('TIME-WAIT>CLOSED')) {
        fail(`${name} closed actively but did not end through TIME-WAIT`);
      }
      // A retransmitted FIN restarts the wait, so 2 MSL is a lower bound from the first entry.
      const waited = side.closedAt! - enteredTimeWait!;
      // Virtual times are fractional (jitter): allow for rounding in (t + 2 MSL) − t.
      if (waited < 2 * MSL - 1e-6) fail(`${name} left TIME-WAIT after ${waited} ms, before 2 MSL, without a RST`);
    } else if (!side.stateTimes.has('LAST-ACK>CLOSED')) {
      fail(`${name} closed passively but did not end through LAST-ACK`);
    }
  }
};

const faultMix: fc.Arbitrary<FaultMix> = fc.record({
  lossPercent: fc.integer({ min: 0, max: 20 }),
  duplicatePercent: fc.integer({ min: 0, max: 10 }),
  reorderPercent: fc.integer({ min: 0, max: 20 }),
  corruptPermille: fc.integer({ min: 0, max: 50 }),
  delay: fc.integer({ min: 0, max: 50 }),
  jitter: fc.integer({ min: 0, max: 20 }),
  pathMtu: fc.oneof(fc.constant(0), fc.integer({ min: 576, max: 1499 })),
  silentHop: fc.boolean(),
});

const transferCase: fc.Arbitrary<TransferCase> = fc.record({
  bytesAtoB: fc.integer({ min: 0, max: MAX_PAYLOAD }),
  bytesBtoA: fc.integer({ min: 0, max: MAX_PAYLOAD }),
  faults: faultMix,
  closing: fc.constantFrom<Closing>('a-first', 'b-first', 'both'),
  seed: fc.integer({ min: 0, max: 0x7fff_ffff }),
  checksumOffload: fc.boolean(),
  receiveCoalescing: fc.boolean(),
});


describe('transfer over a faulty link', () => {
  it('delivers every byte both ways, closes both ends to CLOSED, for any payloads, faults, narrow hop (reporting or silent), seed, checksum offload and receive coalescing', () => {
    fc.assert(
      fc.property(transferCase, (c) => {
        runTransfer(c);
      }),
      { numRuns: 60, ...fastCheckReplay() },
    );
  });

  it('covers the extremes: nothing to send, and the worst fault mix with the largest payloads', () => {
    const worst: FaultMix = { lossPercent: 20, duplicatePercent: 10, reorderPercent: 20, corruptPermille: 50, delay: 50, jitter: 20, pathMtu: 576 };
    const none: FaultMix = { lossPercent: 0, duplicatePercent: 0, reorderPercent: 0, corruptPermille: 0, delay: 0, jitter: 0 };
    for (const closing of ['a-first', 'b-first', 'both'] as const) {
      // Each run throws, with its trace, if anything goes wrong.
      runTransfer({ bytesAtoB: 0, bytesBtoA: 0, faults: none, closing, seed: 1 });
      runTransfer({ bytesAtoB: MAX_PAYLOAD, bytesBtoA: MAX_PAYLOAD, faults: worst, closing, seed: 2 });
    }
    // Corrupted frames reach devices that check checksums themselves: they must vouch for none of them.
    runTransfer({ bytesAtoB: MAX_PAYLOAD, bytesBtoA: MAX_PAYLOAD, faults: worst, closing: 'both', seed: 3, checksumOffload: true });
    // Devices that merge what arrives together, under the worst faults.
    runTransfer({ bytesAtoB: MAX_PAYLOAD, bytesBtoA: MAX_PAYLOAD, faults: worst, closing: 'both', seed: 5, receiveCoalescing: true });
    // The narrowest hop, silent: both senders must find the black hole under the worst faults too.
    runTransfer({ bytesAtoB: MAX_PAYLOAD, bytesBtoA: MAX_PAYLOAD, faults: { ...worst, silentHop: true }, closing: 'both', seed: 4 });
  });

  it('finds a silent narrow hop when a delayed SACK names the last byte of a resend that repacketized the tail', () => {
    // Found by the property: a 1-byte segment and the FIN got through the 576-byte hop, the loss
    // probe resent the last 1448 bytes as one segment, and the SACK of that byte, reordered behind
    // the probe, was taken for proof that full-sized segments get through: black-hole detection
    // then never lowered the segment size, and the connection timed out.
    const reordered: FaultMix = { lossPercent: 0, duplicatePercent: 0, reorderPercent: 16, corruptPermille: 0, delay: 0, jitter: 1, pathMtu: 576, silentHop: true };
    runTransfer({ bytesAtoB: 1449, bytesBtoA: 0, faults: reordered, closing: 'a-first', seed: 97196124, checksumOffload: false, receiveCoalescing: false });
  });

  it('fails loudly, naming the case and the seed, with a readable trace, when the link loses everything', () => {
    // Outside the property's bounds on purpose: the checker itself must be able to fail.
    const hopeless: FaultMix = { lossPercent: 100, duplicatePercent: 0, reorderPercent: 0, corruptPermille: 0, delay: 5, jitter: 0 };
    let message = '';
    try {
      runTransfer({ bytesAtoB: 100, bytesBtoA: 100, faults: hopeless, closing: 'both', seed: 77 });
    } catch (error) {
      message = error instanceof Error ? error.message : String(error);
    }
    expect(message).toContain('both ends did not close');
    expect(message).toContain('"seed":77');
    expect(message).toContain('error:timed-out');
    expect(message).toMatch(/simulation seed 77, virtual time [\d.]+ ms/);
    expect(message).toMatch(/\n +\d+\.\d{3} ms a→b SYN \d+>5001 seq=\d+ ack=0 win=\d+ len=0 <mss 1460,ws \d+.*> \[lost\]/);
  });
});
