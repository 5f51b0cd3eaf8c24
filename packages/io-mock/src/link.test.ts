import { describe, expect, it } from 'vitest';
import { BROADCAST_MAC, formatMac, readMac, writeMac } from './ethernet.js';
import { MockLink } from './link.js';
import type { LinkEndpoint } from './link.js';
import { SeededRng } from './rng.js';
import { numberedFrame } from './testing/fake-hosts.js';
import { FrameTracer } from './tracer.js';

const endpoint = (name: string, mac: number): LinkEndpoint => ({ name, mac });
const a = endpoint('a', 0x02_00_00_00_00_0a);
const b = endpoint('b', 0x02_00_00_00_00_0b);
const c = endpoint('c', 0x02_00_00_00_00_0c);

const makeLink = (tracer?: FrameTracer) => {
  const deliveries: { arrival: number; to: string; frame: Uint8Array }[] = [];
  const link = new MockLink<LinkEndpoint>({
    rng: new SeededRng(5),
    ...(tracer !== undefined ? { tracer } : {}),
    schedule: (arrival, to, frame) => deliveries.push({ arrival, to: to.name, frame }),
  });
  for (const e of [a, b, c]) link.attach(e);
  return { link, deliveries };
};

describe('MAC helpers', () => {
  it('write and read 48-bit addresses exactly', () => {
    const bytes = new Uint8Array(6);
    for (const mac of [0, 1, 0x02_00_00_00_00_0a, 0xfe_dc_ba_98_76_54, BROADCAST_MAC]) {
      writeMac(bytes, 0, mac);
      expect(readMac(bytes, 0)).toBe(mac);
    }
    expect(formatMac(0x02_00_5e_10_00_ff)).toBe('02:00:5e:10:00:ff');
  });
});

describe('MockLink', () => {
  it('delivers a unicast frame to the endpoint with the destination MAC only, by reference', () => {
    const { link, deliveries } = makeLink();
    const frame = numberedFrame(b.mac, a.mac, 1);
    link.transmit(a, frame, 0);
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0]!.to).toBe('b');
    expect(deliveries[0]!.frame).toBe(frame);
  });

  it('floods broadcast to every endpoint but the sender', () => {
    const { link, deliveries } = makeLink();
    link.transmit(b, numberedFrame(BROADCAST_MAC, b.mac, 1), 0);
    expect(deliveries.map((d) => d.to).sort()).toEqual(['a', 'c']);
  });

  it('floods multicast (group bit set) like broadcast', () => {
    const { link, deliveries } = makeLink();
    link.transmit(a, numberedFrame(0x01_00_5e_00_00_01, a.mac, 1), 0);
    expect(deliveries.map((d) => d.to).sort()).toEqual(['b', 'c']);
  });

  it('counts and traces frames for a MAC nobody has', () => {
    const tracer = new FrameTracer();
    const { link, deliveries } = makeLink(tracer);
    link.transmit(a, numberedFrame(0x02_00_00_00_00_99, a.mac, 1), 3);
    expect(deliveries).toHaveLength(0);
    expect(link.stats().unknownDestination).toBe(1);
    expect(tracer.entries()[0]).toMatchObject({ time: 3, from: 'a', to: '02:00:00:00:00:99', fault: 'unknown-destination' });
  });

  it('applies faults per ordered pair, with the default elsewhere', () => {
    const { link, deliveries } = makeLink();
    link.defaultFaults = { delay: 1 };
    link.setFaults(a, b, { delay: 10 });
    link.transmit(a, numberedFrame(b.mac, a.mac, 1), 0);
    link.transmit(b, numberedFrame(a.mac, b.mac, 2), 0);
    link.transmit(a, numberedFrame(c.mac, a.mac, 3), 0);
    expect(deliveries.map((d) => [d.to, d.arrival])).toEqual([
      ['b', 10],
      ['a', 1],
      ['c', 1],
    ]);
    expect(link.faultsOf(a, b)).toEqual({ delay: 10 });
    expect(link.faultsOf(b, a)).toEqual({ delay: 1 });
    // A new default reaches directions without their own faults, not the others.
    link.defaultFaults = { delay: 2 };
    link.transmit(a, numberedFrame(b.mac, a.mac, 4), 0);
    link.transmit(b, numberedFrame(a.mac, b.mac, 5), 0);
    expect(deliveries.slice(3).map((d) => d.arrival)).toEqual([10, 2]);
    link.setFaults(a, b, undefined);
    link.transmit(a, numberedFrame(b.mac, a.mac, 6), 0);
    expect(deliveries[5]!.arrival).toBe(2);
  });

  it('keeps the directions of a pair independent: a partition in one direction only', () => {
    const { link, deliveries } = makeLink();
    link.setFaults(a, b, { loss: 1 });
    for (let i = 0; i < 10; i++) {
      link.transmit(a, numberedFrame(b.mac, a.mac, i), i);
      link.transmit(b, numberedFrame(a.mac, b.mac, i), i);
    }
    expect(deliveries.every((d) => d.to === 'a')).toBe(true);
    expect(deliveries).toHaveLength(10);
    expect(link.stats(a, b).lost).toBe(10);
    expect(link.stats(b, a).delivered).toBe(10);
    expect(link.stats()).toMatchObject({ frames: 20, lost: 10, delivered: 10 });
  });

  it('refuses duplicate, group and out-of-range MACs', () => {
    const { link } = makeLink();
    expect(() => link.attach(endpoint('again', a.mac))).toThrow(/already/);
    expect(() => link.attach(endpoint('group', 0x01_00_00_00_00_01))).toThrow(/group/);
    expect(() => link.attach(endpoint('huge', 2 ** 48))).toThrow(RangeError);
  });

  it('traces each delivery and drop with its direction and fate', () => {
    const tracer = new FrameTracer();
    const { link } = makeLink(tracer);
    link.setFaults(a, b, { loss: 1 });
    link.setFaults(a, c, { delay: 4, duplicate: 1 });
    link.transmit(a, numberedFrame(BROADCAST_MAC, a.mac, 1), 2);
    expect(tracer.entries().map((e) => [e.from, e.to, e.time, e.arrival, e.fault])).toEqual([
      ['a', 'b', 2, undefined, 'lost'],
      ['a', 'c', 2, 6, undefined],
      ['a', 'c', 2, 6, 'duplicated'],
    ]);
  });
});
