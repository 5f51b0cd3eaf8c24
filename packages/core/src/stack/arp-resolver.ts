import { BROADCAST_MAC } from '../wire/addresses.js';
import { ArpOperation } from '../wire/arp.js';
import { encodeArpFrame } from '../wire/frame.js';
import type { TcpSegment } from '../wire/tcp-types.js';

export interface HeldSegment {
  readonly dstIp: number;
  readonly segment: TcpSegment;
}

interface Pending {
  attempts: number;
  retryAt: number;
  readonly held: HeldSegment[];
}

export interface ArpResolverOptions {
  /** Time between requests for the same address, ms. */
  readonly retryInterval?: number;
  /** Requests sent before the address is declared unreachable. */
  readonly attempts?: number;
  /** Segments held per unresolved address; TCP retransmits what does not fit. */
  readonly holdLimit?: number;
  /**
   * How long a learned address is trusted, ms (10 minutes by default): RFC 1122
   * §2.3.2.1 wants out-of-date entries flushed, by a timeout one can set. An
   * ARP packet from the address renews it.
   */
  readonly cacheLifetime?: number;
  /** Addresses kept at most (1024 by default); past it the least recently learned goes. */
  readonly cacheSize?: number;
}

interface CacheEntry {
  readonly mac: number;
  readonly expiresAt: number;
}

/**
 * The ARP cache and the resolution of next hops (RFC 826), with retries and a
 * verdict when nobody answers. Time is an input.
 */
export class ArpResolver {
  /** In the order the addresses were last learned, oldest first. */
  private readonly cache = new Map<number, CacheEntry>();
  private readonly pending = new Map<number, Pending>();
  private readonly retryInterval: number;
  private readonly attempts: number;
  private readonly holdLimit: number;
  private readonly cacheLifetime: number;
  private readonly cacheSize: number;

  constructor(
    private readonly self: { readonly mac: number; readonly ip: number },
    options: ArpResolverOptions = {},
  ) {
    this.retryInterval = options.retryInterval ?? 1000;
    this.attempts = options.attempts ?? 3;
    this.holdLimit = options.holdLimit ?? 256;
    this.cacheLifetime = options.cacheLifetime ?? 10 * 60_000;
    this.cacheSize = Math.max(1, options.cacheSize ?? 1024);
  }

  /** The MAC of `ip`, unless it was never learned or its entry is out of date. */
  lookup(ip: number, now: number): number | undefined {
    const entry = this.cache.get(ip);
    if (entry === undefined) return undefined;
    if (now < entry.expiresAt) return entry.mac;
    this.cache.delete(ip);
    return undefined;
  }

  /**
   * RFC 826's merge: update an address we already know; add it if the packet was
   * meant for us. Returns true when this answers a request of ours.
   */
  learn(ip: number, mac: number, targetedUs: boolean, now: number): boolean {
    const known = this.lookup(ip, now) !== undefined;
    if (known || targetedUs || this.pending.has(ip)) {
      // Renewed entries move to the end: the first one is always the least recently learned.
      this.cache.delete(ip);
      this.cache.set(ip, { mac, expiresAt: now + this.cacheLifetime });
      if (this.cache.size > this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
    }
    return this.pending.has(ip);
  }

  /** Keeps a segment until `nextHop` resolves; sends the first request at once. */
  hold(nextHop: number, dstIp: number, segment: TcpSegment, now: number, send: (frame: Uint8Array) => void): void {
    let pending = this.pending.get(nextHop);
    if (!pending) {
      pending = { attempts: 1, retryAt: now + this.retryInterval, held: [] };
      this.pending.set(nextHop, pending);
      send(this.request(nextHop));
    }
    if (pending.held.length < this.holdLimit) pending.held.push({ dstIp, segment });
  }

  /** The segments waiting for `ip`, now that it resolved. */
  release(ip: number): HeldSegment[] {
    const pending = this.pending.get(ip);
    this.pending.delete(ip);
    return pending?.held ?? [];
  }

  /** Retries due requests; returns the next hops that never answered. */
  advanceTime(now: number, send: (frame: Uint8Array) => void): number[] {
    const failed: number[] = [];
    for (const [ip, pending] of this.pending) {
      if (now < pending.retryAt) continue;
      if (pending.attempts >= this.attempts) {
        this.pending.delete(ip);
        failed.push(ip);
        continue;
      }
      pending.attempts++;
      pending.retryAt = now + this.retryInterval;
      send(this.request(ip));
    }
    return failed;
  }

  nextDeadline(): number | undefined {
    let next: number | undefined;
    for (const pending of this.pending.values()) if (next === undefined || pending.retryAt < next) next = pending.retryAt;
    return next;
  }

  private request(targetIp: number): Uint8Array {
    return encodeArpFrame(BROADCAST_MAC, this.self.mac, {
      operation: ArpOperation.Request,
      senderMac: this.self.mac,
      senderIp: this.self.ip,
      targetMac: 0,
      targetIp,
    });
  }
}
