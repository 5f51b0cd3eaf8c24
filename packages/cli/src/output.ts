import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { CliFailure, ExitCode } from './errors.js';

/**
 * Bytes the output may have in flight before the transfer waits for it.
 * Waiting costs a round trip through libuv's thread pool, and meanwhile the
 * TCP window closes: with 1 MiB the 100 MB download waited 92 times, 200 ms
 * of a 365 ms transfer even to /dev/null. 16 MiB absorbs a file system's
 * hiccups (writes of 100 MB here take 30 to 280 ms); a destination slower
 * than the network still closes the window, once that much is waiting.
 */
export const WRITE_BUFFER = 16 * 1024 * 1024;

/**
 * Where the body goes: a file (created when the response arrives) or stdout.
 * Writes wait for 'drain' when the destination is slower than the network, so
 * memory stays bounded; the first error is kept and reported as exit code 23.
 */
export class OutputSink {
  private stream: Writable | undefined;
  private failure: CliFailure | undefined;
  private readonly ownsStream: boolean;
  private bytes = 0;

  constructor(
    private readonly path: string | undefined,
    private readonly stdout: Writable,
    private readonly writeBuffer = WRITE_BUFFER,
  ) {
    this.ownsStream = path !== undefined && path !== '-';
  }

  get bytesWritten(): number {
    return this.bytes;
  }

  private readonly onError = (error: Error): void => {
    this.failure ??= new CliFailure(
      ExitCode.writeError,
      `Failed writing ${this.ownsStream ? this.path ?? 'output' : 'to stdout'}: ${error.message}`,
    );
  };

  /** Creates the file (or takes stdout) without writing: an empty body still leaves an empty file. */
  open(): void {
    if (this.stream !== undefined) return;
    this.stream = this.ownsStream ? createWriteStream(this.path!, { flags: 'w', highWaterMark: this.writeBuffer }) : this.stdout;
    this.stream.on('error', this.onError);
  }

  /** Resolves once the destination can take more; `written` is called once `bytes` are out of our hands. */
  async write(bytes: Uint8Array, written?: () => void): Promise<void> {
    this.open();
    if (this.failure !== undefined) throw this.failure;
    const stream = this.stream!;
    this.bytes += bytes.length;
    // A stream's own high-water mark may be far lower (16 KiB for a pipe on stdout): it is not ours to wait for.
    if (stream.write(bytes, written === undefined ? undefined : () => written()) || stream.writableLength < this.writeBuffer) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        stream.off('drain', done);
        stream.off('error', done);
        stream.off('close', done);
        resolve();
      };
      stream.on('drain', done);
      stream.on('error', done);
      stream.on('close', done);
    });
    if (this.failure !== undefined) throw this.failure;
  }

  /** Flushes everything written; a file is closed, stdout is left open for the caller. */
  async close(): Promise<CliFailure | undefined> {
    const stream = this.stream;
    if (stream === undefined || this.failure !== undefined) return this.detach();
    await new Promise<void>((resolve) => {
      const done = (): void => resolve();
      stream.once('error', done);
      if (this.ownsStream) {
        stream.once('close', done);
        stream.end();
      } else if (stream.writableEnded || stream.destroyed) {
        resolve();
      } else {
        // The callback runs once everything before it has been handed to the destination.
        stream.write(new Uint8Array(0), () => resolve());
      }
    });
    return this.detach();
  }

  private detach(): CliFailure | undefined {
    // stdout is shared: leave no listener of ours on it.
    if (this.stream !== undefined && !this.ownsStream) this.stream.off('error', this.onError);
    return this.failure;
  }
}
