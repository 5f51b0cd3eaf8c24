import {
  ArpOperation,
  type Host,
  type HostConfig,
  type TcpConfig,
  type TcpSegment,
  createHost,
  decodeArp,
  decodeEthernet,
  decodeIcmp,
  decodeIpv4,
  decodeTcp,
  encodeArpFrame,
  EtherType,
  formatDecodeError,
  formatTcpFlags as coreFormatTcpFlags,
  formatTcpOptions,
  formatIpv4,
  IpProtocol,
} from '@tcpts/core';
import type { LinkFaults } from '../faults.js';
import type { SimHost } from '../sim-host.js';
import { Simulation } from '../simulation.js';
import type { RunResult } from '../simulation.js';
import type { TraceEntry } from '../tracer.js';

/**
 * Helpers for the whole-stack tests in this folder: two real hosts of the core
 * on one simulated link, frames described with the core's own decoders, and
 * failures that carry what is needed to replay them.
 */

export const MAC_A = 0x02_00_00_00_00_0a;
export const MAC_B = 0x02_00_00_00_00_0b;
/** 198.18.0.1 and 198.18.0.2 (RFC 2544 benchmarking space). */
export const IP_A = 0xc6_12_00_01;
export const IP_B = 0xc6_12_00_02;
/** An on-link address no host answers ARP for. */
export const IP_NOBODY = 0xc6_12_00_63;
export const PREFIX_LENGTH = 24;

// ---------------------------------------------------------------- frame text

/** `SYN,ACK`, `FIN,PSH,ACK`, … in a fixed order; `none` for a segment without flags. */
export const formatTcpFlags = coreFormatTcpFlags;

/** `SYN 49152>80 seq=… ack=… win=… len=…`, then the options present: `<mss 1460,ws 7,sackOK,ts 5/0>`. */
export const describeSegment = (segment: TcpSegment): string => {
  const shownOptions = formatTcpOptions(segment.options);
  return (
    `${formatTcpFlags(segment.flags)} ${segment.srcPort}>${segment.dstPort} seq=${segment.seq} ack=${segment.ack} ` +
    `win=${segment.window} len=${segment.payload.length}${shownOptions}`
  );
};

/**
 * One line for an Ethernet frame, decoded by the core layer by layer; a frame a
 * decoder refuses (a corrupted copy, typically) is shown with the refusal.
 */
export const describeFrame = (frame: Uint8Array): string => {
  const ethernet = decodeEthernet(frame);
  if (ethernet._tag === 'Left') return `undecodable (${formatDecodeError(ethernet.left)})`;
  const eth = ethernet.right;
  if (eth.etherType === EtherType.ARP) {
    const arp = decodeArp(eth.payload);
    if (arp._tag === 'Left') return `ARP undecodable (${formatDecodeError(arp.left)})`;
    const packet = arp.right;
    return packet.operation === ArpOperation.Request
      ? `ARP who-has ${formatIpv4(packet.targetIp)} tell ${formatIpv4(packet.senderIp)}`
      : `ARP ${formatIpv4(packet.senderIp)} is-at ${packet.senderMac.toString(16).padStart(12, '0')}`;
  }
  if (eth.etherType !== EtherType.IPv4) return `ethertype 0x${eth.etherType.toString(16)} (${frame.length} B)`;
  const ipv4 = decodeIpv4(eth.payload);
  if (ipv4._tag === 'Left') return `IPv4 undecodable (${formatDecodeError(ipv4.left)})`;
  const ip = ipv4.right;
  if (ip.protocol === IpProtocol.TCP) {
    const tcp = decodeTcp(ip.payload, ip.src, ip.dst);
    return tcp._tag === 'Left' ? `TCP undecodable (${formatDecodeError(tcp.left)})` : describeSegment(tcp.right);
  }
  if (ip.protocol === IpProtocol.ICMP) {
    const icmp = decodeIcmp(ip.payload);
    if (icmp._tag === 'Left') return `ICMP undecodable (${formatDecodeError(icmp.left)})`;
    const message = icmp.right;
    return message.kind === 'other'
      ? `ICMP type ${message.type} code ${message.code}`
      : `ICMP ${message.kind} id=${message.identifier} seq=${message.sequence} len=${message.data.length}`;
  }
  return `IPv4 protocol ${ip.protocol} ${formatIpv4(ip.src)}>${formatIpv4(ip.dst)}`;
};

