import {
  TcpFlag,
  decodeEthernet,
  decodeIcmp,
  decodeIpv4,
  encodeIcmpFrame,
  IpProtocol,
} from '@tcpts/core';
import { describe, expect, it } from 'vitest';
import type { MockSocket } from '../socket.js';
import { ScriptedHost } from '../testing/fake-hosts.js';
import {
  IP_A,
  IP_B,
  IP_NOBODY,
  MAC_B,
  createPair,
  describeRun,
  firstDifference,
  formatTcpFlags,
  patternBytes,
  runUntil,
  tracedSegments,
} from './testing.js';

/** Short TIME-WAIT so closes finish in little virtual time: 2 MSL = 1 s. */
const MSL = 500;
const PORT = 80;

/** A listening b and a connected a, both ESTABLISHED. */
const establishedPair = (options: Parameters<typeof createPair>[0]) => {
  const pair = createPair(options);
  const accepted: MockSocket[] = [];
  pair.b.listen(PORT, (socket) => accepted.push(socket));
  const client = pair.a.connect(IP_B, PORT);
  runUntil(pair.sim, () => client.connected && accepted.length === 1, { within: 10_000, what: 'connection' });
  return { ...pair, client, server: accepted[0]! };
};

const segmentsFrom = (sim: ReturnType<typeof createPair>['sim'], from: string) =>
  tracedSegments(sim.trace()).filter((traced) => traced.from === from);

describe('opening', () => {
  it('opens actively and passively with a three-way handshake (RFC 9293 §3.5, Figure 6)', () => {
    const { sim, client, server } = establishedPair({ seed: 1, faults: { delay: 5 }, tcp: { msl: MSL } });
    const handshake = tracedSegments(sim.trace()).slice(0, 3);
    expect(handshake.map((t) => `${t.from}→${t.to} ${formatTcpFlags(t.segment.flags)}`)).toEqual([
      'a→b SYN',
      'b→a SYN,ACK',
      'a→b ACK',
    ]);
    const [syn, synAck, ack] = handshake.map((t) => t.segment) as [
      (typeof handshake)[0]['segment'],
      (typeof handshake)[0]['segment'],
      (typeof handshake)[0]['segment'],
    ];
    expect(synAck.ack).toBe((syn.seq + 1) >>> 0);
    expect(ack.seq).toBe((syn.seq + 1) >>> 0);
    expect(ack.ack).toBe((synAck.seq + 1) >>> 0);
    expect(syn.options.mss).toBe(1460);
    expect(client.state()).toBe('ESTABLISHED');
    expect(server.state()).toBe('ESTABLISHED');
    expect(client.states).toEqual(['CLOSED>SYN-SENT', 'SYN-SENT>ESTABLISHED']);
    expect(server.events).toEqual(['accepted', 'connected']);
    // Two ARP frames and three segments: nothing else was needed.
    expect(sim.tracer.total).toBe(5);
  });

  it('opens simultaneously when both ends connect to each other at once (§3.5, Figure 8)', () => {
    const { sim, a, b } = createPair({ seed: 2, faults: { delay: 5 }, tcp: { msl: MSL } });
    const fromA = a.connect(IP_B, 6000, 5000);
    const fromB = b.connect(IP_A, 5000, 6000);
    runUntil(sim, () => fromA.connected && fromB.connected, { within: 10_000, what: 'both ends connected' });
    for (const socket of [fromA, fromB]) {
      expect(socket.states).toEqual(['CLOSED>SYN-SENT', 'SYN-SENT>SYN-RECEIVED', 'SYN-RECEIVED>ESTABLISHED']);
    }
    // Each end sent a bare SYN, then a SYN,ACK for the other's.
    for (const name of ['a', 'b']) {
      const flags = segmentsFrom(sim, name).map((t) => formatTcpFlags(t.segment.flags));
      expect(flags.slice(0, 2)).toEqual(['SYN', 'SYN,ACK']);
    }
    // The connection carries data both ways.
    const ab = patternBytes(30_000, 1);
    const ba = patternBytes(20_000, 2);
    fromA.write(ab);
    fromB.write(ba);
    runUntil(sim, () => fromB.bytesReceived === ab.length && fromA.bytesReceived === ba.length, {
      within: 10_000,
      what: 'data both ways',
    });
    expect(firstDifference(fromB.received(), ab)).toBe(-1);
    expect(firstDifference(fromA.received(), ba)).toBe(-1);
  });
});

