/**
 * The part of the stack the CLI uses, as an interface: the fetch command is
 * written against it, io-pcap's `PcapStack` provides it, tests substitute it.
 */
import type { Duplex } from 'node:stream';
import type { HostConfig, HostEvent, NetworkHost, TcpConfig } from '@tcpts/core';

export interface StackOpenOptions {
  readonly iface: string;
  /** Our stack's IPv4 address, dotted quad. */
  readonly ip: string;
  readonly mac?: string;
  readonly prefixLength?: number;
  readonly gateway?: string;
  readonly mtu?: number;
  /** How frames reach the interface (io-pcap's `CaptureKind`). */
  readonly capture?: 'libpcap' | 'packet-ring' | 'auto';
  readonly traceSegments?: boolean;
  readonly tcp?: Partial<TcpConfig>;
  readonly onEvent?: (event: HostEvent) => void;
  /** Observes every connection's XState actor (`--inspect`). */
  readonly inspect?: HostConfig['inspect'];
  /** Wraps the host the stack runs, e.g. to record it (`--record`) or keep its events (`--trace`). */
  readonly wrapHost?: (host: NetworkHost, config: HostConfig) => NetworkHost;
}

export interface ConnectOptions {
  readonly timeoutMs?: number;
}

/** What a stack counted, for the last lines of `-v` (io-pcap's `PcapStackStats` is one). */
export interface StackSummary {
  readonly framesIn: number;
  readonly framesOut: number;
  /** Reason → frames dropped for it. */
  readonly dropped: ReadonlyMap<string, number>;
  readonly device?: { readonly sendErrors: number; readonly transmitStalls: number; readonly framesCoalesced?: number };
}

export interface FetchStack {
  /** The capture frames go through, once open (what `auto` chose). */
  readonly capture?: string | undefined;
  /** Its counters so far. */
  stats?(): StackSummary;
  /** A connected stream; rejects with an error whose `code` is ECONNREFUSED, ECONNRESET, ETIMEDOUT or EHOSTUNREACH. */
  connect(ip: string, port: number, options?: ConnectOptions): Promise<Duplex>;
  close(): Promise<void>;
}

export type OpenStack = (options: StackOpenOptions) => Promise<FetchStack>;

/**
 * Opens io-pcap's stack. Loaded on first use so that `--help`, usage errors and
 * URL errors never load the native capture addon.
 */
export const openPcapStack: OpenStack = async (options) => {
  const { PcapStack } = await import('@tcpts/io-pcap');
  return PcapStack.open(options);
};
