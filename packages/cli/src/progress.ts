import cliProgress from 'cli-progress';
import type { Writable } from 'node:stream';

/** 1234567 → "1.23 MB" (decimal units, as network rates are quoted). */
export const formatBytes = (bytes: number): string => {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(2)} ${units[unit]}`;
};

/** Megabytes (10^6 bytes) per second; 0 for an empty interval. */
export const megabytesPerSecond = (bytes: number, milliseconds: number): number =>
  milliseconds <= 0 ? 0 : bytes / 1e6 / (milliseconds / 1000);

/** The closing line of `-v` / `--stats`; the demo reads it back, so keep the shape stable. */
export const formatTransferSummary = (bytes: number, milliseconds: number): string =>
  `* Received ${bytes} bytes in ${(milliseconds / 1000).toFixed(3)} s (${megabytesPerSecond(bytes, milliseconds).toFixed(2)} MB/s)`;

const summaryPattern = /\* Received (\d+) bytes in ([\d.]+) s \(([\d.]+) MB\/s\)/;

export const parseTransferSummary = (text: string): { bytes: number; seconds: number; megabytesPerSecond: number } | undefined => {
  const match = summaryPattern.exec(text);
  if (match === null) return undefined;
  return { bytes: Number(match[1]), seconds: Number(match[2]), megabytesPerSecond: Number(match[3]) };
};

/** Does this stream lead to a terminal that understands cursor movement? */
export const isTerminal = (stream: Writable): boolean =>
  'isTTY' in stream && stream.isTTY === true && 'cursorTo' in stream;

/**
 * A progress bar on stderr for transfers that take a while. It appears only
 * after `delayMs` so quick fetches print nothing, and only on a terminal.
 */
export class TransferProgress {
  private bar: cliProgress.SingleBar | undefined;
  private readonly startedAt: number;

  constructor(
    private readonly stream: Writable,
    private readonly now: () => number,
    private readonly delayMs = 500,
  ) {
    this.startedAt = now();
  }

  update(received: number, total: number | undefined): void {
    const elapsed = this.now() - this.startedAt;
    if (this.bar === undefined) {
      if (elapsed < this.delayMs) return;
      this.bar = new cliProgress.SingleBar(
        {
          stream: this.stream as NodeJS.WritableStream,
          format: total === undefined ? '{received} | {rate}' : '[{bar}] {percentage}% | {received} of {size} | {rate}',
          hideCursor: true,
          clearOnComplete: true,
          fps: 10,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(total ?? 0, received, this.payload(received, total, elapsed));
      return;
    }
    this.bar.update(received, this.payload(received, total, elapsed));
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }

  private payload(received: number, total: number | undefined, elapsed: number): Record<string, string> {
    return {
      received: formatBytes(received),
      size: total === undefined ? '?' : formatBytes(total),
      rate: `${megabytesPerSecond(received, elapsed).toFixed(2)} MB/s`,
    };
  }
}
