/**
 * `tcpts replay FILE`: makes a fresh host from a recording's configuration,
 * makes every recorded call again and compares each result with the recorded
 * one. The host is deterministic, so a recording of a correct run replays
 * identically; anything else is a change in the stack (or in the file).
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { createHost, parseRecording, replayRecording, type Recording, type ReplayDifference } from '@tcpts/core';
import { CliFailure, ExitCode } from './errors.js';
import type { CliIo } from './fetch.js';
import { ObservingHost } from './observing-host.js';
import { writeTracePage } from './watch.js';

export interface ReplayOptions {
  readonly file: string;
  /** --trace: write the page of the replayed host's events here. */
  readonly tracePath?: string;
}

export interface RecordingCounts {
  readonly steps: number;
  /** Frames received and frames sent. */
  readonly frames: number;
  /** Events the host gave out. */
  readonly events: number;
}

export const countRecording = (recording: Recording): RecordingCounts => {
  let frames = 0;
  let events = 0;
  for (const step of recording.steps) {
    const returnedSomething = 'returned' in step.outcome && step.outcome.returned !== null;
    if (step.call === 'receiveFrame' || (step.call === 'pollFrame' && returnedSomething)) frames++;
    if (step.call === 'pollEvent' && returnedSomething) events++;
  }
  return { steps: recording.steps.length, frames, events };
};

/** Recorded values can be whole frames in hex: show the start, and say how much is left out. */
const SHOWN_CHARS = 160;
const shorten = (text: string): string =>
  text.length <= SHOWN_CHARS ? text : `${text.slice(0, SHOWN_CHARS)}… (${text.length - SHOWN_CHARS} more characters)`;

/**
 * The first difference as lines for stdout. Steps count from 1; in a
 * JSON-lines file (`jsonLines`) step n is line n + 1, after the header.
 */
export const describeDifference = (difference: ReplayDifference, jsonLines = true): string[] => {
  if (difference.step < 0) {
    return [`different: the recorded configuration no longer makes a host: ${shorten(difference.actual)}`];
  }
  const step = difference.step + 1;
  const what = difference.detail ?? 'a different result';
  return [
    `different at step ${step} (${jsonLines ? `line ${step + 1}, ` : ''}${difference.call}): ${what}`,
    `  recorded: ${shorten(difference.expected)}`,
    `  replayed: ${shorten(difference.actual)}`,
  ];
};

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** `parseRecording` takes one JSON document as well as JSON lines; only the lines have line numbers worth naming. */
const isJsonLines = (text: string): boolean => {
  try {
    const whole: unknown = JSON.parse(text);
    return !(typeof whole === 'object' && whole !== null && Array.isArray((whole as { steps?: unknown }).steps));
  } catch {
    return true;
  }
};

const readRecording = async (file: string): Promise<{ recording: Recording; jsonLines: boolean }> => {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new CliFailure(ExitCode.usage, `Cannot read ${file}: ${messageOf(error)}`);
  }
  const parsed = parseRecording(text);
  if (parsed._tag === 'Left') throw new CliFailure(ExitCode.usage, `${file} is not a recording: ${parsed.left}`);
  return { recording: parsed.right, jsonLines: isJsonLines(text) };
};

export const replayCommand = async (options: ReplayOptions, io: CliIo): Promise<number> => {
  const print = (stream: NodeJS.WritableStream, text: string): void => {
    stream.write(`${text}\n`);
  };
  let recording: Recording;
  let jsonLines: boolean;
  try {
    ({ recording, jsonLines } = await readRecording(options.file));
  } catch (error) {
    const failure = error instanceof CliFailure ? error : new CliFailure(ExitCode.usage, messageOf(error));
    print(io.stderr, `tcpts: ${failure.message}`);
    return failure.exitCode;
  }

  let observed: ObservingHost | undefined;
  const result = replayRecording(recording, (config) => (observed = new ObservingHost(createHost(config))));
  let exitCode: number = ExitCode.ok;
  if (result.identical) {
    const counts = countRecording(recording);
    print(io.stdout, `identical: ${counts.steps} steps, ${counts.frames} frames, ${counts.events} events`);
  } else {
    for (const text of describeDifference(result.firstDifference!, jsonLines)) print(io.stdout, text);
    exitCode = ExitCode.replayDiffers;
  }

  if (options.tracePath !== undefined) {
    const failure = await writeTracePage(options.tracePath, observed, `tcpts replay ${basename(options.file)}`);
    if (failure !== undefined) {
      print(io.stderr, `tcpts: ${failure.message}`);
      if (exitCode === ExitCode.ok) exitCode = failure.exitCode;
    }
  }
  // The process exits right after: wait until what was printed is handed over.
  await new Promise<void>((resolve) => io.stdout.write('', () => resolve()));
  return exitCode;
};
