/**
 * Watching real fetches over our stack from the kernel's HTTP server in a
 * namespace lab (198.18.31.0/24): --inspect delivers the connection's actor to
 * a WebSocket receiver on loopback, --trace writes the page of the states the
 * connection went through, --record writes a recording that `tcpts replay`
 * finds identical (and not once a byte is changed).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLab, type Lab } from '@tcpts/io-pcap';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { ExitCode } from './errors.js';
import { type Captured, fetchOverLab, runCli } from './testing/run-cli.js';

const HTTP_PORT = 8080;
/** Nothing listens here: the kernel answers with RST. */
const CLOSED_PORT = 8082;

let lab: Lab;
let dir: string;


const pageUrl = (port: number, path: string): string => `http://${lab.serverIp}:${port}/${path}`;

const fetchOverStack = (url: string, extra: readonly string[]): Promise<Captured> =>
  fetchOverLab(lab, url, join(dir, 'body'), 30_000, extra);

interface TimelineData {
  readonly statesVisited: readonly string[];
  readonly transitions: ReadonlyArray<{ readonly from: string; readonly to: string }>;
  readonly counts: { readonly segmentsOut: number; readonly segmentsIn: number };
}

/** The timeline a trace page embeds. */
const timelineOf = (html: string): TimelineData => {
  const data = /<script type="application\/json" id="trace-data">(.*?)<\/script>/s.exec(html);
  if (data === null) throw new Error('no trace data in the page');
  return JSON.parse(data[1]!) as TimelineData;
};

/** `* FROM -> TO` lines of -v, in order. */
const verboseTransitions = (stderr: string): Array<{ from: string; to: string }> =>
  [...stderr.matchAll(/^\* ([A-Z-]+) -> ([A-Z-]+)$/gm)].map((m) => ({ from: m[1]!, to: m[2]! }));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tcpw-insp-'));
  await writeFile(join(dir, 'page.html'), '<!doctype html><title>w</title><p>watched over tcpts</p>\n');
  await writeFile(join(dir, 'big.bin'), Buffer.alloc(300_000, 0x5a));
  lab = await createLab({ name: 'tcpw-insp', subnet: 31 });
  await lab.startHttpServer(dir, HTTP_PORT);
}, 60_000);

afterAll(async () => {
  await lab?.destroy();
  await rm(dir, { recursive: true, force: true });
});

