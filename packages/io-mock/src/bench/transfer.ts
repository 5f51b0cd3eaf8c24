import { type CongestionAlgorithm, createHost, type HostConfig, type NetworkHost, type TcpConfig } from '@tcpts/core';
import type { LinkFaults } from '../faults.js';
import { Simulation } from '../simulation.js';

export interface TransferBenchOptions {
  readonly bytes: number;
  readonly faults?: LinkFaults;
  readonly seed?: number;
  readonly tcp?: Partial<TcpConfig>;
  readonly mtu?: number;
  readonly congestion?: CongestionAlgorithm;
  /** Stands between the simulation (and the receiving application) and the receiving host, e.g. to record its calls. */
  readonly wrapReceiver?: (host: NetworkHost) => NetworkHost;
  /** The receiver's device merges the segments that arrive together (receive coalescing, as the packet ring does). */
  readonly receiveCoalescing?: boolean;
}

export interface TransferBenchResult {
  readonly bytes: number;
  readonly wallMs: number;
  /** Payload megabytes (10^6) per wall-clock second: the stack's own speed. */
  readonly wallMBps: number;
  readonly virtualMs: number;
  /** Payload megabytes per virtual second: what the simulated path allowed. */
  readonly virtualMBps: number;
  readonly segmentsSent: number;
  readonly retransmissions: number;
  readonly timeouts: number;
  readonly fastRetransmits: number;
}

const A_IP = 0xc6120001;
const B_IP = 0xc6120002;

/** The configuration of the transfer's sender (A) or receiver (B). */
export function transferHostConfig(options: TransferBenchOptions, role: 'sender' | 'receiver'): HostConfig {
  return {
    prefixLength: 24,
    isnSecret: new Uint8Array(16).fill(1),
    ...(options.mtu !== undefined ? { mtu: options.mtu } : {}),
    tcp: { ...options.tcp, ...(options.congestion !== undefined ? { congestion: options.congestion } : {}) },
    ...(role === 'sender' ? { mac: 0x020000000001, ip: A_IP } : { mac: 0x020000000002, ip: B_IP }),
  };
}

/** One bulk transfer A → B over io-mock; the receiver checks every byte as it arrives. */
export function benchTransfer(options: TransferBenchOptions): TransferBenchResult {
  const chunk = new Uint8Array(1 << 20);
  for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 131 + 7) & 0xff;
  const sim = new Simulation({ seed: options.seed ?? 1, traceLimit: 0, ...(options.faults ? { faults: options.faults } : {}) });
  const hostA = createHost(transferHostConfig(options, 'sender'));
  const hostB = (options.wrapReceiver ?? ((host: NetworkHost) => host))(createHost(transferHostConfig(options, 'receiver')));
  const a = sim.addHost(hostA, 0x020000000001, { name: 'a' });
  const b = sim.addHost(hostB, 0x020000000002, { name: 'b', receiveCoalescing: options.receiveCoalescing === true });

  let received = 0;
  let mismatch = -1;
  // A raw receiver: checks bytes in place, consumes them and gives their memory back, keeping nothing.
  b.onEvent = (event) => {
    if (event.type !== 'data') return;
    const data = event.data;
    for (let i = 0; i < data.length; i += 97) {
      const at = (received + i) & (chunk.length - 1);
      if (data[i] !== chunk[at] && mismatch < 0) mismatch = received + i;
    }
    received += data.length;
    hostB.consume(event.socket, data.length, sim.clock.now);
    hostB.release(data);
  };
  hostB.listen(5001, 0);
  let sent = 0;
  let socket = -1;
  const pump = () => {
    while (sent < options.bytes) {
      const offset = sent & (chunk.length - 1);
      const n = hostA.send(socket, chunk.subarray(offset, Math.min(chunk.length, offset + options.bytes - sent)), sim.clock.now);
      if (n === 0) return;
      sent += n;
    }
  };
  a.onEvent = (event) => {
    if (event.socket !== socket) return;
    if (event.type === 'connected' || event.type === 'writable') pump();
  };
  socket = hostA.connect(B_IP, 5001, 0);

  const start = performance.now();
  const result = sim.run({ maxTime: 3_600_000, until: () => received >= options.bytes });
  const wallMs = performance.now() - start;
  if (received < options.bytes) throw new Error(`transfer stalled at ${received} of ${options.bytes} bytes (${result.reason})`);
  if (mismatch >= 0) throw new Error(`byte ${mismatch} differs`);
  const stats = hostA.connectionOf(socket)?.stats;
  return {
    bytes: received,
    wallMs,
    wallMBps: received / 1e6 / (wallMs / 1000),
    virtualMs: result.time,
    virtualMBps: result.time > 0 ? received / 1e6 / (result.time / 1000) : Infinity,
    segmentsSent: stats?.segmentsSent ?? 0,
    retransmissions: stats?.retransmissions ?? 0,
    timeouts: stats?.timeouts ?? 0,
    fastRetransmits: stats?.fastRetransmits ?? 0,
  };
}
