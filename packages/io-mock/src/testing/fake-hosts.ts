import type { NetworkHost, SocketId } from '@tcpts/core';
import { buildEthernetFrame, readMac } from '../ethernet.js';
import { QueueingHost } from './queueing-host.js';

/**
 * Minimal `NetworkHost`s for testing the link and the simulation without the
 * real stack: they move frames and keep timers but have no sockets.
 */

/** Misuse of a fake host's API; plain Error so tests need no runtime import of the core. */
export class ToyMisuse extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

export const ETHERTYPE_IPV4 = 0x0800;

/** A frame whose first payload bytes carry `number`, padded to `length` bytes in all. */
export const numberedFrame = (to: number, from: number, number: number, length = 64, etherType = ETHERTYPE_IPV4): Uint8Array => {
  const payload = new Uint8Array(Math.max(4, length - 14));
  new DataView(payload.buffer).setUint32(0, number);
  for (let i = 4; i < payload.length; i++) payload[i] = (number + i) & 0xff;
  return buildEthernetFrame(to, from, etherType, payload);
};

export const frameNumber = (frame: Uint8Array): number => new DataView(frame.buffer, frame.byteOffset).getUint32(14);

export abstract class FakeHost extends QueueingHost implements NetworkHost {
  constructor(readonly mac: number) {
    super();
  }

  receiveFrame(frame: Uint8Array, now: number): void {
    this.stats.framesIn++;
    // The caller may reuse the buffer once this returns (see `NetworkHost`): stand-ins keep a copy.
    this.onFrame(frame.slice(), now);
  }

  protected abstract onFrame(frame: Uint8Array, now: number): void;

  connect(): SocketId {
    throw new ToyMisuse('invalid-state', 'fake host has no sockets');
  }
  listen(): SocketId {
    throw new ToyMisuse('invalid-state', 'fake host has no sockets');
  }
  send(): number {
    throw new ToyMisuse('invalid-state', 'fake host has no sockets');
  }
  consume(): void {
    throw new ToyMisuse('invalid-state', 'fake host has no sockets');
  }
  close(): void {
    throw new ToyMisuse('invalid-state', 'fake host has no sockets');
  }
  abort(): void {
    throw new ToyMisuse('invalid-state', 'fake host has no sockets');
  }
  socketState(): string | undefined {
    return undefined;
  }
}

/**
 * Records what it receives and sends scripted frames at scripted times, using
 * its deadline like a real host's timer.
 */
export class ScriptedHost extends FakeHost {
  readonly received: { readonly time: number; readonly frame: Uint8Array }[] = [];
  /** Every time `advanceTime` was called. */
  readonly wakeups: number[] = [];
  private readonly script: { readonly at: number; readonly frame: Uint8Array }[];
  private scriptIndex = 0;

  constructor(mac: number, script: readonly { readonly at: number; readonly frame: Uint8Array }[] = []) {
    super(mac);
    this.script = [...script].sort((a, b) => a.at - b.at);
  }

  /** Queues `frame` to go out at the next drain. */
  sendNow(frame: Uint8Array): void {
    this.outbox.push(frame);
  }

  protected onFrame(frame: Uint8Array, now: number): void {
    this.received.push({ time: now, frame });
  }

  override advanceTime(now: number): void {
    this.wakeups.push(now);
    while (this.scriptIndex < this.script.length && this.script[this.scriptIndex]!.at <= now) {
      this.outbox.push(this.script[this.scriptIndex++]!.frame);
    }
  }

  override nextDeadline(): number | undefined {
    return this.script[this.scriptIndex]?.at;
  }

  receivedNumbers(): number[] {
    return this.received.map(({ frame }) => frameNumber(frame));
  }
}

/** Sends every frame back to its source, with the MACs swapped. */
export class EchoHost extends FakeHost {
  protected onFrame(frame: Uint8Array): void {
    const reply = frame.slice();
    reply.copyWithin(0, 6, 12);
    reply.set(frame.subarray(0, 6), 6);
    this.outbox.push(reply);
  }
}

/**
 * Acknowledges what arrived since it was last drained with one frame carrying
 * the count, the way a TCP receiver acknowledges a batch.
 */
export class BatchAckHost extends FakeHost {
  readonly batches: number[] = [];
  private sinceDrain = 0;
  private replyTo = -1;

  protected onFrame(frame: Uint8Array): void {
    this.sinceDrain++;
    this.replyTo = readMac(frame, 6);
  }

  override pollFrame(): Uint8Array | undefined {
    if (this.sinceDrain > 0) {
      this.batches.push(this.sinceDrain);
      this.outbox.push(numberedFrame(this.replyTo, this.mac, this.sinceDrain));
      this.sinceDrain = 0;
    }
    return super.pollFrame();
  }
}

/** Asks to be woken every `period` ms, `count` times, and sends a frame to `to` each time. */
export class TickingHost extends FakeHost {
  readonly wakeups: number[] = [];
  private next: number | undefined;

  constructor(
    mac: number,
    private readonly to: number,
    private readonly period: number,
    private remaining: number,
  ) {
    super(mac);
    this.next = remaining > 0 ? period : undefined;
  }

  protected onFrame(): void {}

  override advanceTime(now: number): void {
    this.wakeups.push(now);
    if (this.next === undefined || now < this.next) return;
    this.outbox.push(numberedFrame(this.to, this.mac, this.wakeups.length));
    this.remaining--;
    this.next = this.remaining > 0 ? this.next + this.period : undefined;
  }

  override nextDeadline(): number | undefined {
    return this.next;
  }
}
