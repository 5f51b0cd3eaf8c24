import { emptyHostStats, type HostEvent, type HostStats } from '@tcpts/core';

/**
 * The output side every stand-in host shares: frames and events queued by the
 * host, taken by the simulation, no timers. Its data events are copies of its
 * own, so there is no memory to reuse on `release`.
 */
export abstract class QueueingHost {
  readonly stats: HostStats = emptyHostStats();
  protected readonly outbox: Uint8Array[] = [];
  protected readonly events: HostEvent[] = [];

  advanceTime(_now: number): void {}

  pollFrame(): Uint8Array | undefined {
    const frame = this.outbox.shift();
    if (frame !== undefined) this.stats.framesOut++;
    return frame;
  }

  pollEvent(): HostEvent | undefined {
    return this.events.shift();
  }

  release(_data: Uint8Array): void {}

  nextDeadline(): number | undefined {
    return undefined;
  }
}