describe('closing', () => {
  it('closes simultaneously: both ends pass through CLOSING and TIME-WAIT (§3.6, Figure 13)', () => {
    const { sim, client, server } = establishedPair({ seed: 3, faults: { delay: 5 }, tcp: { msl: MSL } });
    const closedAt = sim.now;
    client.end();
    server.end();
    runUntil(sim, () => client.closed && server.closed, { within: 10_000, what: 'both closed' });
    for (const socket of [client, server]) {
      expect(socket.states.slice(-4)).toEqual([
        'ESTABLISHED>FIN-WAIT-1',
        'FIN-WAIT-1>CLOSING',
        'CLOSING>TIME-WAIT',
        'TIME-WAIT>CLOSED',
      ]);
      expect(socket.error).toBeUndefined();
      expect(socket.state()).toBeUndefined();
    }
    // TIME-WAIT lasts 2 MSL after the FIN exchange, which takes one trip of 5 ms.
    expect(sim.now - closedAt).toBeGreaterThanOrEqual(2 * MSL);
    expect(sim.now - closedAt).toBeLessThan(2 * MSL + 100);
  });

  it('half-closes: a closes, b keeps sending for a while and a keeps receiving, then b closes', () => {
    const { sim, client, server } = establishedPair({ seed: 4, faults: { delay: 5 }, tcp: { msl: MSL } });
    client.end();
    runUntil(sim, () => server.peerClosed && client.state() === 'FIN-WAIT-2', {
      within: 1000,
      what: 'a in FIN-WAIT-2, b told of the close',
    });
    expect(server.state()).toBe('CLOSE-WAIT');
    // b sends 10 chunks 100 ms apart: a second of data after a's close.
    const chunks = Array.from({ length: 10 }, (_, i) => patternBytes(8_000, 10 + i));
    const receivedWhileHalfClosed: number[] = [];
    chunks.forEach((chunk, i) =>
      sim.after(100 * (i + 1), () => {
        receivedWhileHalfClosed.push(client.bytesReceived);
        server.write(chunk);
        if (i === chunks.length - 1) server.end();
      }),
    );
    runUntil(sim, () => client.closed && server.closed, { within: 10_000, what: 'both closed' });
    const expected = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
    chunks.reduce((offset, chunk) => (expected.set(chunk, offset), offset + chunk.length), 0);
    expect(firstDifference(client.received(), expected)).toBe(-1);
    // a received each chunk before the next was written: it kept reading while half-closed.
    expect(receivedWhileHalfClosed).toEqual(chunks.map((_, i) => i * 8_000));
    expect(client.states.slice(-3)).toEqual(['FIN-WAIT-1>FIN-WAIT-2', 'FIN-WAIT-2>TIME-WAIT', 'TIME-WAIT>CLOSED']);
    expect(server.states.slice(-2)).toEqual(['CLOSE-WAIT>LAST-ACK', 'LAST-ACK>CLOSED']);
    expect([client.error, server.error]).toEqual([undefined, undefined]);
  });

  it('aborts: the peer gets a RST and reports reset (§3.10.5)', () => {
    const { sim, client, server } = establishedPair({ seed: 5, faults: { delay: 5 }, tcp: { msl: MSL } });
    client.write(patternBytes(5_000, 3));
    runUntil(sim, () => server.bytesReceived === 5_000, { within: 1000, what: 'data' });
    const abortedAt = sim.now;
    server.abort();
    runUntil(sim, () => client.closed, { within: 1000, what: 'a closed' });
    // The abort's own RST, one link delay later (not a reset for a later segment after a timeout).
    expect(sim.now - abortedAt).toBe(5);
    expect(client.error).toBe('reset');
    expect(client.events.slice(-2)).toEqual(['error:reset', 'closed']);
    expect(server.closed).toBe(true);
    expect(server.error).toBeUndefined();
    const rst = segmentsFrom(sim, 'b').at(-1)!.segment;
    expect(formatTcpFlags(rst.flags)).toBe('RST');
  });
});

