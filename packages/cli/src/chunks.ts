import { finished, type Readable } from 'node:stream';

/**
 * Bytes waiting for the loop before the stream is paused: the host's receive
 * window. Counted in bytes, not chunks: the host's chunks are 64 KiB or 1 MiB.
 */
const DEFAULT_MAX_QUEUED_BYTES = 8 * 1024 * 1024;

/**
 * The chunks of a byte stream as they were pushed, for `for await`.
 *
 * Iterating a Readable directly calls `read()`, which joins every chunk
 * buffered since the last read into one new buffer. At network speed, while
 * the loop waits for the disk, that is megabytes each time: a copy of the
 * body into fresh memory, which costs more than the whole TCP receive path.
 * Here the stream flows and its chunks queue up for the loop as they are; with
 * `maxQueuedBytes` waiting the stream is paused, its own buffer fills, and the TCP
 * window closes.
 *
 * Ends like the built-in iteration: on 'end', with the stream's error, with
 * `ERR_STREAM_PREMATURE_CLOSE` when it closes before its end, and leaving the
 * loop early destroys the stream. Chunks that arrived before an error are
 * still yielded first.
 */
export async function* chunksOf(stream: Readable, maxQueuedBytes = DEFAULT_MAX_QUEUED_BYTES): AsyncGenerator<Uint8Array, void, undefined> {
  const queue: Uint8Array[] = [];
  let queuedBytes = 0;
  let ended = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    const resolve = wake;
    wake = undefined;
    resolve?.();
  };
  const onData = (chunk: Uint8Array): void => {
    queue.push(chunk);
    queuedBytes += chunk.length;
    if (queuedBytes >= maxQueuedBytes) stream.pause();
    notify();
  };
  const stopWatching = finished(stream, { writable: false }, (error) => {
    ended = true;
    failure = error ?? undefined;
    notify();
  });
  stream.on('data', onData);
  try {
    for (;;) {
      const chunk = queue.shift();
      if (chunk !== undefined) {
        queuedBytes -= chunk.length;
        if (queue.length === 0 && stream.isPaused()) stream.resume();
        yield chunk;
      } else if (ended) {
        if (failure !== undefined) throw failure;
        return;
      } else {
        await new Promise<void>((resolve) => (wake = resolve));
      }
    }
  } finally {
    stream.off('data', onData);
    stopWatching();
    if (!ended) stream.destroy();
  }
}

/** A stream whose delivered chunks can be given back to the stack that delivered them (io-pcap's TcpSocket). */
export interface ChunkReleasing {
  release(chunk: Uint8Array): void;
}

export const canReleaseChunks = (stream: object): stream is ChunkReleasing =>
  typeof (stream as Partial<ChunkReleasing>).release === 'function';

/**
 * One delivered chunk on loan from the stack: given back once the loop is
 * done with it and every write of a part of it has completed, so that its
 * memory serves the next data instead of fresh memory.
 */
export class ChunkLoan {
  private holds = 1;

  constructor(
    private readonly chunk: Uint8Array,
    private readonly giveBack: ((chunk: Uint8Array) => void) | undefined,
  ) {}

  /** A user of part of the chunk (a pending write); call the result when it is done, once. */
  hold(): () => void {
    this.holds++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.drop();
    };
  }

  /** The loop is done with the chunk. */
  end(): void {
    this.drop();
  }

  private drop(): void {
    if (--this.holds === 0) this.giveBack?.(this.chunk);
  }
}
