import type { HostEvent, HostStats, NetworkHost, SocketId } from '@tcpts/core';

/**
 * Every call a receiving host gets, in order, compact enough to replay in a
 * tight loop: the host is deterministic, so a fresh host given the same calls
 * does the same work. Received frames are packed into one buffer, as a
 * capture device's ring holds them.
 */
export interface ReceiverTape {
  readonly ops: Uint8Array;
  /** The numeric arguments of the ops, in order (see `TapeOp`). */
  readonly args: Float64Array;
  readonly frames: readonly Uint8Array[];
  /** What the recorded host answered, for checking a replay. */
  readonly framesOut: readonly Uint8Array[];
  readonly events: readonly { readonly type: HostEvent['type']; readonly bytes: number }[];
  readonly deadlines: readonly (number | undefined)[];
  readonly bytesDelivered: number;
}

/** Op codes, with their arguments in `args`. */
export const TapeOp = {
  /** now, device checks, segment size; the frame is the next one of `frames`. */
  receiveFrame: 1,
  /** now */
  advanceTime: 2,
  pollFrame: 3,
  pollEvent: 4,
  nextDeadline: 5,
  /** port, now */
  listen: 6,
  /** socket, bytes, now */
  consume: 7,
  /** Releases the data of the `data` event polled last. */
  releaseLastData: 8,
} as const;

/** Frames start at this alignment in the packed buffer, as at the start of a device's buffer. */
const FRAME_ALIGNMENT = 64;

/** Wraps a receiving host and writes down every call; a receiver only (no connect, send or close). */
export class TapeRecordingHost implements NetworkHost {
  private readonly ops: number[] = [];
  private readonly args: number[] = [];
  private readonly frames: Uint8Array[] = [];
  private readonly framesOut: Uint8Array[] = [];
  private readonly events: { type: HostEvent['type']; bytes: number }[] = [];
  private readonly deadlines: (number | undefined)[] = [];
  private lastData: Uint8Array | undefined;
  private bytesDelivered = 0;

  constructor(private readonly host: NetworkHost) {}

  get stats(): HostStats {
    return this.host.stats;
  }

  receiveFrame(frame: Uint8Array, now: number, checked = 0, segmentSize = 0): void {
    this.ops.push(TapeOp.receiveFrame);
    this.args.push(now, checked, segmentSize);
    this.frames.push(frame.slice());
    this.host.receiveFrame(frame, now, checked, segmentSize);
  }

  advanceTime(now: number): void {
    this.ops.push(TapeOp.advanceTime);
    this.args.push(now);
    this.host.advanceTime(now);
  }

  pollFrame(): Uint8Array | undefined {
    this.ops.push(TapeOp.pollFrame);
    const frame = this.host.pollFrame();
    if (frame !== undefined) this.framesOut.push(frame.slice());
    return frame;
  }

  pollEvent(): HostEvent | undefined {
    this.ops.push(TapeOp.pollEvent);
    const event = this.host.pollEvent();
    if (event !== undefined) {
      const bytes = event.type === 'data' ? event.data.length : 0;
      this.events.push({ type: event.type, bytes });
      if (event.type === 'data') {
        this.lastData = event.data;
        this.bytesDelivered += bytes;
      }
    }
    return event;
  }

  release(data: Uint8Array): void {
    if (data !== this.lastData) throw new Error('the tape only knows releases of the data event polled last');
    this.ops.push(TapeOp.releaseLastData);
    this.host.release(data);
  }

  nextDeadline(): number | undefined {
    this.ops.push(TapeOp.nextDeadline);
    const at = this.host.nextDeadline();
    this.deadlines.push(at);
    return at;
  }

  listen(port: number, now: number): SocketId {
    this.ops.push(TapeOp.listen);
    this.args.push(port, now);
    return this.host.listen(port, now);
  }

  consume(socket: SocketId, bytes: number, now: number): void {
    this.ops.push(TapeOp.consume);
    this.args.push(socket, bytes, now);
    this.host.consume(socket, bytes, now);
  }

  socketState(socket: SocketId): string | undefined {
    return this.host.socketState(socket);
  }

  connect(): SocketId {
    throw new Error('a receiver tape records no connect');
  }

