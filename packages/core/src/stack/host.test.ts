import { describe, expect, it } from 'vitest';
import { createHost } from './host.js';
import type { HostEvent, NetworkHost } from './host-types.js';

const A_IP = 0xc6120001; // 198.18.0.1
const B_IP = 0xc6120002; // 198.18.0.2
const secret = new Uint8Array(16).fill(7);

/** Two hosts on a perfect wire, with a virtual clock. */
function wire(a: NetworkHost, b: NetworkHost) {
  let now = 0;
  const events: Array<HostEvent & { host: 'a' | 'b' }> = [];
  const step = () => {
    let moved = false;
    for (const [from, to, name] of [
      [a, b, 'a'],
      [b, a, 'b'],
    ] as const) {
      for (let f = from.pollFrame(); f; f = from.pollFrame()) {
        to.receiveFrame(f, now);
        moved = true;
      }
      for (let e = from.pollEvent(); e; e = from.pollEvent()) {
        events.push({ ...e, host: name });
        if (e.type === 'data') from.consume(e.socket, e.data.length, now);
        moved = true;
      }
    }
    return moved;
  };
  const run = (limit = 100_000) => {
    for (let i = 0; i < limit; i++) {
      if (step()) continue;
      const next = [a.nextDeadline(), b.nextDeadline()].filter((d): d is number => d !== undefined);
      if (next.length === 0) return;
      now = Math.max(now, Math.min(...next));
      a.advanceTime(now);
      b.advanceTime(now);
    }
  };
  return { run, events, now: () => now };
}

describe('Host', () => {
  it('resolves ARP, connects, transfers and closes between two hosts', () => {
    const a = createHost({ mac: 0x020000000001, ip: A_IP, prefixLength: 24, isnSecret: secret });
    const b = createHost({ mac: 0x020000000002, ip: B_IP, prefixLength: 24, isnSecret: secret, tcp: { msl: 1000 } });
    const listener = b.listen(80, 0);
    const w = wire(a, b);
    const socket = a.connect(B_IP, 80, 0);
    w.run(50);
    expect(a.socketState(socket)).toBe('ESTABLISHED');
    const accepted = w.events.find((e) => e.type === 'accepted');
    expect(accepted).toMatchObject({ host: 'b', listener, remoteIp: A_IP });
    const data = Uint8Array.from({ length: 200_000 }, (_, i) => i % 251);
    let offset = 0;
    while (offset < data.length) {
      offset += a.send(socket, data.subarray(offset), w.now());
      w.run(10);
    }
    a.close(socket, w.now());
    w.run();
    const got = w.events.filter((e) => e.host === 'b' && e.type === 'data').flatMap((e) => (e.type === 'data' ? [...e.data] : []));
    expect(got.length).toBe(data.length);
    expect(Uint8Array.from(got)).toEqual(data);
    expect(w.events.some((e) => e.host === 'b' && e.type === 'peer-closed')).toBe(true);
  });

  it('fills one delivery chunk across small bursts, and reports every byte before the peer closes', () => {
    const a = createHost({ mac: 0x020000000001, ip: A_IP, prefixLength: 24, isnSecret: secret, tcp: { noDelay: true } });
    const b = createHost({ mac: 0x020000000002, ip: B_IP, prefixLength: 24, isnSecret: secret, tcp: { msl: 1000 } });
    b.listen(80, 0);
    const w = wire(a, b);
    const socket = a.connect(B_IP, 80, 0);
    w.run(50);
    for (let i = 0; i < 3; i++) {
      a.send(socket, new Uint8Array(100).fill(i + 1), w.now());
      w.run(5);
    }
    const chunks = () => w.events.filter((e): e is Extract<typeof e, { type: 'data' }> => e.type === 'data' && e.host === 'b');
    // Three bursts, three events, one chunk: consecutive views of the same memory.
    expect(chunks().map((e) => [e.data.length, e.data[0], e.data.byteOffset])).toEqual([
      [100, 1, 0],
      [100, 2, 100],
      [100, 3, 200],
    ]);
    expect(new Set(chunks().map((e) => e.data.buffer)).size).toBe(1);
    a.close(socket, w.now());
    w.run();
    const kinds = w.events.filter((e) => e.host === 'b' && e.type !== 'state').map((e) => e.type);
    expect(kinds).toEqual(['accepted', 'connected', 'data', 'data', 'data', 'peer-closed']);
  });

  it('sends urgent data in line and reports where it ends, after the text received before it (RFC 9293 §3.8.5)', () => {
    const a = createHost({ mac: 0x020000000001, ip: A_IP, prefixLength: 24, isnSecret: secret, tcp: { noDelay: true } });
    const b = createHost({ mac: 0x020000000002, ip: B_IP, prefixLength: 24, isnSecret: secret });
    b.listen(80, 0);
    const w = wire(a, b);
    const socket = a.connect(B_IP, 80, 0);
    w.run(50);
    a.send(socket, new Uint8Array(300).fill(1), w.now());
    w.run(5);
    expect(a.send(socket, new Uint8Array(20).fill(2), w.now(), { urgent: true })).toBe(20);
    a.send(socket, new Uint8Array(30).fill(3), w.now());
    w.run(20);
    const atB = w.events.filter((e) => e.host === 'b' && (e.type === 'data' || e.type === 'urgent'));
    // The text before the urgent data is reported first: its length plus what is left is the offset.
    expect(atB.map((e) => (e.type === 'data' ? `data:${e.data.length}` : e.type === 'urgent' ? `urgent:${e.end}` : ''))).toEqual([
      'data:300',
      'urgent:320',
      'data:50',
    ]);
    expect(atB[1]).toMatchObject({ type: 'urgent', socket: atB[0]!.socket });
  });

  it('answers a connection to a closed port with RST: refused', () => {
    const a = createHost({ mac: 0x020000000001, ip: A_IP, prefixLength: 24, isnSecret: secret });
    const b = createHost({ mac: 0x020000000002, ip: B_IP, prefixLength: 24, isnSecret: secret });
    const w = wire(a, b);
    const socket = a.connect(B_IP, 81, 0);
    w.run();
    expect(w.events).toContainEqual(expect.objectContaining({ host: 'a', type: 'error', socket, error: 'refused' }));
    expect(b.stats.resetsSent).toBe(1);
  });
});

describe('ephemeral ports (RFC 6056)', () => {
  it('start where the secret says, so two runs of a program do not reuse the same 4-tuple', () => {
    const ports = new Set<number>();
    for (let i = 0; i < 20; i++) {
      const secretOfRun = Uint8Array.from({ length: 16 }, (_, j) => (i * 37 + j * 11) & 0xff);
      const host = createHost({ mac: 0x020000000001, ip: A_IP, prefixLength: 24, isnSecret: secretOfRun });
      const socket = host.connect(B_IP, 80, 0);
      const port = host.localPort(socket)!;
      expect(port).toBeGreaterThanOrEqual(49152);
      expect(port).toBeLessThanOrEqual(65535);
      ports.add(port);
    }
    expect(ports.size).toBeGreaterThan(15);
    // The same secret gives the same port: runs replay.
    const again = createHost({ mac: 0x020000000001, ip: A_IP, prefixLength: 24, isnSecret: secret });
    const first = createHost({ mac: 0x020000000001, ip: A_IP, prefixLength: 24, isnSecret: secret });
    expect(again.localPort(again.connect(B_IP, 80, 0))).toBe(first.localPort(first.connect(B_IP, 80, 0)));
  });
});
