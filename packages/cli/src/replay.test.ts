/**
 * `tcpts replay` on recordings of real runs of two core hosts joined in
 * memory: identical replays, a changed byte found at its step, malformed
 * files refused, and the trace page of the replayed host.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHost, RecordingHost, serializeRecording, type Recording } from '@tcpts/core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from './errors.js';
import { runCli } from './testing/run-cli.js';
import { clientConfig, runExchange, type ExchangeResult } from './testing/host-exchange.js';


let dir: string;
let recording: Recording;
let exchange: ExchangeResult;
let file: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tcpts-replay-'));
  const config = clientConfig();
  const host = RecordingHost.create(config, createHost);
  exchange = runExchange(host);
  recording = host.recording();
  file = join(dir, 'exchange.jsonl');
  writeFileSync(file, serializeRecording(recording));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The file with one hex digit of step `index`'s recorded frame changed. */
const withChangedFrameByte = (index: number, byteOffset: number): string => {
  const lines = readFileSync(file, 'utf8').split('\n');
  const line = lines[index + 1]!;
  const step = JSON.parse(line) as { outcome: { returned: { $hex: string } } };
  const hex = step.outcome.returned.$hex;
  const at = 2 * (byteOffset % (hex.length / 2));
  const digit = hex[at] === '0' ? '1' : '0';
  step.outcome.returned.$hex = hex.slice(0, at) + digit + hex.slice(at + 1);
  lines[index + 1] = JSON.stringify(step);
  return lines.join('\n');
};

const frameSteps = (): number[] =>
  recording.steps.flatMap((step, index) =>
    step.call === 'pollFrame' && 'returned' in step.outcome && step.outcome.returned !== null ? [index] : [],
  );