describe('failing to connect', () => {
  it('reports refused for a closed port (§3.10.7.1)', () => {
    const { sim, a, hostB } = createPair({ seed: 6, faults: { delay: 5 } });
    const socket = a.connect(IP_B, 81);
    runUntil(sim, () => socket.closed, { within: 5000, what: 'closed' });
    expect(socket.events).toEqual(['error:refused', 'closed']);
    expect(hostB.stats.resetsSent).toBe(1);
    const reset = segmentsFrom(sim, 'b')[0]!.segment;
    expect(formatTcpFlags(reset.flags)).toBe('RST,ACK');
  });

  it('reports unreachable when nobody answers ARP for the address', () => {
    const { sim, a } = createPair({ seed: 7, faults: { delay: 5 } });
    const socket = a.connect(IP_NOBODY, PORT);
    runUntil(sim, () => socket.closed, { within: 60_000, what: 'closed' });
    expect(socket.events).toEqual(['error:unreachable', 'closed']);
    const requests = sim.trace().filter((entry) => entry.from === 'a' && entry.description.startsWith('ARP who-has 198.18.0.99'));
    // Three requests one second apart, then the verdict.
    expect(requests.map((entry) => entry.time)).toEqual([0, 1000, 2000]);
    expect(sim.now).toBe(3000);
  });

  it('times out the handshake with a silent peer after the SYN retransmissions (§3.8.3, RFC 6298 §5.5)', () => {
    const { sim, a, b } = createPair({ seed: 8, faults: { delay: 5 }, knownNeighbours: true });
    sim.setFaults(b, a, { delay: 5, loss: 1 });
    b.listen(PORT);
    const socket = a.connect(IP_B, PORT);
    runUntil(sim, () => socket.closed, { within: 30 * 60_000, what: 'closed' });
    expect(socket.events).toEqual(['error:timed-out', 'closed']);
    const synTimes = segmentsFrom(sim, 'a').map((t) => t.time);
    // The first SYN and 6 retransmissions, each timeout twice the one before (initial RTO 1 s);
    // the seventh timeout, 64 s, is capped at maxRto = 60 s.
    expect(synTimes).toEqual([0, 1000, 3000, 7000, 15000, 31000, 63000]);
    expect(sim.now).toBe(123000);
  });

  it('times out an established connection whose peer falls silent', () => {
    const { sim, a, b, client } = establishedPair({ seed: 9, faults: { delay: 5 }, tcp: { maxRto: 8_000 } });
    sim.setFaults(b, a, { delay: 5, loss: 1 });
    const startedAt = sim.now;
    client.write(patternBytes(20_000, 4));
    runUntil(sim, () => client.closed, { within: 30 * 60_000, what: 'closed' });
    expect(client.events.slice(-2)).toEqual(['error:timed-out', 'closed']);
    // 15 retransmissions with the RTO capped at 8 s: well under the bound.
    const elapsed = sim.now - startedAt;
    expect(elapsed).toBeGreaterThan(60_000);
    expect(elapsed).toBeLessThan(15 * 8_000 + 10_000);
    expect(a.host.socketState(client.id)).toBeUndefined();
  });
});

describe('ICMP', () => {
  it('answers an echo request built with the core encoders', () => {
    const { sim, hostB } = createPair({ seed: 10, faults: { delay: 2 } });
    const PROBE_MAC = 0x02_00_00_00_00_0f;
    const PROBE_IP = 0xc6_12_00_03;
    const data = patternBytes(56, 9);
    const request = encodeIcmpFrame(
      { srcMac: PROBE_MAC, dstMac: MAC_B, srcIp: PROBE_IP, dstIp: IP_B, ttl: 64, identification: 1 },
      { kind: 'echo-request', identifier: 0x1234, sequence: 7, data },
    );
    const probe = new ScriptedHost(PROBE_MAC, [{ at: 1, frame: request }]);
    sim.addHost(probe, PROBE_MAC, { name: 'probe' });
    runUntil(sim, () => probe.received.length > 0, { within: 1000, what: 'echo reply' });
    const reply = probe.received[0]!;
    expect(reply.time).toBe(5);
    const ethernet = decodeEthernet(reply.frame);
    if (ethernet._tag === 'Left') throw new Error('reply is not Ethernet');
    const ip = decodeIpv4(ethernet.right.payload);
    if (ip._tag === 'Left') throw new Error('reply is not IPv4');
    expect({ src: ip.right.src, dst: ip.right.dst, protocol: ip.right.protocol }).toEqual({
      src: IP_B,
      dst: PROBE_IP,
      protocol: IpProtocol.ICMP,
    });
    const icmp = decodeIcmp(ip.right.payload);
    if (icmp._tag === 'Left') throw new Error('reply is not ICMP');
    expect(icmp.right).toEqual({ kind: 'echo-reply', identifier: 0x1234, sequence: 7, data });
    expect(hostB.stats.echoRepliesSent).toBe(1);
  });
});

