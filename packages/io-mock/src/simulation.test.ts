import { describe, expect, it } from 'vitest';
import { BROADCAST_MAC } from './ethernet.js';
import type { LinkFaults } from './faults.js';
import { Simulation } from './simulation.js';
import { BatchAckHost, EchoHost, ScriptedHost, TickingHost, frameNumber, numberedFrame } from './testing/fake-hosts.js';

const MAC_A = 0x02_00_00_00_00_01;
const MAC_B = 0x02_00_00_00_00_02;
const MAC_C = 0x02_00_00_00_00_03;

/** `count` numbered frames from A to `to`, the i-th sent at i × spacing. */
const script = (count: number, to: number, spacing: number, length = 64) =>
  Array.from({ length: count }, (_, i) => ({ at: i * spacing, frame: numberedFrame(to, MAC_A, i, length) }));

describe('Simulation', () => {
  it('hands a same-time batch to a host before draining it, so one reply covers the batch', () => {
    const sim = new Simulation({ seed: 1, faults: { delay: 5 } });
    const sender = new ScriptedHost(MAC_A, script(5, MAC_B, 0));
    const receiver = new BatchAckHost(MAC_B);
    sim.addHost(sender, MAC_A);
    sim.addHost(receiver, MAC_B);
    expect(sim.run({ maxTime: 1000 }).reason).toBe('idle');
    expect(receiver.batches).toEqual([5]);
    expect(sender.received.map((r) => [r.time, frameNumber(r.frame)])).toEqual([[10, 5]]);
  });

  it('delivers frames one by one when serialization spaces them apart', () => {
    const sim = new Simulation({ seed: 1, faults: { bandwidth: 64, delay: 1 } });
    const sender = new ScriptedHost(MAC_A, script(4, MAC_B, 0));
    const receiver = new BatchAckHost(MAC_B);
    sim.addHost(sender, MAC_A);
    sim.addHost(receiver, MAC_B);
    sim.run({ maxTime: 1000 });
    expect(receiver.batches).toEqual([1, 1, 1, 1]);
    // 64-byte frames at 64 B/ms are out at 1, 2, 3, 4 ms and arrive 1 ms later; each
    // 64-byte reply takes another 1 ms on the wire and 1 ms of delay.
    expect(sender.received.map((r) => r.time)).toEqual([4, 5, 6, 7]);
  });

  it('wakes hosts at their deadlines and stops when idle', () => {
    const sim = new Simulation({ seed: 1 });
    const ticker = new TickingHost(MAC_A, MAC_B, 10, 5);
    const sink = new ScriptedHost(MAC_B);
    sim.addHost(ticker, MAC_A);
    sim.addHost(sink, MAC_B);
    const result = sim.run({ maxTime: 1000 });
    expect(result).toMatchObject({ reason: 'idle', time: 50 });
    expect(ticker.wakeups).toEqual([10, 20, 30, 40, 50]);
    expect(sink.received.map((r) => r.time)).toEqual([10, 20, 30, 40, 50]);
  });

  it('stops at maxTime without running later events, and resumes from there', () => {
    const sim = new Simulation({ seed: 1 });
    const ticker = new TickingHost(MAC_A, MAC_B, 10, 100);
    sim.addHost(ticker, MAC_A);
    sim.addHost(new ScriptedHost(MAC_B), MAC_B);
    expect(sim.run({ maxTime: 35 })).toMatchObject({ reason: 'max-time', time: 35 });
    expect(ticker.wakeups).toEqual([10, 20, 30]);
    expect(sim.runFor(20)).toMatchObject({ reason: 'max-time', time: 55 });
    expect(ticker.wakeups).toEqual([10, 20, 30, 40, 50]);
  });

  it('stops when the condition holds, or when steps run out', () => {
    const sim = new Simulation({ seed: 1 });
    const ticker = new TickingHost(MAC_A, MAC_B, 10, 100);
    const sink = new ScriptedHost(MAC_B);
    sim.addHost(ticker, MAC_A);
    sim.addHost(sink, MAC_B);
    expect(sim.run({ maxTime: 10_000, until: () => sink.received.length >= 3 })).toMatchObject({
      reason: 'until',
      time: 30,
    });
    // Each tick is two steps: the timer at t, then its frame arriving at the same t.
    expect(sim.run({ maxTime: 10_000, maxSteps: 4 })).toMatchObject({ reason: 'max-steps', time: 50, steps: 4 });
  });

  it('treats a deadline in the past as due now', () => {
    const sim = new Simulation({ seed: 1, startTime: 100 });
    const host = new ScriptedHost(MAC_A, [{ at: 5, frame: numberedFrame(MAC_B, MAC_A, 1) }]);
    const sink = new ScriptedHost(MAC_B);
    sim.addHost(host, MAC_A);
    sim.addHost(sink, MAC_B);
    sim.run({ maxTime: 1000 });
    expect(host.wakeups).toEqual([100]);
    expect(sink.received.map((r) => r.time)).toEqual([100]);
  });

  it('reports a host whose deadline never moves instead of spinning', () => {
    class StuckHost extends ScriptedHost {
      override nextDeadline(): number {
        return 0;
      }
    }
    const sim = new Simulation({ seed: 1, maxStepsPerInstant: 100 });
    sim.addHost(new StuckHost(MAC_A), MAC_A, { name: 'stuck' });
    expect(() => sim.run({ maxTime: 10 })).toThrow(/no progress: more than 100 steps at 0 ms \(deadline still due after advanceTime: stuck\)/);
  });

  it('carries a round trip: request out, echo back, each leg with its own delay', () => {
    const sim = new Simulation({ seed: 1 });
    const client = sim.addHost(new ScriptedHost(MAC_A, script(1, MAC_B, 0)), MAC_A, { name: 'client' });
    const server = sim.addHost(new EchoHost(MAC_B), MAC_B, { name: 'server' });
    sim.setFaults(client, server, { delay: 3 });
    sim.setFaults(server, client, { delay: 7 });
    sim.run({ maxTime: 100 });
    const clientHost = client.host as ScriptedHost;
    expect(clientHost.received.map((r) => r.time)).toEqual([10]);
    expect(client.framesSent).toBe(1);
    expect(server.framesReceived).toBe(1);
    expect(sim.trace().map((e) => `${e.from}>${e.to}@${e.time}+${e.arrival! - e.time}`)).toEqual([
      'client>server@0+3',
      'server>client@3+7',
    ]);
  });

  it('hands frames over in one receive buffer that is overwritten after each, as a capture device does', () => {
    const sim = new Simulation({ seed: 1, faults: { delay: 1 } });
    const sent = [numberedFrame(MAC_B, MAC_A, 1), numberedFrame(MAC_B, MAC_A, 2)];
    const untouched = sent.map((frame) => frame.slice());
    sim.addHost(new ScriptedHost(MAC_A, [{ at: 0, frame: sent[0]! }, { at: 1, frame: sent[1]! }]), MAC_A);
    const receiver = new ScriptedHost(MAC_B);
    const views: Uint8Array[] = [];
    const receive = receiver.receiveFrame.bind(receiver);
    receiver.receiveFrame = (frame, now) => {
      views.push(frame);
      receive(frame, now);
    };
    sim.addHost(receiver, MAC_B);
    sim.run({ maxTime: 10 });
    expect(receiver.receivedNumbers()).toEqual([1, 2]);
    expect(views).toHaveLength(2);
    expect(views[0]!.buffer).toBe(views[1]!.buffer);
    expect(views.every((view) => view.every((byte) => byte === 0xa5))).toBe(true);
    expect(sent).toEqual(untouched);
  });

  it('broadcasts to every other host', () => {
    const sim = new Simulation({ seed: 1 });
    const hosts = [MAC_A, MAC_B, MAC_C].map((mac) => new ScriptedHost(mac));
    hosts.forEach((h, i) => sim.addHost(h, h.mac, { name: `h${i}` }));
    hosts[1]!.sendNow(numberedFrame(BROADCAST_MAC, MAC_B, 42));
    sim.run({ maxTime: 10 });
    expect(hosts.map((h) => h.receivedNumbers())).toEqual([[42], [], [42]]);
  });

  it('runs scheduled tasks in time order and drains hosts after them', () => {
    const sim = new Simulation({ seed: 1 });
    const a = new ScriptedHost(MAC_A);
    const b = new ScriptedHost(MAC_B);
    sim.addHost(a, MAC_A);
    sim.addHost(b, MAC_B);
    const log: string[] = [];
    sim.schedule(20, () => log.push(`second@${sim.now}`));
    sim.schedule(5, () => {
      log.push(`first@${sim.now}`);
      a.sendNow(numberedFrame(MAC_B, MAC_A, 9));
    });
    sim.schedule(20, () => log.push(`third@${sim.now}`));
    expect(sim.run({ maxTime: 100 })).toMatchObject({ reason: 'idle', time: 20 });
    expect(log).toEqual(['first@5', 'second@20', 'third@20']);
    expect(b.received.map((r) => [r.time, frameNumber(r.frame)])).toEqual([[5, 9]]);
  });

  it('replays identically for the same seed, and differently for another', () => {
    const faults: LinkFaults = { loss: 0.2, duplicate: 0.1, reorder: 0.2, delay: 2, jitter: 1, corrupt: 0.1 };
    const runOnce = (seed: number) => {
      const sim = new Simulation({ seed, faults });
      sim.addHost(new ScriptedHost(MAC_A, script(200, MAC_B, 0.25)), MAC_A);
      sim.addHost(new EchoHost(MAC_B), MAC_B);
      sim.run({ maxTime: 10_000 });
      return { text: sim.formatTrace(), entries: sim.trace().map(({ frame, ...rest }) => ({ ...rest, bytes: [...frame] })) };
    };
    const first = runOnce(2024);
    const again = runOnce(2024);
    expect(again.entries).toEqual(first.entries);
    expect(again.text).toBe(first.text);
    expect(first.entries.length).toBeGreaterThan(300);
    expect(first.entries.some((e) => e.fault === 'lost')).toBe(true);
    expect(runOnce(2025).text).not.toBe(first.text);
  });

  it('derives per-seed bytes for host secrets', () => {
    const one = new Simulation({ seed: 8 });
    const two = new Simulation({ seed: 8 });
    expect(one.randomBytes('isn:a', 16)).toEqual(two.randomBytes('isn:a', 16));
    expect(one.randomBytes('isn:a', 16)).not.toEqual(one.randomBytes('isn:b', 16));
  });

  it('refuses duplicate host names', () => {
    const sim = new Simulation({ seed: 1 });
    sim.addHost(new ScriptedHost(MAC_A), MAC_A, { name: 'x' });
    expect(() => sim.addHost(new ScriptedHost(MAC_B), MAC_B, { name: 'x' })).toThrow(/taken/);
  });

  it('runs a long lossy exchange in milliseconds of wall time per virtual second', () => {
    const sim = new Simulation({ seed: 3, faults: { loss: 0.05, delay: 1, bandwidth: 12_500 } });
    sim.addHost(new ScriptedHost(MAC_A, script(10_000, MAC_B, 0.1, 1514)), MAC_A);
    const echo = sim.addHost(new EchoHost(MAC_B), MAC_B);
    const started = performance.now();
    expect(sim.run({ maxTime: 60_000 }).reason).toBe('idle');
    expect(performance.now() - started).toBeLessThan(2000);
    expect(echo.framesReceived).toBeGreaterThan(9_000);
    expect(sim.now).toBeGreaterThan(1000);
  });
});
