import fc from 'fast-check';
import { isLeft, isRight } from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { createHost } from '../stack/host.js';
import { FrameCheck, type HostConfig } from '../stack/host-types.js';
import {
  type Recording,
  type RecordedStep,
  RecordingHost,
  isInputCall,
  parseRecording,
  replayRecording,
  serializeRecording,
} from './recording.js';
import { B_IP, configA, configB, framesOf, transfer, wire } from './testing/two-hosts.js';
import { coalesceTcpFrames } from '../wire/receive-coalescing.js';

const recordedTransfer = (bytes: number, a: HostConfig = configA(), b: HostConfig = configB()) => {
  const hostA = RecordingHost.create(a, createHost);
  const hostB = RecordingHost.create(b, createHost);
  const run = transfer(hostA, hostB, bytes);
  return { a: hostA.recording(), b: hostB.recording(), run };
};

const parsed = (text: string): Recording => {
  const result = parseRecording(text);
  if (isLeft(result)) throw new Error(`expected a recording, got: ${result.left}`);
  return result.right;
};

const parseError = (text: string): string => {
  const result = parseRecording(text);
  if (isRight(result)) throw new Error('expected the recording to be refused');
  return result.left;
};

/** Replaces step `index` of a recording. */
const withStep = (recording: Recording, index: number, step: RecordedStep): Recording => ({
  ...recording,
  steps: recording.steps.map((s, i) => (i === index ? step : s)),
});

/** Flips one hex digit of a byte string at byte `offset`. */
const flipByte = (hex: string, offset: number): string => {
  const digit = hex[2 * offset + 1]!;
  const flipped = digit === '0' ? '1' : '0';
  return hex.slice(0, 2 * offset + 1) + flipped + hex.slice(2 * offset + 2);
};

