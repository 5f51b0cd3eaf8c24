/**
 * What the CLI asks the host system before opening the stack: which interface
 * leads to a destination, which interfaces exist, whether we may capture.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export interface RouteInfo {
  readonly iface: string;
  /** Next hop when the destination is not on-link. */
  readonly gateway?: string;
}

export interface InterfaceAddress {
  readonly address: string;
  readonly prefixLength: number;
}

/** Parses one line of `ip -o route get <dst>`, e.g. `198.18.1.1 via 10.0.0.1 dev eth0 src 10.0.0.2 uid 0`. */
export const parseRouteGet = (output: string): RouteInfo | undefined => {
  const words = output.trim().split(/\s+/);
  const after = (key: string): string | undefined => {
    const at = words.indexOf(key);
    return at === -1 ? undefined : words[at + 1];
  };
  const iface = after('dev');
  if (iface === undefined || iface === '') return undefined;
  const gateway = after('via');
  return gateway === undefined ? { iface } : { iface, gateway };
};

/** Parses `ip -o -4 addr show dev X`: every `inet a.b.c.d/len`. */
export const parseAddressList = (output: string): InterfaceAddress[] =>
  [...output.matchAll(/\binet (\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})\b/g)].map((m) => ({
    address: m[1]!,
    prefixLength: Number(m[2]),
  }));

const toNumber = (address: string): number =>
  address.split('.').reduce((value, octet) => value * 256 + Number(octet), 0);

/** Whether `a` and `b` share their first `prefixLength` bits. */
export const sameSubnet = (a: string, b: string, prefixLength: number): boolean => {
  const size = 2 ** (32 - prefixLength);
  return Math.floor(toNumber(a) / size) === Math.floor(toNumber(b) / size);
};

/** Bit 13 of the effective capability set is CAP_NET_RAW (linux/capability.h). */
const CAP_NET_RAW = 13n;

/** Parses `/proc/self/status`; undefined when the field is absent (not Linux). */
export const hasNetRawIn = (status: string): boolean | undefined => {
  const match = /^CapEff:\s*([0-9a-fA-F]+)\s*$/m.exec(status);
  if (match === null) return undefined;
  return ((BigInt(`0x${match[1]}`) >> CAP_NET_RAW) & 1n) === 1n;
};

/** Everything the fetch command needs to know about this machine; tests substitute it. */
export interface SystemProbe {
  /** The route the kernel would use towards `destination`, if `ip` can tell. */
  routeTo(destination: string): Promise<RouteInfo | undefined>;
  /** IPv4 addresses the kernel has on `iface`. */
  addressesOf(iface: string): Promise<InterfaceAddress[]>;
  /** Names of the network interfaces of this namespace. */
  interfaces(): string[];
  /** False when the process surely lacks CAP_NET_RAW; true when it has it or we cannot tell. */
  mayCapture(): boolean;
}

const runIp = (args: readonly string[]): Promise<string | undefined> =>
  new Promise((resolve) => {
    execFile('ip', args, { timeout: 3_000 }, (error, stdout) => resolve(error === null ? stdout : undefined));
  });

export const systemProbe: SystemProbe = {
  async routeTo(destination) {
    const output = await runIp(['-o', 'route', 'get', destination]);
    return output === undefined ? undefined : parseRouteGet(output);
  },
  async addressesOf(iface) {
    const output = await runIp(['-o', '-4', 'addr', 'show', 'dev', iface]);
    return output === undefined ? [] : parseAddressList(output);
  },
  interfaces() {
    try {
      return readdirSync('/sys/class/net').sort();
    } catch {
      return [];
    }
  },
  mayCapture() {
    try {
      return hasNetRawIn(readFileSync('/proc/self/status', 'utf8')) ?? true;
    } catch {
      return true;
    }
  },
};
