/**
 * `FetchWatch` without a network: the host the stack would run is made here,
 * wrapped as the stack would wrap it, and driven through a real exchange with
 * a second host in memory. The page shows that exchange, metrics included;
 * the recording replays identically; the inspector hears the actor.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createHost,
  parseRecording,
  RecordingHost,
  replayRecording,
  serializeRecording,
  type HostConfig,
  type Recording,
} from '@tcpts/core';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { WebSocketServer } from 'ws';
import { ObservingHost, tracedSocket } from './observing-host.js';
import { clientConfig, runExchange } from './testing/host-exchange.js';
import { FetchWatch, writeRecording } from './watch.js';

const dir = mkdtempSync(join(tmpdir(), 'tcpts-watch-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface TimelineData {
  readonly statesVisited: readonly string[];
  readonly metrics: ReadonlyArray<{ readonly flight: number | null; readonly cwnd: number }>;
  readonly counts: { readonly segmentsOut: number; readonly segmentsIn: number };
}

const timelineOf = (html: string): TimelineData => {
  const data = /<script type="application\/json" id="trace-data">(.*?)<\/script>/s.exec(html);
  if (data === null) throw new Error('no trace data in the page');
  return JSON.parse(data[1]!) as TimelineData;
};

describe('FetchWatch', () => {
  it('leaves the stack alone when nothing is watched', async () => {
    const watch = new FetchWatch({ title: 't' }, () => undefined);
    await watch.start();
    expect(watch.stackOptions()).toEqual({});
  });

  it('traces, records and inspects one run of a wrapped host', async () => {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    const messages: Array<{ type: string }> = [];
    server.on('connection', (socket) => {
      socket.on('message', (data) => messages.push(JSON.parse(String(data)) as { type: string }));
    });
    const lines: string[] = [];
    const tracePath = join(dir, 'run.html');
    const recordPath = join(dir, 'run.jsonl');
    const watch = new FetchWatch(
      { title: 'a watched run', tracePath, recordPath, inspectUrl: `ws://127.0.0.1:${(server.address() as AddressInfo).port}` },
      (text) => lines.push(text),
    );
    try {
      await watch.start();
      const options = watch.stackOptions();
      expect(options.traceSegments).toBe(true);
      // As PcapStack.open does: the configuration carries the observer, the host is wrapped.
      const config: HostConfig = { ...clientConfig(), traceSegments: true, inspect: options.inspect! };
      const host = options.wrapHost!(createHost(config), config);
      const exchange = runExchange(host);
      expect(await watch.finish()).toEqual([]);
      expect(lines).toEqual([]);

      const timeline = timelineOf(readFileSync(tracePath, 'utf8'));
      const states = ['CLOSED', ...exchange.events.flatMap((e) => (e.type === 'state' ? [e.to] : []))];
      expect(timeline.statesVisited).toEqual([...new Set(states)]);
      const segments = exchange.events.filter((e) => e.type === 'segment');
      expect(timeline.counts.segmentsOut + timeline.counts.segmentsIn).toBe(segments.length);
      // Samples with the bytes in flight come from the wrapped host's connections, not from its events.
      expect(timeline.metrics.some((m) => m.flight !== null && m.flight > 0)).toBe(true);

      const parsed = parseRecording(readFileSync(recordPath, 'utf8'));
      if (parsed._tag === 'Left') throw new Error(parsed.left);
      expect(parsed.right.config.traceSegments).toBe(true);
      expect(replayRecording(parsed.right, createHost).identical).toBe(true);

      expect(new Set(messages.map((m) => m.type))).toEqual(new Set(['@xstate.actor', '@xstate.event', '@xstate.snapshot']));
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('still writes a page when the stack never started, and says nothing was recorded', async () => {
    const tracePath = join(dir, 'empty.html');
    const recordPath = join(dir, 'empty.jsonl');
    const watch = new FetchWatch({ title: 'never opened', tracePath, recordPath }, () => undefined);
    await watch.start();
    const failures = await watch.finish();
    expect(failures.map((f) => f.message)).toEqual([`Nothing recorded to ${recordPath}: the stack was never opened`]);
    expect(timelineOf(readFileSync(tracePath, 'utf8')).counts).toMatchObject({ segmentsOut: 0, segmentsIn: 0 });
  });
});

describe('writeRecording', () => {
  it('writes exactly what serializeRecording gives, over many pieces', async () => {
    const host = RecordingHost.create(clientConfig(3), createHost);
    runExchange(host);
    const once = host.recording();
    // Long enough to be written in several pieces.
    const long: Recording = { ...once, steps: Array.from({ length: 40 }, () => once.steps).flat() };
    expect(long.steps.length).toBeGreaterThan(4_000);
    const file = join(dir, 'long.jsonl');
    await writeRecording(file, long);
    expect(readFileSync(file, 'utf8')).toBe(serializeRecording(long));
  });
});

describe('ObservingHost', () => {
  it('changes nothing the host does: wrapped and bare runs record the same', () => {
    const bare = RecordingHost.create(clientConfig(5), createHost);
    runExchange(bare);
    const observed = RecordingHost.create(clientConfig(5), (config) => new ObservingHost(createHost(config)));
    runExchange(observed);
    expect(serializeRecording(observed.recording())).toBe(serializeRecording(bare.recording()));
    const events = observed.inner.events;
    const polled = bare.recording().steps.filter((s) => s.call === 'pollEvent' && 'returned' in s.outcome && s.outcome.returned !== null);
    expect(events.length).toBe(polled.length);
    expect(tracedSocket(events)).toBe(1);
  });

  it('passes send options on, so urgent data stays urgent', () => {
    const inner = createHost(clientConfig());
    const send = vi.spyOn(inner, 'send').mockReturnValue(3);
    const host = new ObservingHost(inner);
    const data = Uint8Array.of(1, 2, 3);
    expect(host.send(1, data, 5, { urgent: true })).toBe(3);
    expect(send).toHaveBeenCalledWith(1, data, 5, { urgent: true });
  });

  it('keeps at most its limit of events and says so', () => {
    const host = new ObservingHost(createHost(clientConfig()), 10);
    const exchange = runExchange(host);
    expect(exchange.events.length).toBeGreaterThan(10);
    expect(host.events).toHaveLength(10);
    expect(host.events.map((e) => e.event)).toEqual(exchange.events.slice(0, 10));
    expect(host.truncated).toBe(true);
  });
});