describe('tcpts replay', () => {
  it('the exchange it replays is a real one', () => {
    expect(new TextDecoder().decode(exchange.received)).toContain('hello over an in-memory wire');
    expect(exchange.events.some((e) => e.type === 'closed')).toBe(true);
  });

  it('finds a faithful recording identical and counts its steps, frames and events', async () => {
    const result = await runCli(['replay', file]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(ExitCode.ok);
    const frames = exchange.framesIn + exchange.framesOut;
    expect(result.stdout).toBe(`identical: ${recording.steps.length} steps, ${frames} frames, ${exchange.events.length} events\n`);
  });

  it('names the step of any changed byte of a recorded frame and exits 1', async () => {
    const candidates = frameSteps();
    expect(candidates.length).toBeGreaterThan(5);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...candidates), fc.nat(1500), async (index, offset) => {
        const changed = join(dir, 'changed.jsonl');
        writeFileSync(changed, withChangedFrameByte(index, offset));
        const result = await runCli(['replay', changed]);
        expect(result.code).toBe(ExitCode.replayDiffers);
        const [first] = result.stdout.split('\n');
        expect(first).toMatch(new RegExp(`^different at step ${index + 1} \\(line ${index + 2}, pollFrame\\): bytes differ from offset \\d+`));
        const reported = Number(/offset (\d+)/.exec(first!)![1]);
        expect(reported).toBe(offset % ((recording.steps[index]!.outcome as { returned: { $hex: string } }).returned.$hex.length / 2));
      }),
      { numRuns: 15 },
    );
  });

  it('shows the recorded and the replayed value of any other difference', async () => {
    const index = recording.steps.findIndex(
      (step) => step.call === 'socketState' && 'returned' in step.outcome && step.outcome.returned === 'ESTABLISHED',
    );
    expect(index).toBeGreaterThanOrEqual(0);
    const changed: Recording = {
      ...recording,
      steps: recording.steps.map((s, i) => (i === index ? { ...s, outcome: { returned: 'CLOSING' } } : s)),
    };
    const asLines = join(dir, 'state.jsonl');
    writeFileSync(asLines, serializeRecording(changed));
    const result = await runCli(['replay', asLines]);
    expect(result.code).toBe(ExitCode.replayDiffers);
    expect(result.stdout).toBe(
      `different at step ${index + 1} (line ${index + 2}, socketState): a different result\n` +
        '  recorded: {"returned":"CLOSING"}\n' +
        '  replayed: {"returned":"ESTABLISHED"}\n',
    );
    // The same data as one JSON document: steps are still named, lines are not.
    const asDocument = join(dir, 'state.json');
    writeFileSync(asDocument, JSON.stringify(changed));
    const whole = await runCli(['replay', asDocument]);
    expect(whole.code).toBe(ExitCode.replayDiffers);
    expect(whole.stdout.split('\n')[0]).toBe(`different at step ${index + 1} (socketState): a different result`);
  });

  it('exits 2 with one line for a file that is not a recording', async () => {
    const cases: Array<readonly [string, RegExp]> = [
      ['not json at all\n', /line 1: not JSON/],
      ['{"version":2,"config":{}}\n', /line 1: version: expected 1/],
      [`${serializeRecording({ ...recording, steps: [] })}{"call":"pollFrame","args":[1],"outcome":{"returned":null}}\n`, /line 2: args/],
      ['', /empty/],
    ];
    for (const [text, pattern] of cases) {
      const bad = join(dir, 'bad.jsonl');
      writeFileSync(bad, text);
      const result = await runCli(['replay', bad]);
      expect(result.code).toBe(ExitCode.usage);
      expect(result.stdout).toBe('');
      expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(/^tcpts: .*bad\.jsonl is not a recording: /);
      expect(result.stderr).toMatch(pattern);
    }
  });

  it('exits 2 when the file cannot be read', async () => {
    const result = await runCli(['replay', join(dir, 'missing.jsonl')]);
    expect(result.code).toBe(ExitCode.usage);
    expect(result.stderr).toMatch(/^tcpts: Cannot read .*missing\.jsonl: ENOENT/);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('writes the trace page of the replayed host with --trace', async () => {
    const page = join(dir, 'replayed.html');
    const result = await runCli(['replay', file, '--trace', page]);
    expect(result.code).toBe(ExitCode.ok);
    const html = readFileSync(page, 'utf8');
    const data = /<script type="application\/json" id="trace-data">(.*?)<\/script>/s.exec(html);
    expect(data).not.toBeNull();
    const timeline = JSON.parse(data![1]!) as { statesVisited: string[]; counts: { segmentsOut: number; segmentsIn: number } };
    const visited = ['CLOSED', ...exchange.events.flatMap((e) => (e.type === 'state' ? [e.to] : []))];
    expect(timeline.statesVisited).toEqual([...new Set(visited)]);
    const segments = exchange.events.filter((e) => e.type === 'segment');
    expect(timeline.counts.segmentsOut).toBe(segments.filter((e) => e.type === 'segment' && e.direction === 'out').length);
    expect(timeline.counts.segmentsIn).toBe(segments.filter((e) => e.type === 'segment' && e.direction === 'in').length);
  });

  it('still writes the page when the replay differs, and exits 23 when the page cannot be written', async () => {
    const changed = join(dir, 'changed-for-trace.jsonl');
    writeFileSync(changed, withChangedFrameByte(frameSteps()[0]!, 20));
    const page = join(dir, 'differs.html');
    const differs = await runCli(['replay', changed, '--trace', page]);
    expect(differs.code).toBe(ExitCode.replayDiffers);
    expect(readFileSync(page, 'utf8')).toContain('ESTABLISHED');

    const unwritable = await runCli(['replay', file, '--trace', join(dir, 'no', 'such', 'dir.html')]);
    expect(unwritable.code).toBe(ExitCode.writeError);
    expect(unwritable.stdout).toMatch(/^identical: /);
    expect(unwritable.stderr).toMatch(/^tcpts: Failed writing the trace to .*dir\.html: ENOENT/);
  });

});
