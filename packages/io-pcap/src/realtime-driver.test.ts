import fc from 'fast-check';
import { emptyHostStats, type HostEvent, type HostStats, type NetworkHost, type SendOptions, type SocketId } from '@tcpts/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseIpv4 } from './addresses.js';
import { IoPcapError } from './errors.js';
import { emptyCounters, type FrameDevice, type FrameReceiver } from './frame-device.js';
import { PcapStack } from './realtime-driver.js';

/**
 * A scripted host: a send buffer of fixed capacity that the test drains, data
 * the test delivers, and a log of every call in order. Incoming frames run
 * `onFrame`, so tests drive the host the way the network would.
 */
class FakeHost implements NetworkHost {
  readonly stats: HostStats = emptyHostStats();
  readonly calls: string[] = [];
  readonly sent: number[] = [];
  /** Each send call that took bytes: how many, and whether as urgent. */
  readonly sends: string[] = [];
  consumed = 0;
  sendCapacity = Number.POSITIVE_INFINITY;
  buffered = 0;
  maxBuffered = 0;
  deadline: number | undefined;
  readonly advancedAt: number[] = [];
  onFrame: (frame: Uint8Array, now: number) => void = () => undefined;
  onConnect: (socket: SocketId, remoteIp: number, remotePort: number) => void = (socket) =>
    this.emit({ type: 'connected', socket });
  private readonly frames: Uint8Array[] = [];
  private readonly events: HostEvent[] = [];
  private nextId = 1;
  private wantsWritable = false;
  readonly states = new Map<SocketId, string>();

  emit(event: HostEvent): void {
    this.events.push(event);
  }

  emitFrame(frame: Uint8Array): void {
    this.frames.push(frame);
  }

  /** The peer acknowledged `bytes`: room in the send buffer, and `writable` if a send was cut short. */
  acknowledge(socket: SocketId, bytes: number): void {
    this.buffered -= Math.min(bytes, this.buffered);
    if (this.wantsWritable) {
      this.wantsWritable = false;
      this.emit({ type: 'writable', socket });
    }
  }

  receiveFrame(frame: Uint8Array, now: number): void {
    this.calls.push(`receive@${now}`);
    this.onFrame(frame, now);
  }
  advanceTime(now: number): void {
    this.calls.push('advance');
    this.advancedAt.push(now);
    if (this.deadline !== undefined && this.deadline <= now) this.deadline = undefined;
  }
  pollFrame(): Uint8Array | undefined {
    const frame = this.frames.shift();
    if (frame !== undefined) this.calls.push('pollFrame');
    return frame;
  }
  pollEvent(): HostEvent | undefined {
    return this.events.shift();
  }
  readonly released: Uint8Array[] = [];
  release(data: Uint8Array): void {
    this.released.push(data);
  }

  nextDeadline(): number | undefined {
    return this.deadline;
  }
  connect(remoteIp: number, remotePort: number): SocketId {
    const id = this.nextId++;
    this.calls.push(`connect:${id}`);
    this.states.set(id, 'SYN-SENT');
    this.onConnect(id, remoteIp, remotePort);
    return id;
  }
  listen(): SocketId {
    throw new Error('not used');
  }
  send(_socket: SocketId, data: Uint8Array, _now?: number, options?: SendOptions): number {
    const accepted = Math.min(data.length, this.sendCapacity - this.buffered);
    if (accepted > 0) this.sends.push(`${options?.urgent === true ? 'urgent' : 'plain'}:${accepted}`);
    for (let i = 0; i < accepted; i++) this.sent.push(data[i] as number);
    this.buffered += accepted;
    this.maxBuffered = Math.max(this.maxBuffered, this.buffered);
    if (accepted < data.length) this.wantsWritable = true;
    return accepted;
  }
  consume(_socket: SocketId, bytes: number): void {
    this.consumed += bytes;
  }
  close(socket: SocketId): void {
    this.calls.push(`close:${socket}`);
  }
  abort(socket: SocketId): void {
    this.calls.push(`abort:${socket}`);
    this.states.delete(socket);
  }
  socketState(socket: SocketId): string | undefined {
    return this.states.get(socket);
  }
}

class FakeDevice implements FrameDevice {
  readonly mtu = 1500;
  readonly counters = emptyCounters();
  readonly sent: Uint8Array[] = [];
  receiver: FrameReceiver | undefined;
  closed = false;

  start(receiver: FrameReceiver): void {
    this.receiver = receiver;
  }
  send(frame: Uint8Array): void {
    this.sent.push(frame);
    this.counters.framesSent++;
  }
  close(): void {
    this.closed = true;
  }
  /** A burst of frames from the wire. */
  arrive(count = 1): void {
    for (let i = 0; i < count; i++) this.receiver?.frame(new Uint8Array(60));
    this.receiver?.endOfBurst();
  }
}

