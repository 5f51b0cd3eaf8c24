import type { ConnectionError, HostEvent, NetworkHost, SendOptions, SocketId } from '@tcpts/core';

/** What a socket needs from the simulation: the time, and a way to act later. */
export interface SimContext {
  readonly now: number;
  /** Runs `task` at virtual time `at` (not earlier than now); hosts are drained afterwards. */
  schedule(at: number, task: () => void): void;
}

/** Appends bytes into one buffer that doubles as needed: one copy per byte, amortised. */
class ByteAccumulator {
  private buffer = new Uint8Array(0);
  private used = 0;

  get length(): number {
    return this.used;
  }

  append(data: Uint8Array): void {
    const needed = this.used + data.length;
    if (needed > this.buffer.length) {
      const grown = new Uint8Array(Math.max(needed, this.buffer.length * 2, 1024));
      grown.set(this.buffer.subarray(0, this.used));
      this.buffer = grown;
    }
    this.buffer.set(data, this.used);
    this.used = needed;
  }

  /** A view of everything so far; later appends never change it. */
  view(): Uint8Array {
    return this.buffer.subarray(0, this.used);
  }
}

/** Smallest step of a rate-limited reader, in virtual ms. */
const READ_TICK = 1;
const URGENT: SendOptions = { urgent: true };

/**
 * The application's end of one connection, for tests. Writes go through an
 * app-side queue into the host as far as its send buffer accepts, and resume on
 * `writable`, so back-pressure behaves as with a real socket. The reader consumes
 * delivered bytes at once, or at `readRate`, or not at all while paused, which is
 * how a receive window is made to shrink and close.
 */
export class MockSocket {
  /** Lifecycle events in order: `connected`, `accepted`, `peer-closed`, `closed`, `error:<reason>`. */
  readonly events: string[] = [];
  /** State changes reported by the host, as `FROM>TO` (only when it emits `state` events). */
  readonly states: string[] = [];
  error: ConnectionError | undefined;
  connected = false;
  peerClosed = false;
  closed = false;
  /** Set once the application called `abort()`. */
  aborted = false;
  /** Where the peer's urgent data ends, as stream offsets, one per `urgent` event (RFC 9293 §3.8.5). */
  readonly urgentEnds: number[] = [];

  /** Called for each in-order chunk, after it has been appended to `received()`. */
  onData: ((data: Uint8Array, socket: MockSocket) => void) | undefined;
  /** Called for every host event of this socket, after the socket has updated itself. */
  onEvent: ((event: HostEvent, socket: MockSocket) => void) | undefined;

  private readonly receivedBytes = new ByteAccumulator();
  private readonly pending: Uint8Array[] = [];
  /** Chunks of `pending` written with `writeUrgent`. */
  private readonly urgentChunks = new Set<Uint8Array>();
  private pendingHead = 0;
  private pendingOffset = 0;
  private pendingByteCount = 0;
  private acceptedByHost = 0;
  private endRequested = false;
  private closeIssued = false;

  private unconsumed = 0;
  private consumedByteCount = 0;
  private paused = false;
  private rate: number | undefined;
  private readCredit = 0;
  private lastReadTick = 0;
  private readTickScheduled = false;

  constructor(
    readonly id: SocketId,
    readonly host: NetworkHost,
    private readonly context: SimContext,
    options: { readonly accepted?: boolean } = {},
  ) {
    if (options.accepted === true) {
      this.connected = true;
      this.events.push('accepted');
    }
  }

  /** The host's state name for this socket (RFC 9293), or undefined once it is gone. */
  state(): string | undefined {
    return this.host.socketState(this.id);
  }

  /** Everything delivered in order so far, as one array (a snapshot; it does not grow). */
  received(): Uint8Array {
    return this.receivedBytes.view();
  }

  receivedText(): string {
    return new TextDecoder().decode(this.receivedBytes.view());
  }

  get bytesReceived(): number {
    return this.receivedBytes.length;
  }

  /** Bytes the reader has processed and handed back to the host with `consume`. */
  get bytesConsumed(): number {
    return this.consumedByteCount;
  }

  /** Bytes the host accepted from `write`. */
  get bytesAccepted(): number {
    return this.acceptedByHost;
  }

  /** Bytes written but still waiting in the app-side queue for room in the host. */
  get bytesPending(): number {
    return this.pendingByteCount;
  }

  /** Bytes per virtual ms the reader processes; undefined means at once. */
  get readRate(): number | undefined {
    return this.rate;
  }

  set readRate(rate: number | undefined) {
    if (rate !== undefined && !(rate >= 0 && Number.isFinite(rate))) {
      throw new RangeError(`readRate must be a finite number ≥ 0, got ${rate}`);
    }
    this.rate = rate;
    this.readCredit = 0;
    this.lastReadTick = this.context.now;
    this.pumpReader();
  }

