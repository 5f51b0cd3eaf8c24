import { describe, expect, it } from 'vitest';
import { IP_B, createPair, firstDifference, patternBytes } from './testing.js';

/**
 * Slow start into a deep queue: 10 Mbit/s, 20 ms RTT (a 25 KB bandwidth-delay
 * product) and 500 KB of buffer at the bottleneck. Doubling every round, slow
 * start fills that buffer and loses a window's worth of segments at once;
 * HyStart++ (RFC 9406) sees the RTT grow as the queue builds and leaves slow
 * start first.
 */
const PATH = { delay: 10, bandwidth: 1250, queueLimit: 500_000, mtu: 1500 } as const;
const BYTES = 3_000_000;
const PORT = 5001;

const transfer = (hystart: boolean) => {
  const { sim, a, b, hostA } = createPair({ seed: 11, faults: PATH, mtu: PATH.mtu, tcp: { hystart }, knownNeighbours: true, traceLimit: 0 });
  const payload = patternBytes(BYTES, 11);
  let receiver: ReturnType<typeof b.connect> | undefined;
  b.listen(PORT, (socket) => (receiver = socket));
  const sender = a.connect(IP_B, PORT);
  sender.write(payload);
  let stats: { retransmissions: number; timeouts: number; fastRetransmits: number } | undefined;
  let maxCwnd = 0;
  sim.run({
    until: () => {
      const connection = hostA.connectionOf(sender.id);
      if (connection !== undefined) {
        stats = { ...connection.stats };
        maxCwnd = Math.max(maxCwnd, connection.congestionWindow);
      }
      return receiver !== undefined && receiver.bytesReceived === BYTES;
    },
    maxTime: 120_000,
  });
  expect(receiver?.bytesReceived).toBe(BYTES);
  expect(firstDifference(receiver!.received(), payload)).toBe(-1);
  return { stats: stats!, maxCwnd, ms: sim.now };
};

describe('slow start into a deep queue', () => {
  it('with HyStart++ leaves slow start before the queue overflows: nothing is lost', () => {
    const withHyStart = transfer(true);
    expect(withHyStart.stats.retransmissions).toBe(0);
    // Without it, slow start runs until the queue overflows, and a burst of losses follows.
    const without = transfer(false);
    expect(without.stats.retransmissions).toBeGreaterThan(10);
    expect(without.maxCwnd).toBeGreaterThan(2 * withHyStart.maxCwnd);
  });
});
