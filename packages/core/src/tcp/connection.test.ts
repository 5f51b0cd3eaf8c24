import { describe, expect, it } from 'vitest';
import { type TcpSegment, TcpFlag } from '../wire/tcp-types.js';
import { defaultTcpConfig, type TcpConfig } from './config.js';
import { Connection } from './connection.js';
import type { ConnectionEvent } from './events.js';

/** Two connections joined by a perfect wire, with a virtual clock. */
class Pair {
  now = 0;
  readonly received: [number[], number[]] = [[], []];
  readonly events: [ConnectionEvent[], ConnectionEvent[]] = [[], []];
  readonly wire: Array<{ from: 0 | 1; segment: TcpSegment }> = [];
  readonly conns: [Connection, Connection];

  constructor(config: Partial<TcpConfig> = {}, issA = 1000, issB = 0xfffffff0) {
    const cfg = { ...defaultTcpConfig, ...config };
    this.conns = [
      new Connection({ localPort: 40000, remotePort: 80, iss: issA, config: cfg }),
      new Connection({ localPort: 80, remotePort: 0, iss: issB, config: cfg }),
    ];
  }

  /** Moves segments until both sides are quiet or `limit` deliveries happened. */
  pump(limit = 100_000, drop?: (s: TcpSegment, from: 0 | 1) => boolean): void {
    for (let i = 0; i < limit; i++) {
      let moved = false;
      for (const side of [0, 1] as const) {
        const conn = this.conns[side];
        for (let s = conn.pollSegment(this.now); s; s = conn.pollSegment(this.now)) {
          this.wire.push({ from: side, segment: s });
          if (!drop?.(s, side)) this.conns[side === 0 ? 1 : 0].handleSegment(s, this.now);
          moved = true;
        }
        for (let e = conn.pollEvent(); e; e = conn.pollEvent()) {
          this.events[side].push(e);
          if (e.type === 'data') {
            this.received[side].push(...e.data);
            conn.consume(e.data.length, this.now);
            moved = true;
          }
        }
      }
      if (moved) continue;
      const deadlines = this.conns.map((c) => c.nextDeadline()).filter((d): d is number => d !== undefined);
      if (deadlines.length === 0) return;
      this.now = Math.max(this.now, Math.min(...deadlines));
      for (const c of this.conns) c.handleTimeout(this.now);
    }
  }
}

const bytes = (n: number, seed = 7) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

describe('Connection', () => {
  it('opens actively and passively, moves data both ways and closes', () => {
    const p = new Pair();
    p.conns[1].open('passive', 0);
    p.conns[0].open('active', 0);
    p.pump(10);
    expect(p.conns[0].state).toBe('ESTABLISHED');
    expect(p.conns[1].state).toBe('ESTABLISHED');
    const a = bytes(100_000, 1);
    const b = bytes(50_000, 2);
    expect(p.conns[0].send(a, p.now)).toBe(a.length);
    expect(p.conns[1].send(b, p.now)).toBe(b.length);
    p.pump(1000);
    expect(Uint8Array.from(p.received[1])).toEqual(a);
    expect(Uint8Array.from(p.received[0])).toEqual(b);
    p.conns[0].close(p.now);
    p.pump(100);
    expect(p.conns[0].state).toBe('FIN-WAIT-2');
    expect(p.conns[1].state).toBe('CLOSE-WAIT');
    p.conns[1].close(p.now);
    p.pump(100);
    expect(p.conns[1].state).toBe('CLOSED');
    expect(p.conns[0].state).toBe('CLOSED'); // after 2 MSL of virtual time
    expect(p.now).toBeGreaterThanOrEqual(2 * defaultTcpConfig.msl);
  });

  it('recovers from lost segments in both directions', () => {
    const p = new Pair();
    p.conns[1].open('passive', 0);
    p.conns[0].open('active', 0);
    p.pump(10);
    const a = bytes(300_000, 3);
    p.conns[0].send(a, p.now);
    let n = 0;
    p.pump(100_000, () => ++n % 7 === 0);
    expect(Uint8Array.from(p.received[1])).toEqual(a);
  });

  it('answers a SYN to a listener with SYN,ACK carrying MSS and window scale', () => {
    const c = new Connection({ localPort: 80, remotePort: 0, iss: 5, config: defaultTcpConfig });
    c.open('passive', 0);
    c.handleSegment(
      { srcPort: 1234, dstPort: 80, seq: 99, ack: 0, flags: TcpFlag.SYN, window: 65535, urgent: 0, options: { mss: 1400, windowScale: 7 }, payload: new Uint8Array(0) },
      0,
    );
    const synAck = c.pollSegment(0);
    expect(c.state).toBe('SYN-RECEIVED');
    expect(synAck).toMatchObject({ seq: 5, ack: 100, flags: TcpFlag.SYN | TcpFlag.ACK, dstPort: 1234 });
    expect(synAck?.options.mss).toBe(1460);
    // The default 8 MiB receive buffer is just over 65,535 · 2^7 bytes: a shift of 8 covers it.
    expect(synAck?.options.windowScale).toBe(8);
  });
});