describe('fetch --inspect', () => {
  it("sends the connection's actor, events and states to the inspector", async () => {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    const messages: Array<{ type: string; name?: string; event?: { type?: string }; snapshot?: { value?: unknown } }> = [];
    let clientClosed = (): void => undefined;
    const closed = new Promise<void>((resolve) => (clientClosed = resolve));
    server.on('connection', (socket) => {
      socket.on('message', (data) => messages.push(JSON.parse(String(data)) as (typeof messages)[number]));
      socket.on('close', () => clientClosed());
    });
    try {
      const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const result = await fetchOverStack(pageUrl(HTTP_PORT, 'page.html'), [`--inspect=${url}`]);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(ExitCode.ok);
      // The inspector closes its socket when the fetch ends, after the last message.
      await closed;
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    const registration = messages.find((m) => m.type === '@xstate.actor');
    expect(registration?.name).toBe('tcp');
    const states = messages.filter((m) => m.type === '@xstate.snapshot').map((m) => m.snapshot?.value);
    expect(states).toEqual(expect.arrayContaining(['SYN-SENT', 'ESTABLISHED']));
    expect(states.indexOf('SYN-SENT')).toBeLessThan(states.indexOf('ESTABLISHED'));
    const events = messages.filter((m) => m.type === '@xstate.event').map((m) => m.event?.type);
    expect(events).toEqual(expect.arrayContaining(['OPEN_ACTIVE', 'RCV_SYN_ACK']));
  });

  it('fetches all the same when no inspector listens, with one warning', async () => {
    const result = await fetchOverStack(pageUrl(HTTP_PORT, 'page.html'), ['--inspect=ws://127.0.0.1:9']);
    expect(result.code).toBe(ExitCode.ok);
    expect(result.stderr).toMatch(/^tcpts: warning: cannot reach the inspector at ws:\/\/127\.0\.0\.1:9 .*; going on without it\n$/);
    expect(await readFile(join(dir, 'body'), 'utf8')).toContain('watched over tcpts');
  });
});

describe('fetch --trace', () => {
  it('writes a self-contained page of the states the connection went through', async () => {
    const file = join(dir, 'trace.html');
    const url = pageUrl(HTTP_PORT, 'big.bin');
    const result = await fetchOverStack(url, ['-v', '--trace', file]);
    expect(result.code).toBe(ExitCode.ok);
    const html = await readFile(file, 'utf8');
    const timeline = timelineOf(html);
    const transitions = verboseTransitions(result.stderr);
    expect(transitions.slice(0, 2)).toEqual([
      { from: 'CLOSED', to: 'SYN-SENT' },
      { from: 'SYN-SENT', to: 'ESTABLISHED' },
    ]);
    expect(timeline.transitions.map(({ from, to }) => ({ from, to }))).toEqual(transitions);
    for (const state of new Set(transitions.flatMap((t) => [t.from, t.to]))) {
      expect(timeline.statesVisited).toContain(state);
      expect(html).toContain(`data-state="${state}"`);
    }
    const segmentLines = result.stderr.match(/^[<>] [A-Z,]+ seq=/gm) ?? [];
    expect(timeline.counts.segmentsOut + timeline.counts.segmentsIn).toBe(segmentLines.length);
    // Nothing outside the file: the only URL in it is the fetched one, as text.
    const rest = html.split(url).join('');
    for (const reference of ['http://', 'https://', 'src=', 'href=', '@import', '<link', '<img', '<iframe']) {
      expect(rest).not.toContain(reference);
    }
    // CSS and SVG url() only point at elements of the page itself (markers, clip paths).
    expect(rest).not.toMatch(/url\((?!#)/);
  });

  it('writes the page after a failure too', async () => {
    const file = join(dir, 'refused.html');
    const result = await fetchOverStack(pageUrl(CLOSED_PORT, ''), ['--trace', file]);
    expect(result.code).toBe(ExitCode.couldNotConnect);
    expect(result.stderr).toMatch(/^tcpts: Failed to connect to .*: connection refused\n$/);
    const timeline = timelineOf(await readFile(file, 'utf8'));
    expect(timeline.statesVisited).toEqual(['CLOSED', 'SYN-SENT']);
    expect(timeline.transitions.map((t) => `${t.from}>${t.to}`)).toEqual(['CLOSED>SYN-SENT', 'SYN-SENT>CLOSED']);
  });
});

describe('fetch --record and tcpts replay', () => {
  it('replays a real fetch identically, and its page is the fetch page', async () => {
    const recording = join(dir, 'fetch.jsonl');
    const fetchPage = join(dir, 'fetch.html');
    const replayPage = join(dir, 'replay.html');
    const fetched = await fetchOverStack(pageUrl(HTTP_PORT, 'big.bin'), ['--record', recording, '--trace', fetchPage]);
    expect(fetched.code).toBe(ExitCode.ok);

    const replayed = await runCli(['replay', recording, '--trace', replayPage]);
    expect(replayed.stderr).toBe('');
    expect(replayed.code).toBe(ExitCode.ok);
    const counts = /^identical: (\d+) steps, (\d+) frames, (\d+) events\n$/.exec(replayed.stdout);
    expect(counts).not.toBeNull();
    const lines = (await readFile(recording, 'utf8')).trimEnd().split('\n');
    expect(Number(counts![1])).toBe(lines.length - 1);
    // 300 kB in about 210 segments, merged into fewer frames by the packet ring, and their ACKs
    // (one for every second segment arriving alone, one per eight of a read of the ring that brings many).
    expect(Number(counts![2])).toBeGreaterThan(40);

    const original = timelineOf(await readFile(fetchPage, 'utf8'));
    const again = timelineOf(await readFile(replayPage, 'utf8'));
    expect(again.transitions).toEqual(original.transitions);
    expect(again.counts).toEqual(original.counts);
  });

  it('replays a fetch over the packet ring, whose device checks and finishes checksums, identically', async () => {
    const recording = join(dir, 'ring.jsonl');
    const fetched = await fetchOverStack(pageUrl(HTTP_PORT, 'big.bin'), ['--record', recording, '--capture', 'packet-ring']);
    expect(fetched.code).toBe(ExitCode.ok);
    const lines = (await readFile(recording, 'utf8')).trimEnd().split('\n');
    const header = JSON.parse(lines[0]!) as { config: { transmitChecksumOffload?: boolean } };
    expect(header.config.transmitChecksumOffload).toBe(true);
    // The server's segments came vouched for by the device, most merged into runs with their segment
    // size (receive coalescing): both are part of the recording.
    const vouched = lines.filter((line) => /^\{"call":"receiveFrame","args":\["[0-9a-f]+",[\d.e+-]+,1(,\d+)?\]/.test(line));
    const merged = lines.filter((line) => /^\{"call":"receiveFrame","args":\["[0-9a-f]+",[\d.e+-]+,1,\d+\]/.test(line));
    expect(vouched.length).toBeGreaterThan(5);
    expect(merged.length).toBeGreaterThan(0);
    const replayed = await runCli(['replay', recording]);
    expect(replayed.stderr).toBe('');
    expect(replayed.code).toBe(ExitCode.ok);
    expect(replayed.stdout).toMatch(/^identical: \d+ steps, \d+ frames, \d+ events\n$/);
  });

  it('names the step where a changed byte makes the replay differ', async () => {
    const recording = join(dir, 'small.jsonl');
    const fetched = await fetchOverStack(pageUrl(HTTP_PORT, 'page.html'), ['--record', recording]);
    expect(fetched.code).toBe(ExitCode.ok);
    const lines = (await readFile(recording, 'utf8')).trimEnd().split('\n');
    // The third frame the host sent (after the ARP request and the SYN): change its byte 40, in the TCP header.
    const sent = lines.flatMap((line, index) => (/^\{"call":"pollFrame".*"\$hex":"/.test(line) ? [index] : []));
    expect(sent.length).toBeGreaterThan(3);
    const index = sent[2]!;
    const step = JSON.parse(lines[index]!) as { outcome: { returned: { $hex: string } } };
    const hex = step.outcome.returned.$hex;
    step.outcome.returned.$hex = hex.slice(0, 80) + (hex[80] === 'f' ? 'e' : 'f') + hex.slice(81);
    lines[index] = JSON.stringify(step);
    const changed = join(dir, 'changed.jsonl');
    await writeFile(changed, `${lines.join('\n')}\n`);

    const replayed = await runCli(['replay', changed]);
    expect(replayed.code).toBe(ExitCode.replayDiffers);
    // lines[0] is the header, so lines[index] is step `index` counted from 1.
    const length = hex.length / 2;
    expect(replayed.stdout.split('\n')[0]).toBe(
      `different at step ${index} (line ${index + 1}, pollFrame): bytes differ from offset 40 (expected length ${length}, actual ${length})`,
    );
  });

  it('records a failed fetch too, and the recording replays', async () => {
    const recording = join(dir, 'refused.jsonl');
    const fetched = await fetchOverStack(pageUrl(CLOSED_PORT, ''), ['--record', recording]);
    expect(fetched.code).toBe(ExitCode.couldNotConnect);
    const replayed = await runCli(['replay', recording]);
    expect(replayed.code).toBe(ExitCode.ok);
    expect(replayed.stdout).toMatch(/^identical: \d+ steps, \d+ frames, \d+ events\n$/);
  });
});