/** `12.345 ms a→b SYN seq=… ack=… win=… len=… [lost]`: one line per frame on the link. */
export const formatSegmentTrace = (entries: readonly TraceEntry[]): string =>
  entries
    .map((entry) => {
      const fate = entry.fault !== undefined ? ` [${entry.fault}]` : '';
      const time = `${entry.time.toFixed(3)} ms`.padStart(14);
      return `${time} ${entry.from}→${entry.to} ${entry.description}${fate}`;
    })
    .join('\n');

// ---------------------------------------------------------------- two hosts

export interface PairOptions {
  readonly seed: number;
  readonly faults?: LinkFaults;
  /** TCP tunables of both hosts; `tcpA`/`tcpB` override per host. */
  readonly tcp?: Partial<TcpConfig>;
  readonly tcpA?: Partial<TcpConfig>;
  readonly tcpB?: Partial<TcpConfig>;
  readonly mtu?: number;
  /** Frames kept for the failure trace (default 4096; 0 for runs that only measure). */
  readonly traceLimit?: number;
  /**
   * Let each host learn the other's MAC before the run, as if each had heard the
   * other's ARP request. Tests that put heavy loss on the link use it so that the
   * loss budget is spent on TCP rather than on ARP's three attempts.
   */
  readonly knownNeighbours?: boolean;
  /**
   * Both devices offload TCP checksums as the packet ring does: the hosts leave
   * them to the device when sending and trust its verdict when receiving.
   */
  readonly checksumOffload?: boolean;
  /** Both devices merge the segments that arrive together, as the packet ring does (receive coalescing). */
  readonly receiveCoalescing?: boolean;
}

export interface StackPair {
  readonly sim: Simulation;
  readonly hostA: Host;
  readonly hostB: Host;
  readonly a: SimHost;
  readonly b: SimHost;
}

/** An ARP request from `sender` asking for `targetIp`, broadcast (RFC 826). */
export const arpRequestFrame = (sender: { readonly mac: number; readonly ip: number }, targetIp: number): Uint8Array =>
  encodeArpFrame(0xffff_ffff_ffff, sender.mac, {
    operation: ArpOperation.Request,
    senderMac: sender.mac,
    senderIp: sender.ip,
    targetMac: 0,
    targetIp,
  });

const hostConfig = (mac: number, ip: number, options: PairOptions, tcp: Partial<TcpConfig> | undefined, sim: Simulation): HostConfig => ({
  mac,
  ip,
  prefixLength: PREFIX_LENGTH,
  // From the simulation seed, so a run replays with its initial sequence numbers.
  isnSecret: sim.randomBytes(`isn-${mac}`, 16),
  ...(options.mtu !== undefined ? { mtu: options.mtu } : {}),
  ...(options.checksumOffload === true ? { transmitChecksumOffload: true } : {}),
  tcp: { ...options.tcp, ...tcp },
});

/** Hosts a (198.18.0.1) and b (198.18.0.2) of the core on a fresh simulated link. */
export const createPair = (options: PairOptions): StackPair => {
  const sim = new Simulation({
    seed: options.seed,
    describeFrame,
    ...(options.faults !== undefined ? { faults: options.faults } : {}),
    ...(options.traceLimit !== undefined ? { traceLimit: options.traceLimit } : {}),
  });
  const hostA = createHost(hostConfig(MAC_A, IP_A, options, options.tcpA, sim));
  const hostB = createHost(hostConfig(MAC_B, IP_B, options, options.tcpB, sim));
  const checksumOffload = options.checksumOffload === true;
  const receiveCoalescing = options.receiveCoalescing === true;
  const a = sim.addHost(hostA, MAC_A, { name: 'a', checksumOffload, receiveCoalescing });
  const b = sim.addHost(hostB, MAC_B, { name: 'b', checksumOffload, receiveCoalescing });
  if (options.knownNeighbours === true) {
    hostA.receiveFrame(arpRequestFrame({ mac: MAC_B, ip: IP_B }, IP_A), sim.now);
    hostB.receiveFrame(arpRequestFrame({ mac: MAC_A, ip: IP_A }, IP_B), sim.now);
    // Their replies go to hosts that asked nothing: nothing is learned from them, and
    // they are taken out here so they do not use up the link's random streams.
    while (hostA.pollFrame() !== undefined || hostB.pollFrame() !== undefined) {
      /* discard */
    }
  }
  return { sim, hostA, hostB, a, b };
};

