/**
 * In-order bytes of one connection on their way to the application, coalesced.
 *
 * Every segment's text is copied once, into the current chunk, and the
 * application is handed views of those chunks. This serves two ends:
 * - the host keeps nothing of a received frame, so the device may reuse its
 *   buffer for the next frame (no copy of every frame, no allocation per frame);
 * - a burst of segments reaches the application as one chunk instead of one
 *   small chunk per segment, which is what stream consumers are slowest at.
 *
 * Views handed out never overlap later ones: a chunk is only ever appended to,
 * and a full chunk is replaced by one from the `ChunkPool`.
 *
 * A connection's first bytes go into 64 KiB chunks, so that one that receives
 * little holds little. Once it has received a large chunk's worth it is a bulk
 * transfer, and it gets 1 MiB chunks: every chunk costs its consumer a turn of
 * its reading loop (a Node stream's push, the CLI's parse and write), and a
 * fresh 100 MB download then hands out about 450 views instead of 1,900. Over
 * the packet ring, twelve such downloads in rotating order took the whole
 * machine 720 ms of CPU against 840 (medians; 313 against 285 MB/s).
 */
export const SMALL_CHUNK = 64 * 1024;
export const LARGE_CHUNK = 1024 * 1024;
/**
 * Released chunks kept for reuse, of each size: 4 MiB of small ones, and 24 MiB
 * of large ones, about what an 8 MiB receive window can leave in an
 * application's hands at once (a stream's buffer, a reading loop's queue, and
 * the CLI's 16 MiB of writes in flight), so that a steady transfer needs no
 * fresh memory.
 */
const MAX_POOLED = new Map([
  [SMALL_CHUNK, 64],
  [LARGE_CHUNK, 24],
]);

export interface ChunkState {
  /** Bytes of the chunk handed to the application, and bytes it released. */
  handedOut: number;
  released: number;
  /** The delivery buffer has moved on to another chunk: nothing more is written here. */
  retired: boolean;
}

/**
 * Memory for delivered bytes, reused once the application is done with it, as
 * lwIP's pbufs are. Fresh memory costs a page fault per 4 KiB on first touch,
 * and freed memory waits for the garbage collector: at network speed that is
 * a large share of the receive path. A chunk comes back once it is full and
 * every byte handed out of it was released (`NetworkHost.release`). An
 * application that never releases simply gets fresh chunks; states of chunks
 * it dropped go with them (a WeakMap).
 */
export class ChunkPool {
  private readonly free = new Map<number, Uint8Array[]>([
    [SMALL_CHUNK, []],
    [LARGE_CHUNK, []],
  ]);
  private readonly states = new WeakMap<ArrayBufferLike, ChunkState>();

  /** A chunk of `size` bytes, SMALL_CHUNK or LARGE_CHUNK. */
  take(size: number): Uint8Array {
    const chunk = this.free.get(size)?.pop() ?? new Uint8Array(size);
    this.states.set(chunk.buffer, { handedOut: 0, released: 0, retired: false });
    return chunk;
  }

  /** The bookkeeping of a chunk from `take`, for its user to keep: no lookup per view handed out. */
  stateOf(chunk: Uint8Array): ChunkState | undefined {
    return this.states.get(chunk.buffer);
  }

  handedOut(state: ChunkState | undefined, bytes: number): void {
    if (state !== undefined) state.handedOut += bytes;
  }

  retire(chunk: Uint8Array, state: ChunkState | undefined): void {
    if (state === undefined) return;
    state.retired = true;
    this.recycleIfDone(chunk.buffer, state);
  }

  /** The application is done with `view`; views of memory not from this pool are ignored. */
  release(view: Uint8Array): void {
    const state = this.states.get(view.buffer);
    if (state === undefined) return;
    state.released += view.length;
    this.recycleIfDone(view.buffer, state);
  }

  /** Takes the buffer, not a view: a view of the whole chunk is made only when it is reused. */
  private recycleIfDone(buffer: ArrayBufferLike, state: ChunkState): void {
    if (!state.retired || state.released < state.handedOut) return;
    this.states.delete(buffer);
    const size = buffer.byteLength;
    const free = this.free.get(size);
    if (free !== undefined && free.length < MAX_POOLED.get(size)!) free.push(new Uint8Array(buffer, 0, size));
  }
}

export class DeliveryBuffer {
  private chunk: Uint8Array | undefined;
  private chunkState: ChunkState | undefined;
  /** Bytes appended so far: past LARGE_CHUNK, the connection gets large chunks. */
  private appended = 0;
  /** First byte of `chunk` not yet handed out. */
  private start = 0;
  /** First free byte of `chunk`. */
  private end = 0;
  /** Views of earlier chunks, filled before they were handed out. */
  private readonly full: Uint8Array[] = [];

  constructor(private readonly pool: ChunkPool = new ChunkPool()) {}

  get isEmpty(): boolean {
    return this.full.length === 0 && this.end === this.start;
  }

  /** Copies `bytes` in; the caller may reuse its buffer afterwards. */
  append(bytes: Uint8Array): void {
    let offset = 0;
    while (offset < bytes.length) {
      let chunk = this.chunk;
      if (chunk === undefined || this.end === chunk.length) {
        if (chunk !== undefined) {
          if (this.end > this.start) this.full.push(chunk.subarray(this.start, this.end));
          // Views of it may still be waiting in `full`: they count as handed out already.
          this.pool.handedOut(this.chunkState, this.end - this.start);
          this.pool.retire(chunk, this.chunkState);
        }
        chunk = this.chunk = this.pool.take(this.appended >= LARGE_CHUNK ? LARGE_CHUNK : SMALL_CHUNK);
        this.chunkState = this.pool.stateOf(chunk);
        this.start = this.end = 0;
      }
      const count = Math.min(bytes.length - offset, chunk.length - this.end);
      chunk.set(count === bytes.length ? bytes : bytes.subarray(offset, offset + count), this.end);
      this.end += count;
      this.appended += count;
      offset += count;
    }
  }

  /** The connection is gone and everything was taken: the current chunk may be reused once released. */
  close(): void {
    if (this.chunk === undefined) return;
    this.pool.handedOut(this.chunkState, this.end - this.start);
    this.pool.retire(this.chunk, this.chunkState);
    this.chunk = undefined;
    this.chunkState = undefined;
  }

  /** The oldest bytes not yet handed out, as one view, or undefined when there are none. */
  take(): Uint8Array | undefined {
    const earlier = this.full.shift();
    if (earlier !== undefined) return earlier;
    if (this.chunk === undefined || this.end === this.start) return undefined;
    const view = this.chunk.subarray(this.start, this.end);
    this.pool.handedOut(this.chunkState, view.length);
    this.start = this.end;
    return view;
  }
}