const OUR_IP = parseIpv4('198.18.10.2');

function makeStack(clock: () => number = () => 1000, onFailure?: (error: IoPcapError) => void) {
  const host = new FakeHost();
  const device = new FakeDevice();
  const stack = PcapStack.attach({
    host,
    device,
    mac: 0x020000000a02,
    ip: OUR_IP,
    prefixLength: 24,
    clock,
    ...(onFailure === undefined ? {} : { onFailure }),
  });
  return { host, device, stack };
}

/** A stack whose failures are collected. */
function failingStack() {
  const failures: IoPcapError[] = [];
  const setup = makeStack(undefined, (error) => failures.push(error));
  openStacks.push(setup.stack);
  return { ...setup, failures };
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

let openStacks: PcapStack[] = [];
afterEach(async () => {
  for (const stack of openStacks) await stack.close();
  openStacks = [];
  vi.restoreAllMocks();
});

async function connected(setup = makeStack()) {
  openStacks.push(setup.stack);
  const socket = await setup.stack.connect('198.18.10.1', 80);
  socket.on('error', () => undefined);
  return { ...setup, socket };
}

describe('PcapStack with a fake host: writing', () => {
  it('completes a write only when the host has taken every byte', async () => {
    const { host, device, socket } = await connected();
    host.sendCapacity = 1000;
    host.onFrame = () => host.acknowledge(socket.id, 1000);
    const chunk = Buffer.alloc(2500, 7);
    let done = false;
    socket.write(chunk, () => {
      done = true;
    });
    await settle();
    expect(host.sent).toHaveLength(1000);
    expect(done).toBe(false);
    device.arrive();
    await settle();
    expect(host.sent).toHaveLength(2000);
    expect(done).toBe(false);
    device.arrive();
    await settle();
    expect(host.sent).toHaveLength(2500);
    expect(done).toBe(true);
  });

  it('keeps bytes in order and never overfills the host, whatever the chunking', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 3000 }), { minLength: 1, maxLength: 20 }),
        fc.integer({ min: 200, max: 4000 }),
        fc.integer({ min: 200, max: 5000 }),
        async (chunkSizes, capacity, ackSize) => {
          const { host, device, stack, socket } = await connected();
          host.sendCapacity = capacity;
          host.onFrame = () => host.acknowledge(socket.id, ackSize);
          const expected: number[] = [];
          let counter = 0;
          let callbacks = 0;
          for (const size of chunkSizes) {
            const chunk = Buffer.alloc(size);
            for (let i = 0; i < size; i++) chunk[i] = counter++ & 0xff;
            expected.push(...chunk);
            socket.write(chunk, () => callbacks++);
          }
          const rounds = Math.ceil(expected.length / Math.min(capacity, ackSize)) + 5;
          for (let round = 0; round < rounds && callbacks < chunkSizes.length; round++) {
            device.arrive();
            await settle();
          }
          await stack.close();
          return callbacks === chunkSizes.length && host.maxBuffered <= capacity && host.sent.join() === expected.join();
        },
      ),
      { numRuns: 30 },
    );
  });

  it('closes after the queued data on end(), and aborts on destroy()', async () => {
    const first = await connected();
    first.host.sendCapacity = 10;
    first.host.onFrame = () => first.host.acknowledge(first.socket.id, 10);
    first.socket.end(Buffer.alloc(25));
    await settle();
    expect(first.host.calls.filter((call) => call.startsWith('close'))).toEqual([]);
    for (let i = 0; i < 3; i++) {
      first.device.arrive();
      await settle();
    }
    expect(first.host.sent).toHaveLength(25);
    expect(first.host.calls).toContain(`close:${first.socket.id}`);
    expect(first.host.calls).not.toContain(`abort:${first.socket.id}`);

    const second = await connected();
    second.socket.destroy();
    await settle();
    expect(second.host.calls).toContain(`abort:${second.socket.id}`);
    expect(second.socket.state()).toBeUndefined();
  });
});

