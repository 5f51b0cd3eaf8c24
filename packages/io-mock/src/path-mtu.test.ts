import { describe, expect, it } from 'vitest';
import type { MockSocket } from './socket.js';
import { IP_B, createPair, patternBytes } from './stack/testing.js';

// A narrow hop on the path: frames above `mtu` are dropped; with `mtuReport` the sender is told (RFC 1191).
const upload = (mtuReport: boolean, { mtu = 1000, blackHoleDetection = true, maxTime = 60_000 } = {}) => {
  const { sim, a, b } = createPair({
    seed: 11,
    faults: { delay: 2, mtu, mtuReport },
    knownNeighbours: true,
    tcpA: { blackHoleDetection },
  });
  const payload = patternBytes(200_000, 11);
  let server: MockSocket | undefined;
  b.listen(80, (socket) => (server = socket));
  a.connect(IP_B, 80).write(payload);
  sim.run({ until: () => server?.bytesReceived === payload.length, maxTime });
  return { sim, payload, received: server?.received() };
};

/** Uploads to the same destination through a narrow hop, one connection each; `transfer` checks what arrived. */
const repeatedUploads = (seed: number, hop: { mtu: number; mtuReport: boolean }) => {
  const { sim, a, b } = createPair({ seed, faults: { delay: 2, ...hop }, knownNeighbours: true });
  const payload = patternBytes(50_000, seed);
  const servers: MockSocket[] = [];
  b.listen(80, (socket) => servers.push(socket));
  const transfer = () => {
    a.connect(IP_B, 80).write(payload);
    const count = servers.length + 1;
    sim.runFor(60_000, { until: () => servers.length === count && servers[count - 1]!.bytesReceived === payload.length });
    expect(servers[count - 1]?.received()).toEqual(payload);
  };
  return { sim, transfer };
};

describe('a narrow hop (LinkFaults.mtu)', () => {
  it('that reports itself: the sender fits its segments to it, and everything arrives', () => {
    const { sim, payload, received } = upload(true);
    expect(received).toEqual(payload);
    // Only the first full-sized segments were too big.
    expect(sim.stats().mtu).toBeGreaterThan(0);
    expect(sim.stats().mtu).toBeLessThan(20);
  });

  it('is learned for the destination: the next connection there fits it from its first segment, for ten minutes (RFC 1191 §5, §6.3)', () => {
    const { sim, transfer } = repeatedUploads(12, { mtu: 1000, mtuReport: true });
    transfer();
    const droppedByTheFirst = sim.stats().mtu;
    expect(droppedByTheFirst).toBeGreaterThan(0);
    transfer();
    expect(sim.stats().mtu).toBe(droppedByTheFirst);
    // Ten minutes on, the link's MTU is tried again (RFC 1191 §6.3), and the hop speaks up again.
    sim.after(11 * 60_000, () => undefined);
    sim.runFor(11 * 60_000);
    transfer();
    expect(sim.stats().mtu).toBeGreaterThan(droppedByTheFirst);
  });

  it('that drops in silence is a black hole: without black-hole detection nothing past the first window arrives', () => {
    const { sim, received } = upload(false, { blackHoleDetection: false });
    expect(received?.length ?? 0).toBeLessThan(2000);
    expect(sim.stats().mtu).toBeGreaterThan(10);
  });

  it('that drops in silence, as a tunnel with its ICMP filtered: after three timeouts the sender fits 1024-byte packets, and everything arrives (RFC 4821 §7.7)', () => {
    const { sim, payload, received } = upload(false, { mtu: 1400 });
    expect(received).toEqual(payload);
    // The first window and its three retransmissions were too big; nothing after them.
    expect(sim.stats().mtu).toBe(13);
  });

  it('that drops in silence is remembered for the destination too: the next connection there starts at 1024 (RFC 4821 §5.2)', () => {
    const { sim, transfer } = repeatedUploads(13, { mtu: 1400, mtuReport: false });
    transfer();
    const droppedByTheFirst = sim.stats().mtu;
    expect(droppedByTheFirst).toBeGreaterThan(0);
    transfer();
    expect(sim.stats().mtu).toBe(droppedByTheFirst);
  });

  it('narrower than 1024 and silent: three more timeouts halve the size again, to 576, and everything arrives', () => {
    const { sim, payload, received } = upload(false, { maxTime: 180_000 });
    expect(received).toEqual(payload);
    expect(sim.stats().mtu).toBe(16);
  });
});