describe('RecordingHost and replayRecording', () => {
  it('records a transfer between two hosts that replays identically after a round trip through text', () => {
    const { a, b, run } = recordedTransfer(20_000);
    // The run did what it should, so the recording is of something real.
    const delivered = run.wire.events
      .filter((e) => e.host === 'b' && e.event.type === 'data')
      .reduce((sum, e) => sum + (e.event.type === 'data' ? e.event.data.length : 0), 0);
    expect(delivered).toBe(20_000);

    for (const recording of [a, b]) {
      expect(recording.steps.some((s) => s.call === 'receiveFrame')).toBe(true);
      expect(recording.steps.some((s) => s.call === 'pollFrame' && 'returned' in s.outcome && s.outcome.returned !== null)).toBe(true);
      const text = serializeRecording(recording);
      const back = parsed(text);
      expect(serializeRecording(back)).toBe(text);
      const replay = replayRecording(back, createHost);
      expect(replay.firstDifference).toBeUndefined();
      expect(replay.identical).toBe(true);
      expect(replay.outputs).toHaveLength(recording.steps.length);
    }
  });

  it('keeps inputs and outputs in call order', () => {
    const { a } = recordedTransfer(3000);
    const calls = a.steps.map((s) => s.call);
    expect(calls[0]).toBe('connect');
    expect(calls.indexOf('connect')).toBeLessThan(calls.indexOf('pollFrame'));
    // The first frame A sends is its ARP request; the first it receives is B's reply.
    const firstIn = a.steps.findIndex((s) => s.call === 'receiveFrame');
    const firstOut = a.steps.findIndex((s) => s.call === 'pollFrame' && 'returned' in s.outcome && s.outcome.returned !== null);
    expect(firstOut).toBeLessThan(firstIn);
    expect(a.steps.filter((s) => isInputCall(s.call)).length).toBeGreaterThan(0);
    expect(a.steps.filter((s) => !isInputCall(s.call)).length).toBeGreaterThan(0);
  });

  it('replays identically for any transfer size and secrets (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 12_000 }),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        (bytes, secret) => {
          const { a } = recordedTransfer(bytes, configA({ isnSecret: secret }));
          const replay = replayRecording(parsed(serializeRecording(a)), createHost);
          expect(replay.firstDifference).toBeUndefined();
        },
      ),
      { numRuns: 8 },
    );
  });

  it('reports the step of an altered output frame, with the byte offset', () => {
    const { a } = recordedTransfer(5000);
    const index = a.steps.findIndex(
      (s, i) => i > 20 && s.call === 'pollFrame' && 'returned' in s.outcome && s.outcome.returned !== null,
    );
    const step = a.steps[index]!;
    const returned = 'returned' in step.outcome ? (step.outcome.returned as { $hex: string }) : undefined;
    const altered = withStep(a, index, { ...step, outcome: { returned: { $hex: flipByte(returned!.$hex, 30) } } });
    const replay = replayRecording(parsed(serializeRecording(altered)), createHost);
    expect(replay.identical).toBe(false);
    expect(replay.firstDifference).toMatchObject({ step: index, call: 'pollFrame' });
    expect(replay.firstDifference?.detail).toContain('offset 30');
    expect(replay.firstDifference?.expected).not.toBe(replay.firstDifference?.actual);
    // Replay goes on to the end: the inputs are still the recorded ones.
    expect(replay.outputs).toHaveLength(a.steps.length);
  });

  it('notices an altered input frame by the outputs that follow it', () => {
    const { b } = recordedTransfer(5000);
    // A data segment from A to B: a frame longer than the headers alone.
    const index = b.steps.findIndex((s) => s.call === 'receiveFrame' && typeof s.args[0] === 'string' && s.args[0].length > 2 * 200);
    expect(index).toBeGreaterThan(0);
    const step = b.steps[index]!;
    const altered = withStep(b, index, { ...step, args: [flipByte(step.args[0] as string, 100), step.args[1]!] });
    const replay = replayRecording(altered, createHost);
    expect(replay.identical).toBe(false);
    expect(replay.firstDifference!.step).toBeGreaterThan(index);
  });

  it('differs when the host is made from another configuration', () => {
    const { a } = recordedTransfer(1000);
    const replay = replayRecording(a, (config) => createHost({ ...config, isnSecret: new Uint8Array(16).fill(1) }));
    expect(replay.identical).toBe(false);
    // The SYN's sequence number is the first thing that depends on the secret: its trace event comes first.
    expect(replay.firstDifference?.call).toBe('pollEvent');
    expect(replay.firstDifference?.expected).toContain('"type":"segment"');
  });

  it('records send options, and replays urgent data to the same frames and events', () => {
    const hostA = RecordingHost.create(configA(), createHost);
    const hostB = RecordingHost.create(configB(), createHost);
    const w = wire(hostA, hostB);
    hostB.listen(80, 0);
    const socket = hostA.connect(B_IP, 80, 0);
    w.run(200);
    hostA.send(socket, new Uint8Array(1000).fill(1), w.now());
    hostA.send(socket, new Uint8Array(100).fill(2), w.now(), { urgent: true });
    hostA.send(socket, new Uint8Array(10).fill(3), w.now(), {});
    w.run();
    expect(w.events.filter((e) => e.host === 'b' && e.event.type === 'urgent').map((e) => e.event)).toEqual([
      expect.objectContaining({ type: 'urgent', end: 1100 }),
    ]);
    const a = hostA.recording();
    // A plain send is written as before options existed; options are written as given.
    expect(a.steps.filter((s) => s.call === 'send').map((s) => s.args.slice(3))).toEqual([[], [{ urgent: true }], [{}]]);
    for (const recording of [a, hostB.recording()]) {
      const replay = replayRecording(parsed(serializeRecording(recording)), createHost);
      expect(replay.firstDifference).toBeUndefined();
    }
    // Without the option, the replay sends no URG and differs.
    const urgentStep = a.steps.findIndex((s) => s.call === 'send' && s.args.length === 4);
    const plain = withStep(a, urgentStep, { ...a.steps[urgentStep]!, args: a.steps[urgentStep]!.args.slice(0, 3) });
    expect(replayRecording(plain, createHost).identical).toBe(false);
  });

  it('records the checks a device made on a frame, only when it made some, and replays them', () => {
    const hostA = RecordingHost.create(configA(), createHost);
    const hostB = RecordingHost.create(configB(), createHost);
    hostB.listen(80, 0);
    hostA.connect(B_IP, 80, 0);
    // hostA's ARP request reaches B unchecked, then B's ARP reply and hostA's SYN as a device that summed them would pass them.
    const arp = hostA.pollFrame()!;
    hostB.receiveFrame(arp, 1);
    hostA.receiveFrame(hostB.pollFrame()!, 2, FrameCheck.none);
    const synFrame = hostA.pollFrame()!;
    // The SYN's sequence number altered after its checksum: only a host that trusts the device answers it.
    const altered = synFrame.slice();
    altered[14 + 20 + 7]! ^= 1;
    hostB.receiveFrame(altered, 3, FrameCheck.tcpChecksum);
    expect(hostB.pollFrame()).toBeDefined();
    const b = hostB.recording();
    expect(b.steps.filter((s) => s.call === 'receiveFrame').map((s) => s.args.slice(2))).toEqual([[], [FrameCheck.tcpChecksum]]);
    expect(hostA.recording().steps.filter((s) => s.call === 'receiveFrame').map((s) => s.args.length)).toEqual([2]);
    expect(replayRecording(parsed(serializeRecording(b)), createHost).identical).toBe(true);
    // Without the flag the replayed host sums the altered SYN, drops it, and sends nothing.
    const synStep = b.steps.findIndex((s) => s.call === 'receiveFrame' && s.args.length === 3);
    const unchecked = withStep(b, synStep, { ...b.steps[synStep]!, args: b.steps[synStep]!.args.slice(0, 2) });
    expect(replayRecording(unchecked, createHost).firstDifference).toMatchObject({ step: synStep + 1, call: 'pollFrame' });
  });

  it('records the segment size of a frame a device merged, and replays it', () => {
    const hostA = RecordingHost.create(configA(), createHost);
    const hostB = RecordingHost.create(configB(), createHost);
    hostB.listen(80, 0);
    const socket = hostA.connect(B_IP, 80, 0);
    // ARP request and reply, SYN, SYN-ACK, ACK.
    for (let at = 1; at <= 5; at++) {
      const [from, to] = at % 2 === 1 ? [hostA, hostB] : [hostB, hostA];
      to.receiveFrame(from.pollFrame()!, at);
    }
    hostA.send(socket, new Uint8Array(10 * 1460).fill(3), 6);
    const data = framesOf(hostA).filter((frame) => frame.length > 1000);
    const [merged] = coalesceTcpFrames(data);
    expect(merged!.segmentSize).toBeGreaterThan(0);
    hostB.receiveFrame(merged!.frame, 7, FrameCheck.tcpChecksum, merged!.segmentSize);
    // Taken for its ten segments: ACKs at the eighth and the tenth (one segment would wait for the timer).
    expect(framesOf(hostB)).toHaveLength(2);
    const b = hostB.recording();
    const step = b.steps.findIndex((s) => s.call === 'receiveFrame' && s.args.length === 4);
    expect(b.steps[step]!.args.slice(2)).toEqual([FrameCheck.tcpChecksum, merged!.segmentSize]);
    expect(replayRecording(parsed(serializeRecording(b)), createHost).identical).toBe(true);
    // Without its segment size the frame is larger than the MTU: the replayed host drops it and says nothing.
    const unmerged = withStep(b, step, { ...b.steps[step]!, args: b.steps[step]!.args.slice(0, 3) });
    expect(replayRecording(unmerged, createHost).firstDifference).toMatchObject({ step: step + 1, call: 'pollFrame' });
  });

  it('records and replays what a call threw', () => {
    const host = RecordingHost.create(configA(), createHost);
    expect(() => host.connect(B_IP, 70_000, 0)).toThrow();
    expect(() => host.send(99, new Uint8Array(3), 0)).toThrow();
    const recording = host.recording();
    expect(recording.steps.map((s) => s.outcome)).toEqual([
      { threw: expect.objectContaining({ name: 'StackError', code: 'invalid-argument' }) },
      { threw: expect.objectContaining({ name: 'StackError', code: 'unknown-socket' }) },
    ]);
    expect(replayRecording(parsed(serializeRecording(recording)), createHost).identical).toBe(true);
  });

  it('reports a host that cannot be made', () => {
    const { a } = recordedTransfer(0);
    const replay = replayRecording(a, () => {
      throw new Error('no host today');
    });
    expect(replay.firstDifference).toMatchObject({ step: -1, call: 'createHost' });
    expect(replay.firstDifference?.actual).toContain('no host today');
  });
});

