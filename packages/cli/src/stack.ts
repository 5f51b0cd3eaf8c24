/**
 * The part of the stack the CLI uses, as an interface: the fetch command is
 * written against it, io-pcap's `PcapStack` provides it, tests substitute it.
 */
import type { Duplex } from 'node:stream';
import type { HostEvent } from '@tcpts/core';

export interface StackOpenOptions {
  readonly iface: string;
  /** Our stack's IPv4 address, dotted quad. */
  readonly ip: string;
  readonly mac?: string;
  readonly prefixLength?: number;
  readonly gateway?: string;
  readonly mtu?: number;
  readonly traceSegments?: boolean;
  readonly onEvent?: (event: HostEvent) => void;
}

export interface ConnectOptions {
  readonly timeoutMs?: number;
}

export interface FetchStack {
  /** A connected stream; rejects with an error whose `code` is ECONNREFUSED, ECONNRESET, ETIMEDOUT or EHOSTUNREACH. */
  connect(ip: string, port: number, options?: ConnectOptions): Promise<Duplex>;
  close(): Promise<void>;
}

export type OpenStack = (options: StackOpenOptions) => Promise<FetchStack>;

interface PcapStackModule {
  readonly PcapStack: { open(options: StackOpenOptions): Promise<FetchStack> };
}

const isPcapStackModule = (value: unknown): value is PcapStackModule => {
  if (typeof value !== 'object' || value === null || !('PcapStack' in value)) return false;
  const stack: unknown = value.PcapStack;
  return (typeof stack === 'function' || typeof stack === 'object') && stack !== null && 'open' in stack && typeof stack.open === 'function';
};

/**
 * Opens io-pcap's stack. Loaded on first use so that `--help`, usage errors and
 * URL errors never load the native capture addon.
 */
export const openPcapStack: OpenStack = async (options) => {
  const specifier = '@tcpts/io-pcap';
  const loaded: unknown = await import(specifier);
  if (!isPcapStackModule(loaded)) throw new Error('@tcpts/io-pcap does not provide PcapStack.open');
  return loaded.PcapStack.open(options);
};
