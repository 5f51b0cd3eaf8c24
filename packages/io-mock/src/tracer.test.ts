import { describe, expect, it } from 'vitest';
import { FrameTracer } from './tracer.js';
import { frameNumber, numberedFrame } from './testing/fake-hosts.js';

describe('FrameTracer', () => {
  it('keeps only the latest entries and says how many it left out', () => {
    const tracer = new FrameTracer({ limit: 3 });
    for (let i = 0; i < 5; i++) tracer.record(i, i + 1, 'a', 'b', numberedFrame(2, 1, i), undefined);
    expect(tracer.total).toBe(5);
    expect(tracer.entries().map((e) => frameNumber(e.frame))).toEqual([2, 3, 4]);
    expect(tracer.entries(2).map((e) => e.time)).toEqual([3, 4]);
    const text = tracer.format(2);
    expect(text.split('\n')[0]).toBe('… 3 earlier frames not shown');
    expect(text.split('\n')).toHaveLength(3);
  });

  it('describes frames lazily, once, with the injected describer', () => {
    let calls = 0;
    const tracer = new FrameTracer({
      describeFrame: (frame) => {
        calls++;
        return `frame #${frameNumber(frame)}`;
      },
    });
    for (let i = 0; i < 100; i++) tracer.record(i, undefined, 'a', 'b', numberedFrame(2, 1, i), 'lost');
    expect(calls).toBe(0);
    expect(tracer.entries(1)[0]!.description).toBe('frame #99');
    tracer.entries(1);
    expect(calls).toBe(1);
  });

  it('formats virtual times, direction, fate and description on one line per frame', () => {
    const tracer = new FrameTracer();
    tracer.record(1.5, 6.5, 'client', 'server', numberedFrame(0x02_00_00_00_00_02, 0x02_00_00_00_00_01, 7, 60), 'reordered');
    tracer.record(2, undefined, 'server', 'client', numberedFrame(1, 2, 8), 'lost');
    const [first, second] = tracer.format().split('\n');
    expect(first).toBe(
      '       1.500 ms  client → server  +5.000 ms [reordered]  60 B 02:00:00:00:00:01 > 02:00:00:00:00:02 type 0x0800',
    );
    expect(second).toMatch(/^ +2\.000 ms  server → client  \[lost\]  64 B /);
  });

  it('records nothing with limit 0 and everything with Infinity', () => {
    const off = new FrameTracer({ limit: 0 });
    const all = new FrameTracer({ limit: Infinity });
    for (let i = 0; i < 10_000; i++) {
      off.record(i, i, 'a', 'b', numberedFrame(2, 1, i), undefined);
      all.record(i, i, 'a', 'b', numberedFrame(2, 1, i), undefined);
    }
    expect(off.entries()).toHaveLength(0);
    expect(all.entries()).toHaveLength(10_000);
  });
});