describe('PcapStack with a fake host: urgent data', () => {
  it('writes urgent bytes as urgent, in line with the rest, also when the host takes them in parts', async () => {
    const { host, device, socket } = await connected();
    host.sendCapacity = 1000;
    host.onFrame = () => host.acknowledge(socket.id, 1000);
    socket.write(Buffer.alloc(300, 1));
    const urgent = Buffer.alloc(1500, 2);
    // The same bytes written plainly are not urgent: only the writeUrgent chunk is.
    socket.write(urgent.subarray(0, 10));
    let done = false;
    socket.writeUrgent(urgent, () => {
      done = true;
    });
    socket.write(Buffer.alloc(40, 3));
    for (let i = 0; i < 3; i++) {
      device.arrive();
      await settle();
    }
    expect(done).toBe(true);
    expect(host.sends).toEqual(['plain:300', 'plain:10', 'urgent:690', 'urgent:810', 'plain:40']);
    expect(host.sent).toHaveLength(1850);
  });

  it('emits urgent with the stream offset where the peer’s urgent data ends', async () => {
    const { host, device, socket } = await connected();
    const ends: number[] = [];
    socket.on('urgent', (end: number) => ends.push(end));
    host.onFrame = () => {
      host.emit({ type: 'data', socket: socket.id, data: new Uint8Array(100) });
      host.emit({ type: 'urgent', socket: socket.id, end: 150 + ends.length });
    };
    device.arrive();
    await settle();
    device.arrive();
    await settle();
    expect(ends).toEqual([150, 151]);
  });
});

describe('PcapStack with a fake host: reading', () => {
  it('consumes only what the reader has taken, so a paused reader closes the window', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 40_000 }), { minLength: 1, maxLength: 30 }), async (sizes) => {
        const { host, device, stack, socket } = await connected();
        const queue = [...sizes];
        host.onFrame = () => {
          const size = queue.shift();
          if (size !== undefined) host.emit({ type: 'data', socket: socket.id, data: new Uint8Array(size) });
        };
        // Nobody reads: the stream buffer fills up to its high-water mark, then consumption stops.
        device.arrive(sizes.length);
        await settle();
        const delivered = sizes.reduce((a, b) => a + b, 0);
        const pushedWhileRoom = host.consumed;
        const lastSize = Math.max(...sizes);
        const pausedOk = pushedWhileRoom <= socket.readableHighWaterMark + lastSize && pushedWhileRoom <= delivered;
        // Now the reader takes everything: every byte gets consumed.
        let read = 0;
        for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read() as Buffer | null) {
          read += chunk.length;
        }
        await settle();
        const result = pausedOk && read === delivered && host.consumed === delivered;
        await stack.close();
        return result;
      }),
      { numRuns: 30 },
    );
  });

  it('gives a chunk the reader is done with back to the host', async () => {
    const { host, socket } = await connected();
    const chunk = new Uint8Array(10);
    socket.release(chunk);
    expect(host.released).toEqual([chunk]);
  });

  it('keeps a large unread backlog unconsumed', async () => {
    const { host, device, socket } = await connected();
    host.onFrame = () => host.emit({ type: 'data', socket: socket.id, data: new Uint8Array(16 * 1024) });
    device.arrive(64);
    await settle();
    expect(socket.readableLength).toBe(1024 * 1024);
    expect(host.consumed).toBeLessThanOrEqual(socket.readableHighWaterMark);
  });

  it('consumes as it goes for a flowing reader, and ends on peer-closed', async () => {
    const { host, device, socket } = await connected();
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    const ended = new Promise<void>((resolve) => socket.on('end', resolve));
    let n = 0;
    host.onFrame = () => {
      n++;
      if (n <= 3) host.emit({ type: 'data', socket: socket.id, data: Uint8Array.of(n, n, n) });
      else host.emit({ type: 'peer-closed', socket: socket.id });
    };
    for (let i = 0; i < 4; i++) {
      device.arrive();
      await settle();
    }
    await ended;
    expect(Buffer.concat(received)).toEqual(Buffer.from([1, 1, 1, 2, 2, 2, 3, 3, 3]));
    expect(host.consumed).toBe(9);
    // Without allowHalfOpen our side closes too, as net.Socket does.
    await settle();
    expect(host.calls).toContain(`close:${socket.id}`);
  });
});

