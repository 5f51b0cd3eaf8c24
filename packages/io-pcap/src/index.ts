export { IoPcapError, ConnectionFailure, type IoPcapErrorCode, type ConnectionErrorCode } from './errors.js';
export {
  PcapStack,
  type PcapStackOptions,
  type ConnectOptions,
  type PcapStackStats,
  type StackParts,
  type CaptureKind,
  type CaptureChoice,
  resolveCapture,
} from './realtime-driver.js';
export { TcpSocket } from './tcp-socket.js';
export { PcapDevice, closeCapturesOn, type PcapDeviceOptions } from './pcap-device.js';
export { PacketRingDevice, type PacketRingDeviceOptions } from './packet-ring-device.js';
export type { FrameDevice, FrameReceiver, DeviceCounters } from './frame-device.js';
export { createLab, type Lab, type LabOptions, type ExecResult, type HttpServerHandle, type HttpServerOptions } from './lab.js';
export { parseIpv4, formatIpv4, parseMac, formatMac } from './addresses.js';
export {
  RawIpDevice,
  openRawIpStack,
  withRstSuppressed,
  rstTableName,
  RAW_LINK_HOST_MAC,
  RAW_LINK_PEER_MAC,
  type RawIpDeviceOptions,
  type RawIpStackOptions,
  type RstSuppressionOptions,
} from './raw-ip-device.js';
