/**
 * A host wrapper that keeps every event the adapter polls, each with a
 * metrics sample of its connection (cwnd, ssthresh, RTT, flight) taken at the
 * moment it was polled. It forwards every call unchanged and only reads the
 * connection's getters, so wrapping a host changes nothing it does: a run
 * observed this way records and replays like one that is not.
 */
import {
  observeEvent,
  pollFrameInto,
  type FrameChecks,
  type HostEvent,
  type HostStats,
  type MetricsProvider,
  type NetworkHost,
  type ObservedEvent,
  type SendOptions,
  type SocketId,
} from '@tcpts/core';

/** Bound on kept events, so a long transfer cannot exhaust memory; the earliest are the ones kept. */
export const MAX_OBSERVED_EVENTS = 1_000_000;

const isMetricsProvider = (host: NetworkHost): host is NetworkHost & MetricsProvider =>
  typeof (host as Partial<MetricsProvider>).connectionOf === 'function';

export class ObservingHost implements NetworkHost {
  private readonly kept: ObservedEvent[] = [];
  private readonly provider: MetricsProvider | undefined;
  private overflowed = false;

  constructor(
    readonly inner: NetworkHost,
    private readonly limit: number = MAX_OBSERVED_EVENTS,
  ) {
    this.provider = isMetricsProvider(inner) ? inner : undefined;
  }

  /** The events polled so far, oldest first. */
  get events(): readonly ObservedEvent[] {
    return this.kept;
  }

  /** Whether events were left out because there were more than the limit. */
  get truncated(): boolean {
    return this.overflowed;
  }

  get stats(): HostStats {
    return this.inner.stats;
  }

  pollEvent(): HostEvent | undefined {
    const event = this.inner.pollEvent();
    if (event === undefined) return undefined;
    if (this.kept.length < this.limit) this.kept.push(this.provider ? observeEvent(this.provider, event) : { event });
    else this.overflowed = true;
    return event;
  }

  pollFrameInto(buffer: Uint8Array, offset = 0): number {
    return pollFrameInto(this.inner, buffer, offset);
  }

  receiveFrame(frame: Uint8Array, now: number, checked?: FrameChecks, segmentSize?: number): void {
    this.inner.receiveFrame(frame, now, checked, segmentSize);
  }

  release(data: Uint8Array): void {
    this.inner.release(data);
  }

  advanceTime(now: number): void {
    this.inner.advanceTime(now);
  }

  pollFrame(): Uint8Array | undefined {
    return this.inner.pollFrame();
  }

  nextDeadline(): number | undefined {
    return this.inner.nextDeadline();
  }

  connect(remoteIp: number, remotePort: number, now: number, localPort?: number): SocketId {
    return this.inner.connect(remoteIp, remotePort, now, localPort);
  }

  listen(port: number, now: number): SocketId {
    return this.inner.listen(port, now);
  }

  send(socket: SocketId, data: Uint8Array, now: number, options?: SendOptions): number {
    return this.inner.send(socket, data, now, options);
  }

  consume(socket: SocketId, bytes: number, now: number): void {
    this.inner.consume(socket, bytes, now);
  }

  close(socket: SocketId, now: number): void {
    this.inner.close(socket, now);
  }

  abort(socket: SocketId, now: number): void {
    this.inner.abort(socket, now);
  }

  socketState(socket: SocketId): string | undefined {
    return this.inner.socketState(socket);
  }

  localPort(socket: SocketId): number | undefined {
    return this.inner.localPort?.(socket);
  }
}

/**
 * The connection a trace page shows: the last one that changed state. With
 * -L the last is the one whose response was kept.
 */
export const tracedSocket = (events: readonly ObservedEvent[]): SocketId | undefined => {
  for (let i = events.length - 1; i >= 0; i--) {
    const { event } = events[i]!;
    if (event.type === 'state') return event.socket;
  }
  return undefined;
};
