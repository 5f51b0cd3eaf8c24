export { SeededRng, normalizeSeed } from './rng.js';
export { VirtualClock } from './clock.js';
export { EventQueue } from './scheduler.js';
export {
  BROADCAST_MAC,
  ETHERNET_HEADER_LENGTH,
  buildEthernetFrame,
  describeEthernetFrame,
  formatMac,
  readMac,
  writeMac,
} from './ethernet.js';
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
