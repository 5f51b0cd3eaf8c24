/**
 * Watching a fetch: `--inspect` (live, to the XState inspector), `--trace`
 * (an HTML page to step through afterwards) and `--record` (every call into
 * the host, for `tcpts replay`). The stack takes what this gives it when it is
 * opened; `finish` runs once the stack is closed, whether the fetch worked or
 * not, so a failed run leaves its trace and recording behind.
 */
import { open, writeFile } from 'node:fs/promises';
import {
  buildTimeline,
  RecordingHost,
  renderTracePage,
  serializeRecording,
  type HostConfig,
  type NetworkHost,
  type Recording,
} from '@tcpts/core';
import { CliFailure, ExitCode } from './errors.js';
import type { LiveInspector } from './inspector.js';
import { ObservingHost, tracedSocket } from './observing-host.js';
import type { StackOpenOptions } from './stack.js';

export interface WatchOptions {
  /** `--inspect`: a ws:// or wss:// URL. */
  readonly inspectUrl?: string;
  /** `--trace`: where the HTML page goes. */
  readonly tracePath?: string;
  /** `--record`: where the recording goes. */
  readonly recordPath?: string;
  /** The trace page's title. */
  readonly title: string;
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** Steps per piece when writing a recording: a long run never becomes one giant string. */
const STEPS_PER_PIECE = 2_000;

/**
 * Writes `serializeRecording(recording)` to `path` in pieces: the header
 * line, then the step lines of each slice of steps.
 */
export const writeRecording = async (path: string, recording: Recording): Promise<void> => {
  const file = await open(path, 'w');
  try {
    const header = serializeRecording({ ...recording, steps: [] });
    await file.write(header);
    for (let start = 0; start < recording.steps.length; start += STEPS_PER_PIECE) {
      const piece = serializeRecording({ ...recording, steps: recording.steps.slice(start, start + STEPS_PER_PIECE) });
      await file.write(piece.slice(header.length));
    }
  } finally {
    await file.close();
  }
};

/** The trace page of the connection a run's events show (the last one that changed state). */
export const tracePageOf = (host: ObservingHost | undefined, title: string): string => {
  const events = host?.events ?? [];
  const socket = tracedSocket(events);
  return renderTracePage(buildTimeline(events, socket === undefined ? {} : { socket }), { title });
};

export const writeTracePage = async (path: string, host: ObservingHost | undefined, title: string): Promise<CliFailure | undefined> => {
  try {
    await writeFile(path, tracePageOf(host, title));
    return undefined;
  } catch (error) {
    return new CliFailure(ExitCode.writeError, `Failed writing the trace to ${path}: ${messageOf(error)}`);
  }
};

export class FetchWatch {
  private inspector: LiveInspector | undefined;
  private observing: ObservingHost | undefined;
  private recording: RecordingHost | undefined;

  constructor(
    private readonly options: WatchOptions,
    /** Prints one line on stderr. */
    private readonly line: (text: string) => void,
  ) {}

  /**
   * Connects the inspector, in the background, so it is ready when the first
   * connection starts. Its WebSocket client is loaded only then: a run without
   * `--inspect` does not pay for it at start-up.
   */
  async start(): Promise<void> {
    const { inspectUrl } = this.options;
    if (inspectUrl === undefined || this.inspector !== undefined) return;
    const { openInspector } = await import('./inspector.js');
    this.inspector ??= openInspector(inspectUrl, (text) => this.line(`tcpts: warning: ${text}; going on without it`));
  }

  /** What the stack is opened with: segment events for the page and the recording, the inspector, the host wrapped. */
  stackOptions(): Pick<StackOpenOptions, 'traceSegments' | 'inspect' | 'wrapHost'> {
    const { tracePath, recordPath } = this.options;
    // A recording keeps segment events too, so that `replay --trace` can draw its page.
    const wrap = tracePath !== undefined || recordPath !== undefined;
    return {
      ...(wrap ? { traceSegments: true, wrapHost: (host: NetworkHost, config: HostConfig) => this.wrapHost(host, config) } : {}),
      ...(this.inspector === undefined ? {} : { inspect: this.inspector.inspect }),
    };
  }

  private wrapHost(host: NetworkHost, config: HostConfig): NetworkHost {
    let wrapped = host;
    if (this.options.tracePath !== undefined) wrapped = this.observing = new ObservingHost(wrapped);
    // Outermost, so the recording holds exactly the calls the stack made.
    if (this.options.recordPath !== undefined) wrapped = this.recording = new RecordingHost(wrapped, config);
    return wrapped;
  }

  /** Stops the inspector and writes the page and the recording. Returns what could not be written. */
  async finish(): Promise<CliFailure[]> {
    const failures: CliFailure[] = [];
    const stopping = this.inspector?.stop();
    const { tracePath, recordPath, title } = this.options;
    if (tracePath !== undefined) {
      if (this.observing?.truncated === true) {
        this.line(`tcpts: warning: the trace shows only the first ${this.observing.events.length} events`);
      }
      const failure = await writeTracePage(tracePath, this.observing, title);
      if (failure !== undefined) failures.push(failure);
    }
    if (recordPath !== undefined) {
      if (this.recording === undefined) {
        failures.push(new CliFailure(ExitCode.writeError, `Nothing recorded to ${recordPath}: the stack was never opened`));
      } else {
        try {
          await writeRecording(recordPath, this.recording.recording());
        } catch (error) {
          failures.push(new CliFailure(ExitCode.writeError, `Failed writing the recording to ${recordPath}: ${messageOf(error)}`));
        }
      }
    }
    await stopping;
    return failures;
  }
}
