import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createHost, type HostEvent, type TcpConfig } from '@tcpts/core';
import { formatIpv4, parseIpv4 } from './addresses.js';
import { IoPcapError } from './errors.js';
import { emptyCounters, type DeviceCounters, type FrameDevice, type FrameReceiver } from './frame-device.js';
import { inspectFrame } from './offload-check.js';
import { requireFromPackage } from './package-require.js';
import { PcapStack } from './realtime-driver.js';

/**
 * A second device, at the IP level, over npm `raw-socket`: the stack uses the
 * machine's own address and the kernel does the routing and ARP.
 *
 * Consequence: the kernel also receives every segment sent to that address,
 * finds no socket of its own for our connections, and answers with RST
 * (RFC 9293 §3.10.7.1), killing them. Run connections from a fixed local port
 * inside `withRstSuppressed(port, …)`, which drops those RSTs with nftables.
 *
 * The host above still speaks Ethernet: this device wraps incoming IPv4
 * packets in frames between two fixed, made-up MACs and answers the host's
 * ARP requests itself (every next hop "is" the kernel).
 */

/** The MAC the host must be configured with on this device. */
export const RAW_LINK_HOST_MAC = 0x02_00_00_00_00_01;
/** The MAC this device gives every next hop. */
export const RAW_LINK_PEER_MAC = 0x02_00_00_00_00_fe;

interface RawSocket {
  on(event: 'message', listener: (packet: Buffer, source: string) => void): void;
  on(event: 'error', listener: (error?: Error) => void): void;
  send(
    buffer: Buffer,
    offset: number,
    length: number,
    address: string,
    afterSend: (error: Error | null, bytes: number) => void,
  ): void;
  setOption(level: number, option: number, value: number): void;
  close(): void;
}

interface RawSocketModule {
  createSocket(options: { protocol: number; addressFamily: number; bufferSize: number }): RawSocket;
  readonly Protocol: { readonly TCP: number };
  readonly AddressFamily: { readonly IPv4: number };
  readonly SocketLevel: { readonly IPPROTO_IP: number };
  readonly SocketOption: { readonly IP_HDRINCL: number };
}

const ETHERNET_HEADER = 14;
const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_ARP = 0x0806;

function macBytes(mac: number): number[] {
  const bytes: number[] = [];
  let rest = mac;
  for (let i = 0; i < 6; i++) {
    bytes.unshift(rest % 256);
    rest = Math.floor(rest / 256);
  }
  return bytes;
}

const HOST_MAC_BYTES = macBytes(RAW_LINK_HOST_MAC);
const PEER_MAC_BYTES = macBytes(RAW_LINK_PEER_MAC);

export interface RawIpDeviceOptions {
  /** Our (the machine's) IPv4 address as a 32-bit integer: only packets to it are delivered. */
  ip: number;
  /** IPv4 MTU of the route used, default 1500. */
  mtu?: number;
}

/**
 * The devices whose raw socket is open. npm raw-socket's native object does not
 * keep its JavaScript side alive, and an application awaiting a connection holds
 * only promises: a device nothing else refers to would be collected with its
 * socket mid-transfer, and the process would stop with nothing left to wait
 * for. Open devices are held here until they are closed.
 */
const openDevices = new Set<RawIpDevice>();

export class RawIpDevice implements FrameDevice {
  readonly counters: DeviceCounters = emptyCounters();
  readonly mtu: number;
  private receiver: FrameReceiver | undefined;
  private pending: Uint8Array[] = [];
  private flushScheduled: NodeJS.Immediate | undefined;
  private closed = false;
  private failed = false;

  private constructor(
    private readonly socket: RawSocket,
    private readonly ip: number,
    mtu: number,
  ) {
    this.mtu = mtu;
  }

  static open(options: RawIpDeviceOptions): RawIpDevice {
    let raw: RawSocketModule;
    try {
      raw = requireFromPackage('raw-socket') as RawSocketModule;
    } catch (cause) {
      throw new IoPcapError('pcap', `cannot load the raw socket binding (npm raw-socket): ${String(cause)}`, { cause });
    }
    let socket: RawSocket;
    try {
      socket = raw.createSocket({
        protocol: raw.Protocol.TCP,
        addressFamily: raw.AddressFamily.IPv4,
        bufferSize: 65_536,
      });
      // We write whole IPv4 packets, header included (raw(7)).
      socket.setOption(raw.SocketLevel.IPPROTO_IP, raw.SocketOption.IP_HDRINCL, 1);
    } catch (cause) {
      const message = cause instanceof Error ? cause.message : String(cause);
      if (/not permitted|permission|EPERM|EACCES/i.test(message)) {
        const advice = 'run as root (or with CAP_NET_RAW)';
        throw new IoPcapError('permission-denied', `cannot open a raw IP socket: ${message}; ${advice}`, { cause });
      }
      throw new IoPcapError('pcap', `cannot open a raw IP socket: ${message}`, { cause });
    }
    return new RawIpDevice(socket, options.ip, options.mtu ?? 1500);
  }