describe('parseRecording', () => {
  const good = serializeRecording(recordedTransfer(100).a);
  const [header, ...stepLines] = good.trimEnd().split('\n');
  const replaceLine = (n: number, text: string): string => [header, ...stepLines].map((l, i) => (i === n ? text : l)).join('\n');

  it('accepts the same data as one JSON document', () => {
    const recording = parsed(good);
    const document = JSON.stringify(recording, null, 2);
    expect(serializeRecording(parsed(document))).toBe(good);
  });

  it.each([
    ['', 'empty'],
    ['hello', 'line 1: not JSON'],
    ['{"version":2,"config":{}}', 'line 1: version: expected 1'],
    ['[]', 'line 1: expected the header object'],
  ])('refuses %j', (text, reason) => {
    expect(parseError(text)).toContain(reason);
  });

  it('names the line and field of a bad step or header', () => {
    const headerData = JSON.parse(header!) as { config: Record<string, unknown> };
    const withConfig = (change: Record<string, unknown>) =>
      replaceLine(0, JSON.stringify({ version: 1, config: { ...headerData.config, ...change } }));
    expect(parseError(withConfig({ isnSecret: 'xyz' }))).toBe('line 1: config.isnSecret: expected a hex string');
    expect(parseError(withConfig({ mac: 'a' }))).toBe('line 1: config.mac: expected a number');
    expect(parseError(withConfig({ tcp: { mss: 'big' } }))).toBe('line 1: config.tcp.mss: expected a number');
    expect(parseError(withConfig({ tcp: { wobble: 1 } }))).toBe('line 1: config.tcp: unknown field "wobble"');
    expect(parseError(withConfig({ congestion: 'vegas' }))).toContain('line 1: config.congestion');
    expect(parseError(withConfig({ transmitChecksumOffload: 1 }))).toBe('line 1: config.transmitChecksumOffload: expected a boolean');
    expect(parsed(replaceLine(0, JSON.stringify({ version: 1, config: { ...headerData.config, transmitChecksumOffload: true } }))).config)
      .toMatchObject({ transmitChecksumOffload: true });
    expect(parseError(withConfig({ colour: 'red' }))).toBe('line 1: config: unknown field "colour"');

    expect(parseError(replaceLine(2, '{"call":"fly","args":[],"outcome":{"returned":null}}'))).toMatch(/^line 3: call: expected one of/);
    expect(parseError(replaceLine(2, '{"call":"advanceTime","args":[],"outcome":{"returned":null}}'))).toBe(
      'line 3: args: advanceTime takes 1, found 0',
    );
    expect(parseError(replaceLine(2, '{"call":"receiveFrame","args":["0g",1],"outcome":{"returned":null}}'))).toBe(
      'line 3: args[0]: expected hex bytes',
    );
    expect(parseError(replaceLine(2, '{"call":"receiveFrame","args":["00",1,0],"outcome":{"returned":null}}'))).toBe(
      'line 3: args[2]: expected device checks as a positive integer',
    );
    expect(parseError(replaceLine(2, '{"call":"receiveFrame","args":["00",1,"x"],"outcome":{"returned":null}}'))).toBe(
      'line 3: args[2]: expected device checks as a positive integer',
    );
    expect(parsed(replaceLine(2, '{"call":"receiveFrame","args":["00",1,0,1448],"outcome":{"returned":null}}')).steps[1]!.args).toEqual([
      '00',
      1,
      0,
      1448,
    ]);
    expect(parseError(replaceLine(2, '{"call":"receiveFrame","args":["00",1,1,0],"outcome":{"returned":null}}'))).toBe(
      "line 3: args[3]: expected a merged frame's segment size as a positive integer",
    );
    expect(parseError(replaceLine(2, '{"call":"pollFrame","args":[],"outcome":{}}'))).toBe(
      'line 3: outcome: expected exactly one of "returned" or "threw"',
    );
    expect(parseError(replaceLine(2, '{"call":"pollFrame","args":[],"outcome":{"threw":{"name":1}}}'))).toBe(
      'line 3: outcome.threw: expected { name, message }',
    );
    expect(parseError(replaceLine(3, '{"call":'))).toMatch(/^line 4: not JSON/);
    expect(parseError(replaceLine(2, '{"call":"send","args":[1,"00"],"outcome":{"returned":1}}'))).toBe(
      'line 3: args: send takes 3 or 4, found 2',
    );
    expect(parseError(replaceLine(2, '{"call":"send","args":[1,"00",5,{"urgent":1}],"outcome":{"returned":1}}'))).toBe(
      'line 3: args[3]: send options.urgent: expected a boolean',
    );
    expect(parseError(replaceLine(2, '{"call":"send","args":[1,"00",5,{"push":true}],"outcome":{"returned":1}}'))).toBe(
      'line 3: args[3]: send options: unknown field "push"',
    );
    expect(parsed(replaceLine(2, '{"call":"send","args":[1,"00",5,{"urgent":true}],"outcome":{"returned":1}}')).steps[1]).toEqual({
      call: 'send',
      args: [1, '00', 5, { urgent: true }],
      outcome: { returned: 1 },
    });
  });

  it('never throws, whatever the text (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.constantFrom(good.slice(0, 500), `${header}\n{}`)), (text) => {
        const result = parseRecording(text);
        expect(result._tag === 'Left' || result._tag === 'Right').toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