describe('PcapStack with a fake host: connection outcomes', () => {
  it.each([
    ['refused', 'ECONNREFUSED'],
    ['timed-out', 'ETIMEDOUT'],
    ['unreachable', 'EHOSTUNREACH'],
    ['reset', 'ECONNRESET'],
  ] as const)('rejects connect on a %s error with %s', async (error, code) => {
    const { host, stack } = makeStack();
    openStacks.push(stack);
    host.onConnect = (socket) => {
      host.emit({ type: 'error', socket, error });
      host.emit({ type: 'closed', socket });
    };
    await expect(stack.connect('198.18.10.1', 81)).rejects.toMatchObject({ code });
    expect(host.calls.some((call) => call.startsWith('abort'))).toBe(false);
  });

  it('destroys an established stream on a reset, with ECONNRESET', async () => {
    const { host, device, socket } = await connected();
    const failure = new Promise<NodeJS.ErrnoException>((resolve) => socket.once('error', resolve));
    host.onFrame = () => host.emit({ type: 'error', socket: socket.id, error: 'reset' });
    device.arrive();
    expect((await failure).code).toBe('ECONNRESET');
    expect(socket.destroyed).toBe(true);
    expect(host.calls).not.toContain(`abort:${socket.id}`);
  });

  it('aborts and rejects with ETIMEDOUT when the handshake outlasts timeoutMs', async () => {
    const { host, stack } = makeStack();
    openStacks.push(stack);
    host.onConnect = () => undefined;
    const started = Date.now();
    await expect(stack.connect('198.18.10.1', 82, { timeoutMs: 50 })).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(host.calls).toContain('abort:1');
  });

  it('refuses bad addresses and off-link destinations without a gateway', async () => {
    const { stack } = makeStack();
    openStacks.push(stack);
    await expect(stack.connect('198.18.10', 80)).rejects.toMatchObject({ code: 'invalid-address' });
    await expect(stack.connect('198.18.10.1', 0)).rejects.toMatchObject({ code: 'invalid-address' });
    await expect(stack.connect('198.19.0.1', 80)).rejects.toMatchObject({ code: 'unreachable' });
  });

  it('learns the local port from the SYN the host sends', async () => {
    const { host, stack } = makeStack();
    openStacks.push(stack);
    host.onConnect = (socket, remoteIp, remotePort) => {
      const syn = new Uint8Array(54);
      syn.set([0x08, 0x00], 12);
      syn[14] = 0x45;
      syn[23] = 6;
      syn.set([remoteIp >>> 24, (remoteIp >>> 16) & 0xff, (remoteIp >>> 8) & 0xff, remoteIp & 0xff], 30);
      syn.set([0xc0, 0x01, remotePort >> 8, remotePort & 0xff], 34);
      syn[34 + 13] = 0x02;
      host.emitFrame(syn);
      host.emit({ type: 'connected', socket });
    };
    const socket = await stack.connect('198.18.10.1', 8080);
    expect(socket.localPort).toBe(0xc001);
    expect(socket.remotePort).toBe(8080);
    expect(socket.state()).toBe('SYN-SENT');
  });
});

