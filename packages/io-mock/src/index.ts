/**
 * In-memory Ethernet for whole-stack tests: hosts joined by a link with seeded
 * faults, run in virtual time.
 *
 *   runWithSeed(seed, (sim) => {
 *     sim.defaultFaults = { delay: 5, loss: 0.01 };
 *     const a = sim.addHost(createHost(configA), configA.mac, { name: 'a' });
 *     const b = sim.addHost(createHost(configB), configB.mac, { name: 'b' });
 *     b.listen(80, (socket) => { socket.onData = (data) => socket.write(data); });
 *     const client = a.connect(configB.ip, 80);
 *     client.write(payload);
 *     sim.run({ maxTime: 60_000, until: () => client.bytesReceived === payload.length });
 *   });
 *
 * A failure inside names the seed and ends with the frame trace; `sim.pcap()`
 * gives the same frames as a file for Wireshark.
 */
export { SeededRng, normalizeSeed } from './rng.js';
export { VirtualClock } from './clock.js';
export { EventQueue } from './scheduler.js';
// MAC helpers stay internal: the core exports its own under the same names.
export { buildEthernetFrame, describeEthernetFrame } from './ethernet.js';
export { FaultyChannel, emptyChannelStats, flipBit, validateFaults } from './faults.js';
export type { ChannelSink, ChannelStats, FrameFault, LinkFaults } from './faults.js';
export { MockLink } from './link.js';
export type { LinkEndpoint, LinkStats, MockLinkOptions } from './link.js';
export { FrameTracer, DEFAULT_TRACE_LIMIT, formatTrace } from './tracer.js';
export type { DescribeFrame, TraceEntry, TracerOptions } from './tracer.js';
export {
  LINKTYPE_ETHERNET,
  PCAP_MAGIC_MICROSECONDS,
  PCAP_MAGIC_NANOSECONDS,
  decodePcap,
  encodePcap,
} from './pcap-writer.js';
export type { PcapFile, PcapOptions, PcapRecord } from './pcap-writer.js';
export { MockSocket } from './socket.js';
export type { SimContext } from './socket.js';
export { SimHost } from './sim-host.js';
export { Simulation } from './simulation.js';
export type { RunOptions, RunResult, SimulationOptions } from './simulation.js';
export { SimulationFailure, annotateFailure, runWithSeed } from './run-with-seed.js';
export type { RunWithSeedOptions } from './run-with-seed.js';