// ---------------------------------------------------------------- running

/** Error text naming the seed, the virtual time and the latest frames, for replay. */
export const describeRun = (sim: Simulation, traceLines = 60): string => {
  const shown = Math.min(traceLines, sim.tracer.total, sim.tracer.limit);
  return [
    `simulation seed ${sim.seed}, virtual time ${sim.now.toFixed(3)} ms, ${sim.steps} steps`,
    `last ${shown} of ${sim.tracer.total} frames:`,
    formatSegmentTrace(sim.trace(traceLines)),
  ].join('\n');
};

export interface RunUntilOptions {
  /** Virtual time allowed from now. */
  readonly within: number;
  readonly maxSteps?: number;
  /** What was awaited, for the error message. */
  readonly what: string;
}

/** Runs until `condition` holds; throws with the trace when time or steps run out first. */
export const runUntil = (sim: Simulation, condition: () => boolean, options: RunUntilOptions): RunResult => {
  const result = sim.run({
    until: condition,
    maxTime: sim.now + options.within,
    maxSteps: options.maxSteps ?? 2_000_000,
  });
  if (result.reason !== 'until') {
    throw new Error(`not reached: ${options.what} (stopped by ${result.reason})\n${describeRun(sim)}`);
  }
  return result;
};

// ---------------------------------------------------------------- payloads

/** Deterministic bytes that differ by position and salt, so misplaced bytes show. */
export const patternBytes = (length: number, salt: number): Uint8Array => {
  const bytes = new Uint8Array(length);
  let x = (salt * 0x9e37_79b1 + 1) >>> 0;
  for (let i = 0; i < length; i++) {
    // xorshift32: cheap and without short cycles.
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    bytes[i] = x & 0xff;
  }
  return bytes;
};

/** Index of the first byte that differs (or where one array ends early), -1 when equal. */
export const firstDifference = (actual: Uint8Array, expected: Uint8Array): number => {
  const common = Math.min(actual.length, expected.length);
  for (let i = 0; i < common; i++) if (actual[i] !== expected[i]) return i;
  return actual.length === expected.length ? -1 : common;
};

// ---------------------------------------------------------------- traced segments

export interface TracedSegment {
  readonly time: number;
  readonly arrival?: number;
  readonly from: string;
  readonly to: string;
  readonly fault?: TraceEntry['fault'];
  readonly segment: TcpSegment;
}

/** The TCP segments among traced frames, decoded; frames that do not decode (corrupted copies) are left out. */
export const tracedSegments = (entries: readonly TraceEntry[]): TracedSegment[] => {
  const segments: TracedSegment[] = [];
  for (const entry of entries) {
    const ethernet = decodeEthernet(entry.frame);
    if (ethernet._tag === 'Left' || ethernet.right.etherType !== EtherType.IPv4) continue;
    const ipv4 = decodeIpv4(ethernet.right.payload);
    if (ipv4._tag === 'Left' || ipv4.right.protocol !== IpProtocol.TCP) continue;
    const tcp = decodeTcp(ipv4.right.payload, ipv4.right.src, ipv4.right.dst);
    if (tcp._tag === 'Left') continue;
    segments.push({
      time: entry.time,
      ...(entry.arrival !== undefined ? { arrival: entry.arrival } : {}),
      from: entry.from,
      to: entry.to,
      ...(entry.fault !== undefined ? { fault: entry.fault } : {}),
      segment: tcp.right,
    });
  }
  return segments;
};

/** fast-check parameters from `FC_SEED` (and `FC_PATH`): replay a run that fast-check reported. */
export const fastCheckReplay = (): { seed?: number; path?: string } => {
  const seed = process.env['FC_SEED'];
  const path = process.env['FC_PATH'];
  return {
    ...(seed !== undefined ? { seed: Number(seed) } : {}),
    ...(path !== undefined ? { path } : {}),
  };
};