  start(receiver: FrameReceiver): void {
    this.receiver = receiver;
    if (!this.closed) openDevices.add(this);
    this.socket.on('message', (packet) => this.onPacket(packet));
    // The addon emits `error` without an argument when libuv reports the socket as failed
    // (it has then stopped polling it): fail loudly, or the process would just run dry.
    this.socket.on('error', (error?: Error) =>
      this.fail(new IoPcapError('pcap', `raw socket failed: ${error?.message ?? 'poll error'}`, { cause: error })),
    );
  }

  send(frame: Uint8Array): void {
    if (this.closed || frame.length < ETHERNET_HEADER) return;
    const etherType = ((frame[12] as number) << 8) | (frame[13] as number);
    if (etherType === ETHERTYPE_ARP) {
      this.answerArp(frame);
      return;
    }
    if (etherType !== ETHERTYPE_IPV4 || frame.length < ETHERNET_HEADER + 20) return;
    // The socket sends later, from its own queue, and the host may reuse the frame's memory: copy.
    const packet = Buffer.from(frame.subarray(ETHERNET_HEADER));
    const destination = formatIpv4(packet.readUInt32BE(16));
    this.socket.send(packet, 0, packet.length, destination, (error) => {
      if (error === null) this.counters.framesSent++;
      else this.counters.sendErrors++;
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.flushScheduled !== undefined) clearImmediate(this.flushScheduled);
    this.pending = [];
    this.socket.close();
    openDevices.delete(this);
  }

  private onPacket(view: Buffer): void {
    if (this.closed || this.failed || view.length < 20) return;
    // Raw sockets get every TCP packet for any local address; keep ours.
    if (view.readUInt32BE(16) !== this.ip) return;
    this.counters.framesReceived++;
    const frame = new Uint8Array(ETHERNET_HEADER + view.length);
    frame.set(HOST_MAC_BYTES, 0);
    frame.set(PEER_MAC_BYTES, 6);
    frame[12] = ETHERTYPE_IPV4 >> 8;
    frame[13] = ETHERTYPE_IPV4 & 0xff;
    // `view` is the socket's receive buffer, reused for the next packet: this copies.
    frame.set(view, ETHERNET_HEADER);
    const verdict = inspectFrame(frame, this.mtu);
    if (verdict !== 'ok') {
      if (verdict === 'oversized') this.counters.oversized++;
      else this.counters.partialChecksums++;
      const what =
        verdict === 'oversized' ? `a ${view.length}-byte packet above MTU ${this.mtu}` : 'a segment with an unfinished checksum';
      const advice = 'turn offloads off on the receiving interface: ethtool -K <iface> tso off gso off gro off tx off rx off';
      this.fail(new IoPcapError('offload', `received ${what}: ${advice}`));
      return;
    }
    this.enqueue(frame);
  }

  /** Every next hop is the kernel: answer the host's ARP requests (RFC 826) with the peer MAC. */
  private answerArp(request: Uint8Array): void {
    const arp = ETHERNET_HEADER;
    if (request.length < arp + 28 || request[arp + 7] !== 1) return;
    const reply = new Uint8Array(ETHERNET_HEADER + 28);
    reply.set(HOST_MAC_BYTES, 0);
    reply.set(PEER_MAC_BYTES, 6);
    reply.set([0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x02], 12);
    reply.set(PEER_MAC_BYTES, arp + 8);
    reply.set(request.subarray(arp + 24, arp + 28), arp + 14); // the address asked about
    reply.set(request.subarray(arp + 8, arp + 18), arp + 18); // the asker's MAC and address
    this.enqueue(reply);
  }

  private enqueue(frame: Uint8Array): void {
    this.pending.push(frame);
    this.flushScheduled ??= setImmediate(() => {
      this.flushScheduled = undefined;
      const batch = this.pending;
      this.pending = [];
      if (batch.length === 0 || this.closed || this.receiver === undefined) return;
      for (const frame of batch) this.receiver.frame(frame);
      this.receiver.endOfBurst();
    });
  }

  private fail(error: IoPcapError): void {
    if (this.failed) return;
    this.failed = true;
    this.pending = [];
    this.receiver?.failure(error);
  }
}

export interface RawIpStackOptions {
  /** The machine's own IPv4 address that the stack shares with the kernel. */
  ip: string;
  prefixLength?: number;
  mtu?: number;
  tcp?: Partial<TcpConfig>;
  traceSegments?: boolean;
  onEvent?: (event: HostEvent) => void;
  onFailure?: (error: IoPcapError) => void;
}

/**
 * A stack over `RawIpDevice`. The kernel routes, so every destination is
 * "on link" for the host, whose ARP requests the device answers.
 * Connect with a fixed `localPort` inside `withRstSuppressed(localPort, …)`.
 */
export function openRawIpStack(options: RawIpStackOptions): PcapStack {
  const ip = parseIpv4(options.ip, 'our address');
  const device = RawIpDevice.open({ ip, ...(options.mtu === undefined ? {} : { mtu: options.mtu }) });
  const host = createHost({
    mac: RAW_LINK_HOST_MAC,
    ip,
    prefixLength: 0,
    mtu: device.mtu,
    isnSecret: randomBytes(16),
    ...(options.tcp === undefined ? {} : { tcp: options.tcp }),
    ...(options.traceSegments === undefined ? {} : { traceSegments: options.traceSegments }),
  });
  return PcapStack.attach({
    host,
    device,
    mac: RAW_LINK_HOST_MAC,
    ip,
    prefixLength: 0,
    ...(options.onEvent === undefined ? {} : { onEvent: options.onEvent }),
    ...(options.onFailure === undefined ? {} : { onFailure: options.onFailure }),
  });
}

export interface RstSuppressionOptions {
  /** The nft program, default `nft` from PATH. */
  nft?: string;
}

/** Name of the nftables table that drops the kernel's RSTs from local port `port`. */
export const rstTableName = (port: number): string => `tcpts_rst_${port}`;

interface NftOutcome {
  /** Exit status, or the spawn error code (`ENOENT`), or null when killed. */
  code: number | string | null;
  stderr: string;
}

function runNft(nft: string, args: string[], input?: string): Promise<NftOutcome> {
  return new Promise((resolve) => {
    const child = execFile(nft, args, { timeout: 10_000, killSignal: 'SIGKILL' }, (error, _stdout, stderr) => {
      const code = error === null ? 0 : ((error as NodeJS.ErrnoException).code ?? null);
      resolve({ code: typeof code === 'number' || typeof code === 'string' ? code : null, stderr });
    });
    // A command that exits without reading its input closes the pipe: that is not an error here.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input);
  });
}

const CLEANUP_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Runs `fn` while the kernel's outgoing TCP RSTs from local port `port` are
 * dropped (an nftables table of its own, `tcpts_rst_<port>`), and always
 * removes the table afterwards: on return, on throw, on SIGINT/SIGTERM/SIGHUP
 * (then the signal is raised again) and at exit.
 */
export async function withRstSuppressed<T>(
  port: number,
  fn: () => Promise<T>,
  options: RstSuppressionOptions = {},
): Promise<T> {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new IoPcapError('invalid-address', `port ${port} is not 1–65535`);
  }
  const nft = options.nft ?? 'nft';
  const table = rstTableName(port);
  const probe = await runNft(nft, ['--version']);
  if (probe.code === 'ENOENT') {
    throw new IoPcapError(
      'pcap',
      `cannot suppress the kernel's RSTs: nftables is not installed (${nft} not found); install the nftables package`,
    );
  }
  // A table left by a run that was killed outright would otherwise collect duplicate rules.
  await runNft(nft, ['delete', 'table', 'ip', table]);
  const script =
    `table ip ${table} {\n` +
    `  chain output {\n` +
    `    type filter hook output priority 0; policy accept;\n` +
    `    tcp sport ${port} tcp flags & rst == rst counter drop\n` +
    `  }\n` +
    `}\n`;
  const added = await runNft(nft, ['-f', '-'], script);
  if (added.code !== 0) {
    const code = /not permitted|permission/i.test(added.stderr) ? 'permission-denied' : 'pcap';
    throw new IoPcapError(code, `cannot install the RST filter ${table}: ${added.stderr.trim()}`);
  }

  let removed = false;
  const removeNow = (): void => {
    if (removed) return;
    removed = true;
    try {
      execFileSync(nft, ['delete', 'table', 'ip', table], { timeout: 5_000, stdio: 'ignore' });
    } catch {
      // Already gone.
    }
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    removeNow();
    detach();
    process.kill(process.pid, signal);
  };
  const detach = (): void => {
    for (const signal of CLEANUP_SIGNALS) process.removeListener(signal, onSignal);
    process.removeListener('exit', removeNow);
  };
  for (const signal of CLEANUP_SIGNALS) process.once(signal, onSignal);
  process.once('exit', removeNow);
  try {
    return await fn();
  } finally {
    detach();
    if (!removed) {
      removed = true;
      await runNft(nft, ['delete', 'table', 'ip', table]);
    }
  }
}
