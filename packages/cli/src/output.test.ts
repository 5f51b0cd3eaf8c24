import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { OutputSink } from './output.js';

/** A destination taking one chunk a millisecond, with a pipe's 16 KiB high-water mark. */
function slowDestination(): { stream: Writable; written: () => number; largestBacklog: () => number } {
  let written = 0;
  let largestBacklog = 0;
  const stream = new Writable({
    highWaterMark: 16 * 1024,
    write(chunk: Buffer, _encoding, callback) {
      largestBacklog = Math.max(largestBacklog, this.writableLength);
      setTimeout(() => {
        written += chunk.length;
        callback();
      }, 1);
    },
  });
  return { stream, written: () => written, largestBacklog: () => largestBacklog };
}

/** Whether `promise` is still pending once the microtasks queued now have run. */
async function pending(promise: Promise<void>): Promise<boolean> {
  let settled = false;
  void promise.then(() => (settled = true));
  await new Promise((resolve) => setImmediate(resolve));
  return !settled;
}

describe('OutputSink', () => {
  const chunk = new Uint8Array(64 * 1024).fill(7);

  it("does not wait on the destination's own high-water mark while less than its buffer is in flight", async () => {
    const destination = slowDestination();
    const sink = new OutputSink(undefined, destination.stream, 1024 * 1024);
    // Fifteen chunks are 960 KiB: each write returns at once, though the stream said "full" after the first.
    for (let i = 0; i < 15; i++) expect(await pending(sink.write(chunk))).toBe(false);
    expect(destination.stream.writableNeedDrain).toBe(true);
    expect(await sink.close()).toBeUndefined();
    expect(destination.written()).toBe(15 * chunk.length);
  });

  it('waits for the destination once its buffer is full, so memory stays bounded', async () => {
    const destination = slowDestination();
    const buffer = 256 * 1024;
    const sink = new OutputSink(undefined, destination.stream, buffer);
    let waits = 0;
    for (let i = 0; i < 64; i++) {
      const write = sink.write(chunk);
      if (await pending(write)) waits++;
      await write;
    }
    expect(waits).toBeGreaterThan(0);
    expect(destination.largestBacklog()).toBeLessThanOrEqual(buffer + chunk.length);
    expect(await sink.close()).toBeUndefined();
    expect(destination.written()).toBe(64 * chunk.length);
  });
});
