import { createHost } from '@tcpts/core';
import { replayTape, type ReceiverTape, stageFrames, TapeRecordingHost } from './receiver-tape.js';
import { benchTransfer, type TransferBenchOptions, transferHostConfig } from './transfer.js';

export interface ReceivePathResult {
  readonly framesReceived: number;
  readonly framesSent: number;
  readonly bytes: number;
  readonly replays: number;
  /** Median CPU time of one replay of the whole receiver's life, per frame received, less `stagingNsPerFrame`. */
  readonly nsPerFrame: number;
  /** Copying a frame from the tape into the receive buffer: the device's work, not the host's. */
  readonly stagingNsPerFrame: number;
  /** Payload megabytes per second at that median. */
  readonly MBps: number;
}

/** The receiver's side of a transfer: every call it got, recorded once. */
export function recordReceiverTape(options: TransferBenchOptions): ReceiverTape {
  let recorder: TapeRecordingHost | undefined;
  benchTransfer({
    ...options,
    wrapReceiver: (host) => (recorder = new TapeRecordingHost(host)),
  });
  return recorder!.tape();
}

/**
 * CPU time of this process (every thread: the collector's helpers too), in ms. On a
 * shared machine it varies less than wall time, which counts other processes' turns.
 */
const cpuMs = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/**
 * The receive path alone: an io-mock transfer is run once with the
 * receiving host's calls recorded (frames with their arrival times, time
 * advances, polls at the same burst boundaries, the application's consume and
 * release), then the same calls are made on fresh, identically configured
 * hosts again and again. The host is deterministic, so each replay does
 * exactly the live receiver's work; the first is checked answer by answer.
 */
export function benchReceivePath(options: TransferBenchOptions & { readonly durationMs?: number }): ReceivePathResult {
  const tape = recordReceiverTape(options);
  const config = transferHostConfig(options, 'receiver');
  replayTape(tape, createHost(config), true);
  const framesReceived = tape.frames.length;
  const times: number[] = [];
  const stagingTimes: number[] = [];
  const durationMs = options.durationMs ?? 2000;
  const start = performance.now();
  while (performance.now() - start < durationMs || times.length < 5) {
    const host = createHost(config);
    const before = cpuMs();
    replayTape(tape, host);
    const between = cpuMs();
    stageFrames(tape);
    stagingTimes.push(cpuMs() - between);
    times.push(between - before);
  }
  // The first replays run while the code is still being optimized.
  const settled = (values: number[]) => (values.length > 10 ? values.slice(2) : values);
  const stagingMs = median(settled(stagingTimes));
  const ms = median(settled(times)) - stagingMs;
  return {
    framesReceived,
    framesSent: tape.framesOut.length,
    bytes: tape.bytesDelivered,
    replays: times.length,
    nsPerFrame: (ms * 1e6) / framesReceived,
    stagingNsPerFrame: (stagingMs * 1e6) / framesReceived,
    MBps: tape.bytesDelivered / 1e6 / (ms / 1000),
  };
}