  /** Queues bytes for sending; they enter the host as its send buffer allows. */
  write(data: Uint8Array): void {
    if (this.endRequested || this.aborted) throw new Error(`socket ${this.id}: write after end() or abort()`);
    if (data.length === 0) return;
    this.pending.push(data);
    this.pendingByteCount += data.length;
    this.flush();
  }

  /**
   * Queues urgent bytes (SEND with URGENT, RFC 9293 §3.10.2): in line after
   * what was written before, with the urgent pointer at their end. `data`
   * must not be a chunk already waiting in the queue.
   */
  writeUrgent(data: Uint8Array): void {
    if (data.length > 0) this.urgentChunks.add(data);
    this.write(data);
  }

  /** Graceful close once everything written has been accepted by the host (RFC 9293 §3.10.4). */
  end(): void {
    if (this.aborted) return;
    this.endRequested = true;
    this.flush();
  }

  /** Reset the connection at once and forget queued data (RFC 9293 §3.10.5). */
  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.pending.length = 0;
    this.pendingHead = 0;
    this.pendingOffset = 0;
    this.pendingByteCount = 0;
    this.urgentChunks.clear();
    if (this.host.socketState(this.id) !== undefined) this.host.abort(this.id, this.context.now);
    if (this.host.socketState(this.id) === undefined) this.closed = true;
  }

  /** Stop consuming: delivered bytes pile up and the advertised window closes. */
  pauseReading(): void {
    this.paused = true;
  }

  resumeReading(): void {
    this.paused = false;
    this.lastReadTick = this.context.now;
    this.pumpReader();
  }

  /** Applies one host event for this socket; the simulation calls this. */
  handleEvent(event: HostEvent): void {
    switch (event.type) {
      case 'connected':
        this.connected = true;
        this.events.push('connected');
        this.flush();
        break;
      case 'data':
        this.receivedBytes.append(event.data);
        this.unconsumed += event.data.length;
        this.onData?.(event.data, this);
        this.pumpReader();
        break;
      case 'urgent':
        this.urgentEnds.push(event.end);
        break;
      case 'writable':
        this.flush();
        break;
      case 'peer-closed':
        this.peerClosed = true;
        this.events.push('peer-closed');
        break;
      case 'closed':
        this.closed = true;
        this.events.push('closed');
        break;
      case 'error':
        this.error = event.error;
        this.events.push(`error:${event.error}`);
        break;
      case 'state':
        this.states.push(`${event.from}>${event.to}`);
        break;
      case 'accepted':
      case 'segment':
        break;
    }
    this.onEvent?.(event, this);
  }

  private flush(): void {
    if (!this.connected || this.aborted || this.closed) return;
    const now = this.context.now;
    while (this.pendingHead < this.pending.length) {
      const chunk = this.pending[this.pendingHead]!;
      // subarray shares memory: the host receives the application's bytes without a copy.
      const rest = this.pendingOffset === 0 ? chunk : chunk.subarray(this.pendingOffset);
      const urgent = this.urgentChunks.size > 0 && this.urgentChunks.has(chunk);
      const accepted = urgent ? this.host.send(this.id, rest, now, URGENT) : this.host.send(this.id, rest, now);
      this.acceptedByHost += accepted;
      this.pendingByteCount -= accepted;
      if (accepted < rest.length) {
        this.pendingOffset += accepted;
        return; // The host emits `writable` when it has room again.
      }
      if (urgent) this.urgentChunks.delete(chunk);
      this.pendingHead++;
      this.pendingOffset = 0;
    }
    this.pending.length = 0;
    this.pendingHead = 0;
    if (this.endRequested && !this.closeIssued) {
      this.closeIssued = true;
      this.host.close(this.id, now);
    }
  }

  private consume(bytes: number): void {
    this.unconsumed -= bytes;
    this.consumedByteCount += bytes;
    // After the connection is gone there is no window left to reopen.
    if (this.host.socketState(this.id) !== undefined) this.host.consume(this.id, bytes, this.context.now);
  }

  private pumpReader(): void {
    if (this.paused || this.unconsumed === 0) return;
    if (this.rate === undefined) {
      this.consume(this.unconsumed);
      return;
    }
    if (this.rate === 0 || this.readTickScheduled) return;
    this.readTickScheduled = true;
    this.lastReadTick = this.context.now;
    // Ticks of at least one byte, so a very slow reader does not flood the event queue.
    const interval = Math.max(READ_TICK, 1 / this.rate);
    this.context.schedule(this.context.now + interval, () => this.readTick());
  }

  private readTick(): void {
    this.readTickScheduled = false;
    if (this.paused || this.rate === undefined || this.rate === 0) return;
    const now = this.context.now;
    this.readCredit += (now - this.lastReadTick) * this.rate;
    this.lastReadTick = now;
    const bytes = Math.min(Math.floor(this.readCredit), this.unconsumed);
    if (bytes > 0) {
      this.readCredit -= bytes;
      this.consume(bytes);
    }
    // A reader with nothing to read does not save up credit for later.
    if (this.unconsumed === 0) this.readCredit = 0;
    else this.pumpReader();
  }
}
