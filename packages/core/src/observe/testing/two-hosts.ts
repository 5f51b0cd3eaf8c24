/**
 * Two hosts on a perfect wire with a virtual clock, for the tests of this
 * folder: a connection from A to a listener on B, a transfer, and a close.
 */
import { createHost } from '../../stack/host.js';
import { FrameCheck, type HostConfig, type HostEvent, type NetworkHost, type SocketId } from '../../stack/host-types.js';
import { coalesceTcpFrames } from '../../wire/receive-coalescing.js';
import { type ObservedEvent, type Timeline, buildTimeline, observeEvent } from '../timeline.js';

export const A_IP = 0xc6120001; // 198.18.0.1
export const B_IP = 0xc6120002; // 198.18.0.2
export const A_MAC = 0x020000000001;
export const B_MAC = 0x020000000002;

export const configA = (overrides: Partial<HostConfig> = {}): HostConfig => ({
  mac: A_MAC,
  ip: A_IP,
  prefixLength: 24,
  isnSecret: new Uint8Array(16).fill(7),
  traceSegments: true,
  ...overrides,
});

export const configB = (overrides: Partial<HostConfig> = {}): HostConfig => ({
  mac: B_MAC,
  ip: B_IP,
  prefixLength: 24,
  isnSecret: new Uint8Array(16).fill(9),
  traceSegments: true,
  tcp: { msl: 500 },
  ...overrides,
});

/** Every frame the host has to send, each copied out of the host's buffer. */
export const framesOf = (host: NetworkHost): Uint8Array[] => {
  const frames: Uint8Array[] = [];
  for (let f = host.pollFrame(); f; f = host.pollFrame()) frames.push(new Uint8Array(f));
  return frames;
};

/** Every event the host has to tell. */
export const eventsOf = (host: NetworkHost): HostEvent[] => {
  const events: HostEvent[] = [];
  for (let e = host.pollEvent(); e; e = host.pollEvent()) events.push(e);
  return events;
};

export interface WireOptions {
  /** One-way delay of the wire in ms (default 5). */
  readonly latency?: number;
  /** Drops the n-th frame A sends (counting from 0), to provoke a retransmission. */
  readonly dropFromA?: ReadonlySet<number>;
  /** Called for every event as it is polled, before it is stored. */
  readonly onEvent?: (host: 'a' | 'b', event: HostEvent) => void;
  /**
   * The receiving devices merge the frames that arrive together (receive
   * coalescing, `coalesceTcpFrames`) and hand them over with their segment size.
   */
  readonly coalesceArrivals?: boolean;
}

export interface Wire {
  readonly events: Array<{ readonly host: 'a' | 'b'; readonly event: HostEvent }>;
  /** Moves frames and events until nothing moves, then advances time to the next deadline or arrival; bounded. */
  run(limit?: number): void;
  now(): number;
}

export const wire = (a: NetworkHost, b: NetworkHost, options: WireOptions = {}): Wire => {
  const latency = options.latency ?? 5;
  let now = 0;
  let sentByA = 0;
  const events: Array<{ host: 'a' | 'b'; event: HostEvent }> = [];
  const inFlight: Array<{ readonly to: NetworkHost; readonly frame: Uint8Array; readonly at: number }> = [];
  const step = (): boolean => {
    let moved = false;
    for (const [from, to, name] of [
      [a, b, 'a'],
      [b, a, 'b'],
    ] as const) {
      for (let frame = from.pollFrame(); frame; frame = from.pollFrame()) {
        moved = true;
        if (name === 'a' && options.dropFromA?.has(sentByA++)) continue;
        inFlight.push({ to, frame, at: now + latency });
      }
      for (let event = from.pollEvent(); event; event = from.pollEvent()) {
        options.onEvent?.(name, event);
        events.push({ host: name, event });
        if (event.type === 'data') from.consume(event.socket, event.data.length, now);
        moved = true;
      }
    }
    const due: Array<(typeof inFlight)[number]> = [];
    while (inFlight.length > 0 && inFlight[0]!.at <= now) due.push(inFlight.shift()!);
    if (due.length > 0) moved = true;
    if (options.coalesceArrivals !== true) {
      for (const arrival of due) arrival.to.receiveFrame(arrival.frame, now);
      return moved;
    }
    for (const to of [a, b]) {
      const frames = due.filter((arrival) => arrival.to === to).map((arrival) => arrival.frame);
      for (const { frame, segmentSize } of coalesceTcpFrames(frames)) {
        to.receiveFrame(frame, now, segmentSize > 0 ? FrameCheck.tcpChecksum : FrameCheck.none, segmentSize);
      }
    }
    return moved;
  };
  const run = (limit = 100_000): void => {
    for (let i = 0; i < limit; i++) {
      if (step()) continue;
      const next = [a.nextDeadline(), b.nextDeadline(), inFlight[0]?.at].filter((d): d is number => d !== undefined);
      if (next.length === 0) return;
      now = Math.max(now, Math.min(...next));
      a.advanceTime(now);
      b.advanceTime(now);
    }
  };
  return { events, run, now: () => now };
};

/** A connects to B:80, sends `bytes` bytes, closes; B closes when A's FIN arrives. Returns A's socket. */
export const transfer = (a: NetworkHost, b: NetworkHost, bytes: number, options: WireOptions = {}): { socket: SocketId; wire: Wire } => {
  const onEvent = options.onEvent;
  const w = wire(a, b, {
    ...options,
    onEvent: (host, event) => {
      onEvent?.(host, event);
      if (host === 'b' && event.type === 'peer-closed') b.close(event.socket, w.now());
    },
  });
  b.listen(80, 0);
  const socket = a.connect(B_IP, 80, 0);
  for (let i = 0; i < 1000 && a.socketState(socket) !== 'ESTABLISHED' && a.socketState(socket) !== undefined; i++) w.run(1);
  const data = Uint8Array.from({ length: bytes }, (_, i) => (i * 7) % 256);
  // A connection that never opened (its peer's MAC never resolved, its SYNs all lost) is gone:
  // there is nothing to send on or close, and what the hosts did until then is the outcome.
  const open = (): boolean => a.socketState(socket) !== undefined;
  let offset = 0;
  for (let rounds = 0; offset < data.length && rounds < 10_000 && open(); rounds++) {
    offset += a.send(socket, data.subarray(offset), w.now());
    w.run(50);
  }
  if (open()) a.close(socket, w.now());
  w.run();
  return { socket, wire: w };
};

/**
 * The timeline of A's side of a 40 kB transfer whose 10th and 11th segments
 * from A are lost: a small run with retransmissions, for the trace page tests.
 */
export const lossyTransferTimeline = (overridesA: Partial<HostConfig> = {}): Timeline => {
  const a = createHost(configA(overridesA));
  const b = createHost(configB());
  const observed: ObservedEvent[] = [];
  transfer(a, b, 40_000, {
    dropFromA: new Set([10, 11]),
    onEvent: (host, event) => {
      if (host === 'a') observed.push(observeEvent(a, event));
    },
  });
  return buildTimeline(observed);
};