  send(): number {
    throw new Error('a receiver tape records no send');
  }

  close(): void {
    throw new Error('a receiver tape records no close');
  }

  abort(): void {
    throw new Error('a receiver tape records no abort');
  }

  tape(): ReceiverTape {
    let size = 0;
    for (const frame of this.frames) size += (frame.length + FRAME_ALIGNMENT - 1) & ~(FRAME_ALIGNMENT - 1);
    const packed = new Uint8Array(size);
    const frames: Uint8Array[] = [];
    let offset = 0;
    for (const frame of this.frames) {
      packed.set(frame, offset);
      frames.push(packed.subarray(offset, offset + frame.length));
      offset += (frame.length + FRAME_ALIGNMENT - 1) & ~(FRAME_ALIGNMENT - 1);
    }
    return {
      ops: Uint8Array.from(this.ops),
      args: Float64Array.from(this.args),
      frames,
      framesOut: this.framesOut,
      events: this.events,
      deadlines: this.deadlines,
      bytesDelivered: this.bytesDelivered,
    };
  }
}

const deviceBuffer = new Uint8Array(65_536);

/** Only what `replayTape` does to hand the frames over, for telling the host's share from the harness's. */
export function stageFrames(tape: ReceiverTape): number {
  let seen = 0;
  for (const frame of tape.frames) {
    deviceBuffer.set(frame);
    seen += deviceBuffer.subarray(0, frame.length)[0]!;
  }
  return seen;
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((byte, i) => byte === b[i]);

/**
 * Makes the tape's calls on `host`. With `check`, every answer is compared
 * with the recorded one and the first difference throws; without, the loop
 * does nothing but the calls.
 */
export function replayTape(tape: ReceiverTape, host: NetworkHost, check = false): void {
  const { ops, args, frames } = tape;
  let a = 0;
  let nextFrame = 0;
  let framesOut = 0;
  let events = 0;
  let deadlines = 0;
  let lastData: Uint8Array | undefined;
  const device = deviceBuffer;
  const differs = (what: string, at: number): never => {
    throw new Error(`replay differs from the recording at op ${at}: ${what}`);
  };
  for (let i = 0; i < ops.length; i++) {
    switch (ops[i]) {
      case TapeOp.receiveFrame: {
        // Through one receive buffer, as the simulation and a capture ring hand frames over: the
        // host reads a frame that was just written, not one from a tape too large for the caches.
        const frame = frames[nextFrame++]!;
        device.set(frame);
        const now = args[a++]!;
        const checked = args[a++]!;
        host.receiveFrame(device.subarray(0, frame.length), now, checked, args[a++]!);
        break;
      }
      case TapeOp.advanceTime:
        host.advanceTime(args[a++]!);
        break;
      case TapeOp.pollFrame: {
        const frame = host.pollFrame();
        if (check && frame !== undefined) {
          const recorded = tape.framesOut[framesOut++];
          if (recorded === undefined || !sameBytes(frame, recorded)) differs('frame out', i);
        }
        break;
      }
      case TapeOp.pollEvent: {
        const event = host.pollEvent();
        if (event?.type === 'data') lastData = event.data;
        if (check && event !== undefined) {
          const recorded = tape.events[events++];
          const bytes = event.type === 'data' ? event.data.length : 0;
          if (recorded?.type !== event.type || recorded.bytes !== bytes) differs(`event ${event.type}`, i);
        }
        break;
      }
      case TapeOp.nextDeadline: {
        const at = host.nextDeadline();
        if (check && at !== tape.deadlines[deadlines++]) differs('deadline', i);
        break;
      }
      case TapeOp.listen:
        host.listen(args[a]!, args[a + 1]!);
        a += 2;
        break;
      case TapeOp.consume:
        host.consume(args[a]!, args[a + 1]!, args[a + 2]!);
        a += 3;
        break;
      case TapeOp.releaseLastData:
        host.release(lastData!);
        break;
    }
  }
  if (check && (framesOut !== tape.framesOut.length || events !== tape.events.length)) {
    differs(`${framesOut} of ${tape.framesOut.length} frames out, ${events} of ${tape.events.length} events`, ops.length);
  }
}