describe('PcapStack with a fake host: driving', () => {
  it('feeds every frame of a burst to the host as it comes, then drains once at the end of the burst', async () => {
    let now = 5;
    const { host, device, stack } = makeStack(() => now);
    openStacks.push(stack);
    host.onFrame = (_frame, at) => host.emitFrame(Uint8Array.of(at));
    now = 7;
    device.arrive(3);
    expect(host.calls).toEqual(['receive@7', 'receive@7', 'receive@7', 'pollFrame', 'pollFrame', 'pollFrame']);
    expect(device.sent).toHaveLength(3);
  });

  it('reads the clock once for every 32 frames of a burst, and afresh for the next burst', async () => {
    let readings = 0;
    const { host, device, stack } = makeStack(() => ++readings);
    openStacks.push(stack);
    const before = readings;
    device.arrive(70);
    const times = host.calls.filter((call) => call.startsWith('receive@')).map((call) => Number(call.slice(8)));
    // Frames 0–31 share the first reading, 32–63 the second, 64–69 the third: time never goes back.
    expect(new Set(times).size).toBe(3);
    expect(times.slice(0, 32).every((t) => t === times[0])).toBe(true);
    expect(times[32]).toBeGreaterThan(times[31]!);
    expect(times[64]).toBeGreaterThan(times[63]!);
    expect(times[0]).toBe(before + 1);
    host.calls.length = 0;
    const afterFirstBurst = readings;
    device.arrive(1);
    expect(host.calls[0]).toBe(`receive@${afterFirstBurst + 1}`);
  });

  it('runs the host at its deadline with one timer, unreferenced while no stream is in use', async () => {
    const timers: NodeJS.Timeout[] = [];
    const realSetTimeout = globalThis.setTimeout;
    vi.spyOn(globalThis, 'setTimeout').mockImplementation(((callback: () => void, ms?: number) => {
      const timer = realSetTimeout(callback, ms);
      timers.push(timer);
      return timer;
    }) as typeof setTimeout);
    const { host, device, stack } = makeStack(() => performance.now());
    openStacks.push(stack);
    host.onFrame = (_frame, at) => {
      host.deadline = at + 30;
    };
    device.arrive();
    expect(timers).toHaveLength(1);
    expect(timers[0]?.hasRef()).toBe(false);
    const deadline = host.deadline as number;
    await new Promise((resolve) => realSetTimeout(resolve, 80));
    expect(host.advancedAt).toHaveLength(1);
    expect(host.advancedAt[0]).toBeGreaterThanOrEqual(deadline);

    // With a stream open the timer holds the process.
    const socket = await stack.connect('198.18.10.1', 80);
    device.arrive();
    expect(timers.at(-1)?.hasRef()).toBe(true);
    socket.destroy();
  });

  it('serves a deadline less than a millisecond away once the I/O at hand is done, not on a millisecond timer', async () => {
    let now = 1000;
    const timers = vi.spyOn(globalThis, 'setTimeout');
    const { host, device, stack } = makeStack(() => now);
    openStacks.push(stack);
    host.onFrame = (_frame, at) => {
      host.deadline = at + 0.3;
    };
    device.arrive();
    // Not due yet: looked at again on the next turn of the event loop, and the next.
    await settle();
    await settle();
    expect(host.advancedAt).toEqual([]);
    now += 0.5;
    await settle();
    expect(host.advancedAt).toEqual([1000.5]);
    expect(timers).not.toHaveBeenCalled();
  });

  it('looks again at once at a deadline that passed while it drained, but not at one the host was advanced to', async () => {
    const timers = vi.spyOn(globalThis, 'setTimeout');
    // Each reading of the clock is 0.06 ms later: the deadline passes between the drain's start and its end.
    let now = 1000;
    const { host, device, stack } = makeStack(() => (now += 0.06));
    openStacks.push(stack);
    host.onFrame = (_frame, at) => {
      host.deadline = at + 0.1;
    };
    device.arrive();
    expect(host.advancedAt).toEqual([]);
    await settle();
    expect(host.advancedAt).toHaveLength(1);
    expect(timers).not.toHaveBeenCalled();

    // A host that goes on reporting a deadline it was advanced to gets the millisecond timer: no spinning.
    host.advanceTime = (at) => {
      host.advancedAt.push(at);
    };
    host.onFrame = (_frame, at) => {
      host.deadline = at - 5;
    };
    device.arrive();
    for (let i = 0; i < 5; i++) await settle();
    expect(host.advancedAt).toHaveLength(2);
    expect(timers).toHaveBeenCalledTimes(1);
    expect(timers.mock.calls[0]?.[1]).toBe(1);
  });

  it('closes: aborts streams, rejects pending connects, stops the device and the timer', async () => {
    const { host, device, stack, socket } = await connected();
    host.onConnect = () => undefined;
    const pending = stack.connect('198.18.10.1', 443);
    host.deadline = 10_000;
    device.arrive();
    await stack.close();
    await expect(pending).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect(socket.destroyed).toBe(true);
    expect(host.calls).toContain(`abort:${socket.id}`);
    expect(device.closed).toBe(true);
    await expect(stack.connect('198.18.10.1', 80)).rejects.toBeInstanceOf(IoPcapError);
  });

  it('fails every stream with the device failure', async () => {
    const { device, stack, failures } = failingStack();
    const socket = await stack.connect('198.18.10.1', 80);
    const streamError = new Promise<Error>((resolve) => socket.once('error', resolve));
    const offload = new IoPcapError('offload', 'run ethtool');
    device.receiver?.failure(offload);
    expect(await streamError).toBe(offload);
    expect(failures).toEqual([offload]);
    expect(stack.failure).toBe(offload);
    await expect(stack.connect('198.18.10.1', 80)).rejects.toBe(offload);
  });

  it('stops with an internal error, instead of hanging, when the host never stops producing frames', async () => {
    const { host, device, failures } = failingStack();
    const frame = new Uint8Array(60);
    host.pollFrame = () => frame;
    device.arrive();
    expect(failures.map((failure) => failure.message)).toEqual([
      expect.stringMatching(/internal error in the stack: the host produced over 1000000 frames at once/),
    ]);
    expect(device.closed).toBe(true);
  });

  it('reports host and device counters together', async () => {
    const { host, device, stack } = makeStack();
    openStacks.push(stack);
    host.stats.framesIn = 3;
    host.stats.dropped.set('not-for-us', 2);
    device.counters.framesReceived = 4;
    const stats = stack.stats();
    expect(stats.framesIn).toBe(3);
    expect(stats.dropped.get('not-for-us')).toBe(2);
    expect(stats.device.framesReceived).toBe(4);
    // A snapshot: later changes do not leak in.
    host.stats.dropped.set('not-for-us', 5);
    expect(stats.dropped.get('not-for-us')).toBe(2);
  });
});