describe('flow control', () => {
  const MSS = 1460;

  it('closes the window for a paused reader, probes it, and reopens it for a slow reader; every byte arrives', () => {
    // A buffer of whole segments, so the sender can fill it exactly and the window reaches zero.
    const RECEIVE_BUFFER = 16 * MSS;
    const { sim, a, b, client, server } = establishedPair({
      seed: 11,
      faults: { delay: 5 },
      tcp: { receiveBufferSize: RECEIVE_BUFFER, sendBufferSize: 16 * 1024, msl: MSL },
    });
    server.pauseReading();
    const data = patternBytes(400_000, 5);
    client.write(data);
    sim.runFor(20_000);
    // b holds exactly its buffer, a holds the rest: the writer waits, it does not fail.
    expect(server.bytesReceived).toBe(RECEIVE_BUFFER);
    const pendingWhilePaused = client.bytesPending;
    expect(pendingWhilePaused).toBeGreaterThan(0);
    expect(client.state()).toBe('ESTABLISHED');
    const zeroWindowAt = segmentsFrom(sim, 'b').find((t) => t.segment.window === 0)?.time;
    expect(zeroWindowAt, describeRun(sim)).toBeDefined();
    // a probes the zero window (§3.8.6.1) with growing intervals, and b answers each probe.
    const probes = segmentsFrom(sim, 'a').filter((t) => t.time > zeroWindowAt! && t.segment.payload.length <= 1);
    expect(probes.length).toBeGreaterThanOrEqual(3);
    const gaps = probes.slice(1).map((probe, i) => probe.time - probes[i]!.time);
    for (let i = 1; i < gaps.length; i++) expect(gaps[i]).toBeGreaterThanOrEqual(gaps[i - 1]!);

    // The first window update after resuming is lost: the next probe must find the open window.
    sim.setFaults(b, a, { delay: 5, loss: 1 });
    const resumedAt = sim.now;
    server.readRate = 100; // bytes per virtual ms
    server.resumeReading();
    runUntil(sim, () => sim.stats(b, a).lost > 0, { within: 1000, what: 'the window update, lost' });
    sim.setFaults(b, a, undefined);
    runUntil(sim, () => server.bytesConsumed === data.length, { within: 120_000, what: 'all bytes read' });
    expect(firstDifference(server.received(), data)).toBe(-1);
    expect(segmentsFrom(sim, 'b').some((t) => t.time >= resumedAt && t.segment.window > 0 && t.fault === 'lost')).toBe(
      true,
    );
    // The reader sets the pace: no faster than it reads, and not much slower once the window is open.
    const readingTime = sim.now - resumedAt;
    expect(readingTime).toBeGreaterThanOrEqual(data.length / 100 - 10);
    expect(client.error).toBeUndefined();
  });

  it('does not wedge the writer when a window smaller than a segment reopens and the update is lost', () => {
    // 32 KiB is not a whole number of segments: the sender is left with a few hundred bytes of window,
    // which sender silly window avoidance (§3.8.6.2.1) will not use until a timer overrides it.
    const { sim, a, b, client, server } = establishedPair({
      seed: 11,
      faults: { delay: 5 },
      tcp: { receiveBufferSize: 32 * 1024, sendBufferSize: 16 * 1024, msl: MSL },
    });
    server.pauseReading();
    const data = patternBytes(400_000, 5);
    client.write(data);
    sim.runFor(3_000);
    const lastWindow = segmentsFrom(sim, 'b').at(-1)!.segment.window;
    expect(lastWindow).toBeLessThan(MSS);
    sim.setFaults(b, a, { delay: 5, loss: 1 });
    server.resumeReading();
    runUntil(sim, () => sim.stats(b, a).lost > 0, { within: 1000, what: 'the window update, lost' });
    sim.setFaults(b, a, undefined);
    // Something must still be scheduled to discover the open window: a probe or a timer override.
    runUntil(sim, () => server.bytesConsumed === data.length, { within: 120_000, what: 'all bytes read' });
    expect(firstDifference(server.received(), data)).toBe(-1);
  });
});

describe('corruption', () => {
  it('drops a frame corrupted on the wire by its checksum, counts it, and recovers by retransmission', () => {
    const { sim, a, b, client, server, hostB } = establishedPair({ seed: 12, faults: { delay: 5 } });
    sim.setFaults(a, b, { delay: 5, corrupt: 1 });
    const data = patternBytes(1000, 6);
    client.write(data);
    runUntil(sim, () => sim.stats(a, b).corrupted > 0, { within: 1000, what: 'a corrupted frame' });
    sim.setFaults(a, b, undefined);
    runUntil(sim, () => server.bytesReceived === data.length, { within: 10_000, what: 'data after retransmission' });
    expect(firstDifference(server.received(), data)).toBe(-1);
    const corrupted = sim.stats(a, b).corrupted;
    expect(corrupted).toBe(1);
    const checksumDrops = [...hostB.stats.dropped].filter(([reason]) => reason.includes('checksum'));
    expect(checksumDrops.reduce((sum, [, count]) => sum + count, 0), describeRun(sim)).toBe(corrupted);
  });
});
