import fc from 'fast-check';
import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  formatBytes,
  formatTransferSummary,
  isTerminal,
  megabytesPerSecond,
  parseTransferSummary,
  TransferProgress,
} from './progress.js';

/** Enough of a tty.WriteStream for the progress bar, recording what it draws. */
class FakeTerminal extends Writable {
  readonly isTTY = true;
  readonly columns = 100;
  text = '';

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString('utf8');
    callback();
  }

  cursorTo(): boolean {
    return true;
  }

  moveCursor(): boolean {
    return true;
  }

  clearLine(): boolean {
    return true;
  }

  clearScreenDown(): boolean {
    return true;
  }

  getWindowSize(): [number, number] {
    return [this.columns, 24];
  }
}

describe('formatting', () => {
  it('writes sizes in decimal units', () => {
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(1000)).toBe('1.00 kB');
    expect(formatBytes(10_485_760)).toBe('10.49 MB');
    expect(formatBytes(3e12)).toBe('3.00 TB');
  });

  it('computes MB/s and survives an empty interval', () => {
    expect(megabytesPerSecond(10_000_000, 2_000)).toBe(5);
    expect(megabytesPerSecond(5, 0)).toBe(0);
  });

  it('reads back the summary line it writes', () => {
    fc.assert(
      fc.property(fc.nat(2 ** 40), fc.integer({ min: 1, max: 10_000_000 }), (bytes, ms) => {
        const parsed = parseTransferSummary(`noise\n${formatTransferSummary(bytes, ms)}\nmore`);
        expect(parsed?.bytes).toBe(bytes);
        expect(parsed?.seconds).toBeCloseTo(ms / 1000, 3);
      }),
    );
    expect(parseTransferSummary('nothing here')).toBeUndefined();
  });
});

describe('TransferProgress', () => {
  it('only draws on a terminal', () => {
    expect(isTerminal(new PassThrough())).toBe(false);
    expect(isTerminal(new FakeTerminal())).toBe(true);
  });

  it('stays silent for quick transfers and draws once the transfer lasts', () => {
    const terminal = new FakeTerminal();
    let now = 0;
    const progress = new TransferProgress(terminal, () => now, 500);
    progress.update(1_000, 4_000_000);
    expect(terminal.text).toBe('');
    now = 1_000;
    progress.update(2_000_000, 4_000_000);
    progress.stop();
    expect(terminal.text).toContain('50%');
    expect(terminal.text).toContain('2.00 MB of 4.00 MB');
    expect(terminal.text).toContain('2.00 MB/s');
  });

  it('draws without a percentage when the size is unknown', () => {
    const terminal = new FakeTerminal();
    let now = 0;
    const progress = new TransferProgress(terminal, () => now, 0);
    now = 2_000;
    progress.update(3_000_000, undefined);
    progress.stop();
    expect(terminal.text).toContain('3.00 MB | 1.50 MB/s');
    expect(terminal.text).not.toContain('%');
  });
});
