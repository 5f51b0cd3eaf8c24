/** Runs the CLI in-process for tests, with stdout and stderr captured (and always drained). */
import { PassThrough } from 'node:stream';
import type { Lab } from '@tcpts/io-pcap';
import { fetchArgvForLab } from '../demo.js';
import type { CliIo } from '../fetch.js';
import { run, type RunDependencies } from '../main.js';

export interface CapturedIo {
  readonly io: CliIo;
  /** Everything written to stdout so far. */
  stdout(): Buffer;
  /** Everything written to stderr so far, as text. */
  stderr(): string;
}

export const captureIo = (signal?: AbortSignal): CapturedIo => {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk));
  stderr.on('data', (chunk: Buffer) => err.push(chunk));
  return {
    io: signal === undefined ? { stdout, stderr } : { stdout, stderr, signal },
    stdout: () => Buffer.concat(out),
    stderr: () => Buffer.concat(err).toString('utf8'),
  };
};

export interface Captured {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export const runCli = async (argv: readonly string[], deps?: RunDependencies): Promise<Captured> => {
  const captured = captureIo();
  const code = await run(argv, captured.io, deps);
  return { code, stdout: captured.stdout().toString('utf8'), stderr: captured.stderr() };
};

/** `tcpts fetch URL` over a namespace lab's stack interface and address, into `out`. */
export const fetchOverLab = (
  lab: Lab,
  url: string,
  out: string,
  maxTimeMs: number,
  extra: readonly string[] = [],
): Promise<Captured> => runCli(fetchArgvForLab(lab, url, out, ['--max-time', String(maxTimeMs), ...extra]));
