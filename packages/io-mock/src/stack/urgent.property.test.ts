import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MockSocket } from '../socket.js';
import { IP_B, createPair, describeRun, fastCheckReplay, firstDifference, patternBytes } from './testing.js';

/**
 * Urgent data (RFC 9293 §3.8.5) over a faulty link: whatever is lost,
 * duplicated or reordered, the bytes arrive intact and in order (urgent data
 * stays in line), and the receiver's last urgent event names the sender's
 * urgent point, reported before the last urgent byte was delivered.
 */

const PORT = 5002;
const MSL = 400;
const MAX_PAYLOAD = 150_000;

interface UrgentCase {
  readonly bytes: number;
  /** Where the urgent bytes begin and end, as fractions of the payload. */
  readonly urgentStart: number;
  readonly urgentEnd: number;
  readonly lossPercent: number;
  readonly duplicatePercent: number;
  readonly reorderPercent: number;
  readonly delay: number;
  readonly jitter: number;
  readonly seed: number;
}

interface Outcome {
  readonly urgentPoint: number;
  readonly urgentEnds: readonly number[];
  /** Bytes the receiver had been given when each urgent event came. */
  readonly receivedAtUrgent: readonly number[];
}

/** Runs one case; throws an error naming the case and the trace tail when the transfer itself fails. */
const runUrgentTransfer = (c: UrgentCase): Outcome => {
  const { sim, a, b } = createPair({
    seed: c.seed,
    faults: {
      loss: c.lossPercent / 100,
      duplicate: c.duplicatePercent / 100,
      reorder: c.reorderPercent / 100,
      reorderDelay: 5,
      delay: c.delay,
      jitter: c.jitter,
    },
    tcp: { msl: MSL, maxSynRetransmissions: 12 },
    knownNeighbours: true,
  });
  const payload = patternBytes(c.bytes, c.seed);
  const urgentPoint = Math.max(1, Math.round(c.urgentEnd * c.bytes));
  const urgentFrom = Math.min(Math.floor(c.urgentStart * urgentPoint), urgentPoint - 1);
  const receivedAtUrgent: number[] = [];
  let receiver: MockSocket | undefined;
  b.listen(PORT, (socket) => {
    receiver = socket;
    socket.onEvent = (event) => {
      if (event.type === 'urgent') receivedAtUrgent.push(socket.bytesReceived);
      if (event.type === 'peer-closed') socket.end();
    };
  });
  const sender = a.connect(IP_B, PORT);
  sender.write(payload.subarray(0, urgentFrom));
  sender.writeUrgent(payload.subarray(urgentFrom, urgentPoint));
  sender.write(payload.subarray(urgentPoint));
  sender.end();

  const fail = (what: string): never => {
    throw new Error(`${what}\ncase ${JSON.stringify(c)}\n${describeRun(sim, 60)}`);
  };
  const bothClosed = () => sender.closed && receiver?.closed === true;
  const result = sim.run({ until: bothClosed, maxTime: 60 * 60_000, maxSteps: 1_000_000 });
  if (result.reason !== 'until') fail(`both ends did not close (stopped by ${result.reason})`);
  if (sender.error !== undefined || receiver!.error !== undefined) fail('an end reported an error');
  const difference = firstDifference(receiver!.received(), payload);
  if (difference >= 0) fail(`bytes differ from offset ${difference}`);
  return { urgentPoint, urgentEnds: receiver!.urgentEnds, receivedAtUrgent };
};

const fraction = fc.integer({ min: 0, max: 1000 }).map((n) => n / 1000);

const urgentCase: fc.Arbitrary<UrgentCase> = fc.record({
  bytes: fc.integer({ min: 1, max: MAX_PAYLOAD }),
  urgentStart: fraction,
  urgentEnd: fraction,
  lossPercent: fc.integer({ min: 0, max: 15 }),
  duplicatePercent: fc.integer({ min: 0, max: 10 }),
  reorderPercent: fc.integer({ min: 0, max: 20 }),
  delay: fc.integer({ min: 0, max: 30 }),
  jitter: fc.integer({ min: 0, max: 10 }),
  seed: fc.integer({ min: 0, max: 0x7fff_ffff }),
});

const expectUrgentPointReported = ({ urgentPoint, urgentEnds, receivedAtUrgent }: Outcome): void => {
  expect(urgentEnds.at(-1)).toBe(urgentPoint);
  // Each event is an advance (MUST-31), never past the sender's point (65535 only ever understates it).
  urgentEnds.forEach((end, i) => {
    expect(end).toBeLessThanOrEqual(urgentPoint);
    if (i > 0) expect(end).toBeGreaterThan(urgentEnds[i - 1]!);
  });
  // The segment that brings the last urgent byte points to its end, so the application hears of it first.
  expect(receivedAtUrgent.at(-1)).toBeLessThan(urgentPoint);
};

describe('urgent data over a faulty link', () => {
  it('arrives in line and intact, and the last urgent event names the sender’s urgent point, for any data, point, faults and seed', () => {
    fc.assert(
      fc.property(urgentCase, (c) => expectUrgentPointReported(runUrgentTransfer(c))),
      { numRuns: 40, ...fastCheckReplay() },
    );
  });

  it('reports a point more than 65535 bytes into the data, through pointers of 65535 first', () => {
    const outcome = runUrgentTransfer({
      bytes: MAX_PAYLOAD,
      urgentStart: 0,
      urgentEnd: 1,
      lossPercent: 5,
      duplicatePercent: 5,
      reorderPercent: 10,
      delay: 10,
      jitter: 5,
      seed: 3,
    });
    expectUrgentPointReported(outcome);
    expect(outcome.urgentEnds.length).toBeGreaterThan(1);
    // Until the exact pointer, each one said 65535 from its segment's start: an end of offset + 65535.
    for (const end of outcome.urgentEnds.slice(0, -1)) {
      expect(end).toBeGreaterThanOrEqual(65_535);
      expect(end).toBeLessThan(MAX_PAYLOAD);
    }
  });
});
