import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ChunkLoan, canReleaseChunks, chunksOf } from './chunks.js';

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);

async function collect(stream: Readable): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of chunksOf(stream)) chunks.push(chunk);
  return chunks;
}

describe('chunksOf', () => {
  it('yields every chunk as it was pushed, without joining them, and ends with the stream', async () => {
    const stream = new Readable({ read() {} });
    for (const chunk of [bytes(1, 2), bytes(3), bytes(4, 5, 6)]) stream.push(chunk);
    stream.push(null);
    const chunks = await collect(stream);
    expect(chunks.map((c) => [...c])).toEqual([[1, 2], [3], [4, 5, 6]]);
  });

  it('pauses the stream while the loop is behind, so that its own buffer fills, and resumes it', async () => {
    const stream = new PassThrough({ readableHighWaterMark: 4 });
    const iterator = chunksOf(stream, 4)[Symbol.asyncIterator](); // two of these chunks
    for (let i = 0; i < 10; i++) stream.write(bytes(i, i));
    const first = await iterator.next();
    await new Promise((resolve) => setImmediate(resolve));
    expect(stream.isPaused()).toBe(true);
    expect(stream.readableLength).toBeGreaterThan(0);
    const seen: number[] = first.done ? [] : [...first.value];
    stream.end();
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) seen.push(...next.value);
    expect(seen).toEqual(Array.from({ length: 10 }, (_, i) => [i, i]).flat());
  });

  it('counts what waits in bytes: one large chunk pauses the stream as many small ones do', async () => {
    const stream = new PassThrough();
    const iterator = chunksOf(stream, 1000)[Symbol.asyncIterator]();
    stream.write(new Uint8Array(400).fill(1));
    stream.write(new Uint8Array(1200).fill(2));
    stream.write(new Uint8Array(10).fill(3));
    const first = await iterator.next();
    await new Promise((resolve) => setImmediate(resolve));
    // 400 + 1200 bytes reached the bound after two chunks, far fewer than 1000 of them.
    expect(stream.isPaused()).toBe(true);
    const lengths = first.done ? [] : [first.value.length];
    stream.end();
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) lengths.push(next.value.length);
    expect(lengths).toEqual([400, 1200, 10]);
  });

  it('yields what arrived before an error, then throws the error', async () => {
    const stream = new Readable({ read() {} });
    stream.push(bytes(7));
    const chunks: number[] = [];
    const loop = (async () => {
      for await (const chunk of chunksOf(stream)) {
        chunks.push(...chunk);
        stream.destroy(new Error('reset by peer'));
      }
    })();
    await expect(loop).rejects.toThrow('reset by peer');
    expect(chunks).toEqual([7]);
  });

  it('throws a premature-close error when the stream is destroyed before its end', async () => {
    const stream = new Readable({ read() {} });
    setImmediate(() => stream.destroy());
    await expect(collect(stream)).rejects.toMatchObject({ code: 'ERR_STREAM_PREMATURE_CLOSE' });
  });

  it('destroys the stream when the loop is left early', async () => {
    const stream = new Readable({ read() {} });
    stream.push(bytes(1));
    stream.push(bytes(2));
    for await (const chunk of chunksOf(stream)) {
      expect([...chunk]).toEqual([1]);
      break;
    }
    expect(stream.destroyed).toBe(true);
  });
});

describe('ChunkLoan', () => {
  it('gives the chunk back once the loop is done and every write of a part of it has completed, once', () => {
    const given: Uint8Array[] = [];
    const chunk = bytes(1, 2, 3, 4);
    const loan = new ChunkLoan(chunk, (c) => given.push(c));
    const firstWrite = loan.hold();
    const secondWrite = loan.hold();
    loan.end();
    firstWrite();
    firstWrite(); // a callback called twice counts once
    expect(given).toEqual([]);
    secondWrite();
    expect(given).toEqual([chunk]);
  });

  it('does nothing for a stream that cannot take chunks back', () => {
    expect(canReleaseChunks(new PassThrough())).toBe(false);
    expect(canReleaseChunks({ release: () => undefined })).toBe(true);
    const loan = new ChunkLoan(bytes(1), undefined);
    loan.hold()();
    loan.end();
  });
});