describe('RST validation (RFC 9293 §3.10.7.4 second step, RFC 5961 §3)', () => {
  const established = () => {
    const p = new Pair();
    p.conns[1].open('passive', 0);
    p.conns[0].open('active', 0);
    p.pump(10);
    return p;
  };
  const rstTo = (p: Pair, seqOffset: number): TcpSegment => {
    // Forge a reset from side 1 to side 0, relative to side 0's RCV.NXT (= side 1's SND.NXT).
    const probe = p.conns[1].pollSegment(p.now) ?? undefined;
    expect(probe).toBeUndefined();
    const last = [...p.wire].reverse().find((w) => w.from === 0)!.segment;
    return {
      srcPort: 80,
      dstPort: 40000,
      seq: (last.ack + seqOffset) >>> 0,
      ack: 0,
      flags: TcpFlag.RST,
      window: 0,
      urgent: 0,
      options: {},
      payload: new Uint8Array(0),
    };
  };

  it('resets on a RST at exactly RCV.NXT', () => {
    const p = established();
    p.conns[0].handleSegment(rstTo(p, 0), p.now);
    expect(p.conns[0].state).toBe('CLOSED');
    const events: string[] = [];
    for (let e = p.conns[0].pollEvent(); e; e = p.conns[0].pollEvent()) events.push(e.type === 'error' ? `error:${e.error}` : e.type);
    expect(events).toEqual(['state', 'error:reset', 'closed']);
  });

  it('answers a RST inside the window but not at RCV.NXT with a challenge ACK', () => {
    const p = established();
    p.conns[0].handleSegment(rstTo(p, 100), p.now);
    expect(p.conns[0].state).toBe('ESTABLISHED');
    const challenge = p.conns[0].pollSegment(p.now);
    expect(challenge?.flags).toBe(TcpFlag.ACK);
  });

  it('ignores a RST outside the window', () => {
    const p = established();
    p.conns[0].handleSegment(rstTo(p, -100), p.now);
    expect(p.conns[0].state).toBe('ESTABLISHED');
    expect(p.conns[0].pollSegment(p.now)).toBeUndefined();
  });

  it('reports a RST answering its SYN as refused', () => {
    const c = new Connection({ localPort: 40000, remotePort: 81, iss: 77, config: defaultTcpConfig });
    c.open('active', 0);
    const syn = c.pollSegment(0)!;
    c.handleSegment(
      { srcPort: 81, dstPort: 40000, seq: 0, ack: syn.seq + 1, flags: TcpFlag.RST | TcpFlag.ACK, window: 0, urgent: 0, options: {}, payload: new Uint8Array(0) },
      1,
    );
    expect(c.state).toBe('CLOSED');
    const errors: string[] = [];
    for (let e = c.pollEvent(); e; e = c.pollEvent()) if (e.type === 'error') errors.push(e.error);
    expect(errors).toEqual(['refused']);
  });
});

describe('keep-alive (RFC 9293 §3.8.4)', () => {
  it('is off by default: an idle connection sends nothing and has no deadline', () => {
    const p = new Pair();
    p.conns[1].open('passive', 0);
    p.conns[0].open('active', 0);
    p.pump(10);
    expect(p.conns[0].nextDeadline()).toBeUndefined();
  });

  it('probes an idle peer, keeps the connection while it answers, and times out when it stops', () => {
    const p = new Pair({ keepAliveIdle: 10_000, keepAliveInterval: 1000, keepAliveProbes: 3 });
    p.conns[1].open('passive', 0);
    p.conns[0].open('active', 0);
    p.pump(10);
    const before = p.wire.length;
    // Both sides keep each other alive: probes are answered with ACKs.
    for (let i = 0; i < 5; i++) p.pump(1);
    expect(p.now).toBeGreaterThanOrEqual(10_000);
    expect(p.conns[0].state).toBe('ESTABLISHED');
    const probes = p.wire.slice(before).filter((w) => w.from === 0 && w.segment.payload.length === 0);
    expect(probes.length).toBeGreaterThan(0);
    // Now the peer goes silent.
    p.pump(100_000, (_s, from) => from === 1);
    expect(p.conns[0].state).toBe('CLOSED');
    expect(p.events[0]).toContainEqual({ type: 'error', error: 'timed-out' });
  });
});
