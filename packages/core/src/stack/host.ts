import { isLeft } from 'fp-ts/lib/Either.js';
import { defaultTcpConfig, type TcpConfig } from '../tcp/config.js';
import { Connection, type IcmpReport, PATH_MTU_RAISE_INTERVAL } from '../tcp/connection.js';
import type { ConnectionEvent } from '../tcp/events.js';
import { initialSequenceNumber } from '../tcp/isn.js';
import { resetFor } from '../tcp/reset.js';
import { BROADCAST_MAC, isInPrefix, formatIpv4, prefixMask } from '../wire/addresses.js';
import { ArpOperation, arpReplyFor, decodeArp } from '../wire/arp.js';
import { allocateBytes } from '../wire/bytes.js';
import { formatDecodeError } from '../wire/decode-error.js';
import {
  ETHERNET_HEADER_LENGTH,
  EtherType,
  ethernetHeaderError,
  readEtherType,
  readEthernetDst,
  readEthernetSrc,
} from '../wire/ethernet.js';
import { encodeArpFrame, encodeIcmpFrame, encodeTcpFrame, type FrameAddressing, tcpFrameLength } from '../wire/frame.js';
import { type FlowAddressing, FrameHeaderTemplate } from '../wire/frame-template.js';
import {
  classifyIcmpError,
  decodeIcmp,
  echoReplyFor,
  type IcmpErrorClass,
  type IcmpOther,
  isIcmpErrorDatagram,
  nextHopMtu,
  quotedTcpSegment,
  reassemblyTimeExceeded,
} from '../wire/icmp.js';
import { fragmentFrame, fragmentPayloadFor } from '../wire/ipv4-fragment.js';
import {
  IPV4_HEADER_LENGTH,
  IpProtocol,
  ipv4HeaderError,
  ipv4PayloadEnd,
  ipv4PayloadStart,
  readIpv4Dst,
  readIpv4FragmentOffset,
  readIpv4Identification,
  readIpv4MoreFragments,
  readIpv4Protocol,
  readIpv4Src,
} from '../wire/ipv4.js';
import { isPartialTcpChecksum, PARTIAL_CHECKSUM_REASON } from '../wire/offload.js';
import { decodeTcpAt, type TcpChecksumMode } from '../wire/tcp.js';
import type { TcpSegment } from '../wire/tcp-types.js';
import { TcpFlag } from '../wire/tcp-types.js';
import { ArpResolver } from './arp-resolver.js';
import { ChunkPool, DeliveryBuffer } from './delivery-buffer.js';
import { Fifo } from './fifo.js';
import { type ExpiredDatagram, Ipv4Reassembler } from './ipv4-reassembly.js';
import { ServiceQueue } from './service-queue.js';
import {
  emptyHostStats,
  type HostConfig,
  type HostEvent,
  type HostStats,
  type NetworkHost,
  FrameCheck,
  type FrameChecks,
  type SendOptions,
  type SocketId,
  StackError,
} from './host-types.js';

const DEFAULT_MTU = 1500;
/** RFC 4987 §3.4: half-open connections a listener keeps (see `HostConfig.maxHalfOpen`). */
const DEFAULT_MAX_HALF_OPEN = 1024;
const IPV4_TCP_HEADERS = 40;
const DEFAULT_TTL = 64;
/** RFC 1191 §6.3: how long a lowered path MTU stands before the link's is tried again, as a connection's does. */
const PATH_MTU_LIFETIME = PATH_MTU_RAISE_INTERVAL;
/** Destinations whose path MTU is remembered; the oldest goes first. */
const MAX_PATH_MTUS = 1024;

interface ConnectionEntry {
  readonly id: SocketId;
  readonly connection: Connection;
  readonly remoteIp: number;
  readonly remotePort: number;
  readonly localPort: number;
  /** The listener that spawned it: the application hears of it only once it is established. */
  readonly listener: SocketId | undefined;
  /** Ethernet address of the next hop, once known. */
  nextHopMac: number | undefined;
  /** The headers of this connection's frames to `nextHopMac`, made at its first frame there. */
  frameHeaders: FrameHeaderTemplate | undefined;
  readonly nextHopIp: number;
  /** The application has been told about this socket. */
  announced: boolean;
  /** Last congestion state reported in a 'congestion' event, as "cwnd/ssthresh/srtt". */
  reportedCongestion: string;
  /** Place among the connections that may have something to send (see `ServiceQueue`). */
  queueSlot: number;
}

/**
 * A whole IPv4 host over Ethernet: ARP, ICMP echo, and TCP connections keyed
 * by their 4-tuple. Pure and sans-I/O: the adapters feed it frames and time.
 */
export class Host implements NetworkHost {
  readonly stats: HostStats = emptyHostStats();

  private readonly mac: number;
  private readonly ip: number;
  private readonly prefixLength: number;
  private readonly gateway: number | undefined;
  private readonly mtu: number;
  private readonly tcpConfig: TcpConfig;
  private readonly isnSecret: Uint8Array;
  private readonly traceSegments: boolean;
  /** How TCP frames leave: complete, or for the device to finish (transmit checksum offload). */
  private readonly tcpChecksumMode: TcpChecksumMode;
  private readonly inspect: HostConfig['inspect'];
  private now = 0;
  private nextSocketId = 1;
  private nextEphemeralPort: number;
  private ipIdentification = 0;
  /** Path MTUs learned from "fragmentation needed" (RFC 1191), by destination, in order of learning. */
  private readonly pathMtus = new Map<number, { readonly mtu: number; readonly learnedAt: number }>();

  /** localPort → (remoteIp·65536 + remotePort) → connection. */
  private readonly byTuple = new Map<number, Map<number, ConnectionEntry>>();
  private readonly sockets = new Map<SocketId, ConnectionEntry>();
  private readonly listeners = new Map<number, SocketId>();
  private readonly listenerPorts = new Map<SocketId, number>();
  /** Each listener's half-open forks, oldest first. */
  private readonly halfOpen = new Map<SocketId, Set<ConnectionEntry>>();
  private readonly maxHalfOpen: number;
  /** Connections that may have something to send. */
  private readonly dirty = new ServiceQueue<ConnectionEntry>();
  private readonly frames = new Fifo<Uint8Array>();
  private readonly events = new Fifo<HostEvent>();
  /** Each connection's delivery buffer, for its life: text is reported as late as possible, so bursts coalesce. */
  private readonly deliveryBuffers = new Map<SocketId, DeliveryBuffer>();
  /** Sockets whose delivery buffer holds bytes not yet reported. */
  private readonly undelivered = new Set<SocketId>();
  /** Memory for delivered bytes, shared by every connection and reused once released. */
  private readonly deliveryChunks = new ChunkPool();
  private readonly arp: ArpResolver;
  /** IPv4 datagrams that arrived in fragments, until they are whole (RFC 1122 §3.3.2). */
  private readonly reassembler = new Ipv4Reassembler();

  constructor(config: HostConfig) {
    this.mac = config.mac;
    this.ip = config.ip >>> 0;
    this.prefixLength = config.prefixLength;
    this.gateway = config.gateway;
    this.mtu = config.mtu ?? DEFAULT_MTU;
    this.maxHalfOpen = Math.max(1, config.maxHalfOpen ?? DEFAULT_MAX_HALF_OPEN);
    this.tcpConfig = {
      ...defaultTcpConfig,
      mss: Math.min(config.tcp?.mss ?? defaultTcpConfig.mss, this.mtu - IPV4_TCP_HEADERS),
      ...config.tcp,
      ...(config.congestion ? { congestion: config.congestion } : {}),
    };
    if (this.tcpConfig.mss > this.mtu - IPV4_TCP_HEADERS) {
      this.tcpConfig = { ...this.tcpConfig, mss: this.mtu - IPV4_TCP_HEADERS };
    }
    this.isnSecret = config.isnSecret;
    this.traceSegments = config.traceSegments ?? false;
    this.tcpChecksumMode = config.transmitChecksumOffload === true ? 'pseudo-header' : 'full';
    this.inspect = config.inspect;
    this.nextEphemeralPort = config.ephemeralPortStart ?? randomizedPortStart(config.isnSecret);
    this.arp = new ArpResolver(
      { mac: this.mac, ip: this.ip },
      config.arpCacheLifetime === undefined ? {} : { cacheLifetime: config.arpCacheLifetime },
    );
  }

  // ------------------------------------------------------------ outputs

  pollFrame(): Uint8Array | undefined {
    for (;;) {
      const frame = this.frames.take();
      if (frame) {
        this.stats.framesOut++;
        return frame;
      }
      const entry = this.dirty.first();
      if (entry === undefined) return undefined;
      this.serviceOne(entry);
    }
  }

  pollFrameInto(buffer: Uint8Array, offset = 0): number {
    if (buffer.length - offset < this.mtu + ETHERNET_HEADER_LENGTH) {
      throw new StackError('invalid-argument', `pollFrameInto needs room for ${this.mtu + ETHERNET_HEADER_LENGTH} bytes`);
    }
    for (;;) {
      const frame = this.frames.take();
      if (frame) {
        this.stats.framesOut++;
        buffer.set(frame, offset);
        return frame.length;
      }
      const entry = this.dirty.first();
      if (entry === undefined) return 0;
      // A segment whose next hop is known is encoded straight into the buffer: no frame of its own.
      const written = this.serviceOne(entry, buffer, offset);
      if (written > 0) {
        this.stats.framesOut++;
        return written;
      }
    }
  }

  pollEvent(): HostEvent | undefined {
    return this.events.take() ?? this.takeDelivered();
  }

  release(data: Uint8Array): void {
    this.deliveryChunks.release(data);
  }

  nextDeadline(): number | undefined {
    let next = this.arp.nextDeadline();
    if (this.reassembler.size > 0) {
      const at = this.reassembler.nextDeadline();
      if (at !== undefined && (next === undefined || at < next)) next = at;
    }
    for (const entry of this.sockets.values()) {
      const at = entry.connection.nextDeadline();
      if (at !== undefined && (next === undefined || at < next)) next = at;
    }
    return next;
  }

  socketState(socket: SocketId): string | undefined {
    if (this.listenerPorts.has(socket)) return 'LISTEN';
    return this.sockets.get(socket)?.connection.state;
  }

  localPort(socket: SocketId): number | undefined {
    return this.listenerPorts.get(socket) ?? this.sockets.get(socket)?.localPort;
  }

  /** The connection behind a socket, for inspection (cwnd, RTT, the machine's snapshot). */
  connectionOf(socket: SocketId): Connection | undefined {
    return this.sockets.get(socket)?.connection;
  }

  // ------------------------------------------------------------ user calls

  connect(remoteIp: number, remotePort: number, now: number, localPort?: number): SocketId {
    this.now = now;
    remoteIp >>>= 0;
    if (!Number.isInteger(remotePort) || remotePort < 1 || remotePort > 65535) {
      throw new StackError('invalid-argument', `port ${remotePort} is not in 1–65535`);
    }
    const nextHopIp = this.nextHopFor(remoteIp);
    const port = localPort ?? this.allocateEphemeralPort(remoteIp, remotePort);
    if (this.lookup(port, remoteIp, remotePort)) {
      throw new StackError('port-in-use', `a connection ${port} → ${formatIpv4(remoteIp)}:${remotePort} exists`);
    }
    const entry = this.addConnection(remoteIp, remotePort, port, nextHopIp, undefined);
    entry.announced = true;
    entry.connection.open('active', now);
    this.afterInput(entry);
    return entry.id;
  }

  listen(port: number, now: number): SocketId {
    this.now = now;
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new StackError('invalid-argument', `port ${port} is not in 1–65535`);
    }
    if (this.listeners.has(port)) throw new StackError('port-in-use', `port ${port} is already listening`);
    const id = this.nextSocketId++;
    this.listeners.set(port, id);
    this.listenerPorts.set(id, port);
    return id;
  }

  send(socket: SocketId, data: Uint8Array, now: number, options?: SendOptions): number {
    const entry = this.entryOf(socket);
    this.now = now;
    const accepted = entry.connection.send(data, now, options?.urgent === true);
    this.afterInput(entry);
    return accepted;
  }

  consume(socket: SocketId, bytes: number, now: number): void {
    const entry = this.sockets.get(socket);
    if (!entry) return; // data of a connection that is gone: nothing to reopen
    this.now = now;
    entry.connection.consume(bytes, now);
    this.afterInput(entry);
  }

  close(socket: SocketId, now: number): void {
    this.now = now;
    const port = this.listenerPorts.get(socket);
    if (port !== undefined) {
      this.listenerPorts.delete(socket);
      this.listeners.delete(port);
      this.pushEvent({ type: 'closed', socket });
      return;
    }
    const entry = this.sockets.get(socket);
    if (!entry) return;
    entry.connection.close(now);
    this.afterInput(entry);
  }

  abort(socket: SocketId, now: number): void {
    this.now = now;
    if (this.listenerPorts.has(socket)) return this.close(socket, now);
    const entry = this.sockets.get(socket);
    if (!entry) return;
    entry.connection.abort(now);
    this.afterInput(entry);
  }

  // ------------------------------------------------------------ inputs

  advanceTime(now: number): void {
    this.now = now;
    for (const failed of this.arp.advanceTime(now, (frame) => this.queueFrame(frame))) this.unreachable(failed);
    if (this.reassembler.size > 0) {
      // RFC 1122 §3.3.2: an incomplete datagram is discarded when its timer runs out, and its
      // source told with a Time Exceeded if fragment zero arrived (it is what the message quotes).
      for (const expired of this.reassembler.expire(now)) {
        this.drop('ipv4.reassembly: timeout');
        this.reportReassemblyTimeout(expired);
      }
    }
    for (const entry of [...this.sockets.values()]) {
      const at = entry.connection.nextDeadline();
      if (at !== undefined && at <= now) {
        entry.connection.handleTimeout(now);
        this.afterInput(entry);
      }
    }
  }

  receiveFrame(frame: Uint8Array, now: number, checked: FrameChecks = FrameCheck.none, segmentSize = 0): void {
    this.now = now;
    this.stats.framesIn++;
    // Each layer is checked and read in place: no decoded object and no view per layer, per frame.
    const ethernetError = ethernetHeaderError(frame);
    if (ethernetError !== undefined) return this.drop(formatDecodeError(ethernetError));
    const dstMac = readEthernetDst(frame);
    if (dstMac !== this.mac && dstMac !== BROADCAST_MAC) return this.drop('ethernet: not for us');
    const etherType = readEtherType(frame);
    if (etherType === EtherType.ARP) return this.receiveArp(frame.subarray(ETHERNET_HEADER_LENGTH));
    if (etherType !== EtherType.IPv4) return this.drop('ethernet.etherType: not IPv4 or ARP');

    // Packets above the MTU are what segmentation offload hands a capture; the reason says so.
    const ip = ETHERNET_HEADER_LENGTH;
    // A merged frame is larger by design: only the datagram's own limit applies to it.
    const ipError = ipv4HeaderError(frame, ip, frame.length, segmentSize > 0 ? undefined : this.mtu);
    // A fragment is refused last, once the header is known to be sound: unfragmented packets pay nothing for it.
    if (ipError !== undefined && ipError.field !== 'fragment') return this.drop(formatDecodeError(ipError));
    const srcIp = readIpv4Src(frame, ip);
    const dstIp = readIpv4Dst(frame, ip);
    if (dstIp !== this.ip) return this.drop('ipv4.dst: not our address');
    if (ipError !== undefined) return this.receiveFragment(frame, ip, srcIp, dstIp);
    const protocol = readIpv4Protocol(frame, ip);
    const start = ipv4PayloadStart(frame, ip);
    const end = ipv4PayloadEnd(frame, ip);
    const checksumChecked = (checked & FrameCheck.tcpChecksum) !== 0;
    this.receivePayload(frame, start, end, protocol, srcIp, dstIp, readEthernetSrc(frame), checksumChecked, segmentSize);
  }

  // ------------------------------------------------------------ internals

  /** The payload of a whole datagram at `bytes[start..end)`, received in one frame or reassembled. */
  private receivePayload(
    bytes: Uint8Array,
    start: number,
    end: number,
    protocol: number,
    srcIp: number,
    dstIp: number,
    srcMac: number,
    tcpChecksumChecked = false,
    segmentSize = 0,
  ): void {
    if (protocol === IpProtocol.ICMP) return this.receiveIcmp(srcIp, srcMac, bytes.subarray(start, end));
    if (protocol !== IpProtocol.TCP) return this.drop('ipv4.protocol: not TCP or ICMP');

    const tcp = decodeTcpAt(bytes, start, end, srcIp, dstIp, tcpChecksumChecked);
    if (isLeft(tcp)) {
      if (tcp.left.field === 'checksum' && isPartialTcpChecksum(bytes.subarray(start, end), srcIp, dstIp)) {
        return this.drop(`tcp.checksum: ${PARTIAL_CHECKSUM_REASON}`);
      }
      return this.drop(formatDecodeError(tcp.left));
    }
    this.receiveSegment(tcp.right, srcIp, srcMac, segmentSize);
  }

  /** A fragment for us goes to the reassembler; a datagram it completes is processed like any other (RFC 791 §3.2). */
  private receiveFragment(frame: Uint8Array, ip: number, srcIp: number, dstIp: number): void {
    const result = this.reassembler.accept(
      {
        src: srcIp,
        dst: dstIp,
        protocol: readIpv4Protocol(frame, ip),
        identification: readIpv4Identification(frame, ip),
        offset: readIpv4FragmentOffset(frame, ip),
        moreFragments: readIpv4MoreFragments(frame, ip),
        payload: frame.subarray(ipv4PayloadStart(frame, ip), ipv4PayloadEnd(frame, ip)),
        header: frame.subarray(ip, ipv4PayloadStart(frame, ip)),
        // RFC 1122 §3.2.2: no ICMP error about a datagram sent to a link-layer broadcast.
        ...(readEthernetDst(frame) === BROADCAST_MAC ? {} : { replyTo: readEthernetSrc(frame) }),
      },
      this.now,
    );
    if (result.kind === 'dropped') return this.drop(`ipv4.reassembly: ${result.reason}`);
    if (result.kind !== 'complete') return;
    this.receivePayload(result.payload, 0, result.payload.length, result.protocol, srcIp, dstIp, readEthernetSrc(frame));
  }

  /** Time Exceeded, code 1, to the source of a datagram that timed out, where RFC 1122 §3.2.2 allows an ICMP error. */
  private reportReassemblyTimeout({ src, quote, replyTo }: ExpiredDatagram): void {
    if (quote === undefined || replyTo === undefined || !this.isSingleHost(src) || isIcmpErrorDatagram(quote)) return;
    this.stats.timeExceededSent++;
    this.queueFrame(encodeIcmpFrame(this.addressingTo(replyTo, src), reassemblyTimeExceeded(quote)));
  }

  /** RFC 1122 §3.2.2: an ICMP error goes only to an address that names one host. */
  private isSingleHost(ip: number): boolean {
    const first = ip >>> 24;
    if (ip === 0 || first === 127 || first >= 224) return false; // unspecified, loopback, multicast and class E, broadcast
    // Our subnet's broadcast address; a /31 or /32 has none (RFC 3021).
    const hostBits = ~prefixMask(this.prefixLength) >>> 0;
    const subnetBroadcast = this.prefixLength <= 30 && isInPrefix(ip, this.ip, this.prefixLength) && ((ip & hostBits) >>> 0) === hostBits;
    return !subnetBroadcast;
  }

  private receiveArp(payload: Uint8Array): void {
    const decoded = decodeArp(payload);
    if (isLeft(decoded)) return this.drop(formatDecodeError(decoded.left));
    const packet = decoded.right;
    const resolved = this.arp.learn(packet.senderIp, packet.senderMac, packet.targetIp === this.ip, this.now);
    this.useNextHopMac(packet.senderIp, packet.senderMac);
    if (resolved) this.releaseHeld(packet.senderIp, packet.senderMac);
    if (packet.operation === ArpOperation.Request && packet.targetIp === this.ip) {
      this.stats.arpRepliesSent++;
      this.queueFrame(encodeArpFrame(packet.senderMac, this.mac, arpReplyFor(packet, this.mac)));
    }
  }

  /**
   * RFC 826's merge for the next hops connections keep: an ARP packet from `ip`
   * gives every connection through it that MAC, whether it was waiting for the
   * answer or a neighbour announces another card (a gratuitous ARP after a
   * failover), instead of their talking to the old one.
   */
  private useNextHopMac(ip: number, mac: number): void {
    for (const entry of this.sockets.values()) if (entry.nextHopIp === ip) entry.nextHopMac = mac;
  }

  private receiveIcmp(srcIp: number, srcMac: number, payload: Uint8Array): void {
    const decoded = decodeIcmp(payload);
    if (isLeft(decoded)) return this.drop(formatDecodeError(decoded.left));
    const message = decoded.right;
    if (message.kind === 'other') {
      const severity = classifyIcmpError(message.type, message.code);
      if (severity !== undefined) return this.receiveIcmpError(srcIp, message, severity);
    }
    if (message.kind !== 'echo-request') return this.drop('icmp: not an echo request');
    this.stats.echoRepliesSent++;
    const reply = encodeIcmpFrame(this.addressingTo(srcMac, srcIp), echoReplyFor(message));
    // A reassembled request can be larger than the link, and RFC 1122 §3.2.2.6 wants all its data
    // back: such a reply leaves in fragments (the only datagrams we fragment; TCP keeps to the MSS).
    for (const frame of fragmentFrame(reply, fragmentPayloadFor(this.mtu, IPV4_HEADER_LENGTH))) this.queueFrame(frame);
  }

  /** RFC 9293 §3.9.2.2 (MUST-48): an ICMP error goes to the connection whose segment it quotes. */
  private receiveIcmpError(srcIp: number, message: IcmpOther, severity: IcmpErrorClass): void {
    if (severity === 'source-quench') return this.drop('icmp: source quench (ignored, RFC 6633)');
    const quoted = quotedTcpSegment(message.body);
    if (quoted === undefined || quoted.src !== this.ip) return this.drop('icmp: error quoting no TCP segment of ours');
    const entry = this.lookup(quoted.srcPort, quoted.dst, quoted.dstPort);
    if (entry === undefined) return this.drop('icmp: error for no connection');
    const mtu = severity === 'packet-too-big' ? nextHopMtu(message.body, quoted.datagramLength) : 0;
    // A packet that would have fit was not dropped for its size: the report is forged or broken (RFC 5927 §7).
    if (severity === 'packet-too-big' && mtu >= quoted.datagramLength) {
      return this.drop('icmp: fragmentation needed for a packet that fits');
    }
    const report: IcmpReport =
      severity === 'packet-too-big' ? { kind: severity, seq: quoted.seq, mtu } : { kind: severity, seq: quoted.seq };
    if (!entry.connection.handleIcmpError(report, this.now)) {
      return this.drop('icmp: error quoting no segment in flight (RFC 5927)');
    }
    if (report.kind === 'packet-too-big') this.learnPathMtu(quoted.dst, report.mtu);
    if (entry.announced) {
      this.pushEvent({
        type: 'icmp-error',
        socket: entry.id,
        from: srcIp,
        icmpType: message.type,
        code: message.code,
        ...(report.kind === 'packet-too-big' ? { mtu: report.mtu } : {}),
      });
    }
    this.afterInput(entry);
  }

  private receiveSegment(seg: TcpSegment, srcIp: number, srcMac: number, segmentSize = 0): void {
    const entry = this.lookup(seg.dstPort, srcIp, seg.srcPort);
    if (entry) {
      entry.nextHopMac ??= srcMac;
      this.trace(entry, 'in', seg);
      entry.connection.handleSegment(seg, this.now, segmentSize);
      this.afterInput(entry);
      return;
    }
    const listener = this.listeners.get(seg.dstPort);
    if (listener !== undefined && seg.flags & TcpFlag.SYN && !(seg.flags & (TcpFlag.ACK | TcpFlag.RST))) {
      const forked = this.addConnection(srcIp, seg.srcPort, seg.dstPort, this.nextHopFor(srcIp), listener);
      this.admitHalfOpen(listener, forked);
      forked.nextHopMac = srcMac;
      this.trace(forked, 'in', seg);
      forked.connection.open('passive', this.now);
      forked.connection.handleSegment(seg, this.now);
      this.afterInput(forked);
      return;
    }
    // No connection (§3.10.7.1), or a listener and no SYN (§3.10.7.2): answer with a reset.
    if (listener !== undefined && !(seg.flags & TcpFlag.ACK)) return this.drop('tcp: no SYN for a listener');
    const reset = resetFor(seg);
    this.drop('tcp: no connection');
    if (!reset) return;
    this.stats.resetsSent++;
    this.queueFrame(this.tcpFrame(srcMac, srcIp, reset));
  }

  /** Polls one segment of `entry` and sends it (see `transmit`); 0 when it had none. */
  private serviceOne(entry: ConnectionEntry, into?: Uint8Array, offset = 0): number {
    const segment = entry.connection.pollSegment(this.now);
    if (!segment) {
      this.dirty.delete(entry);
      this.collectEvents(entry);
      return 0;
    }
    return this.transmit(entry, segment, into, offset);
  }

  /**
   * Sends a segment: written into `into` at `offset` when given (returning its
   * length), else queued as a frame of its own or held for ARP (returning 0).
   */
  private transmit(entry: ConnectionEntry, segment: TcpSegment, into?: Uint8Array, offset = 0): number {
    this.trace(entry, 'out', segment);
    const mac = entry.nextHopMac ?? this.arp.lookup(entry.nextHopIp, this.now);
    if (mac === undefined) {
      // Hold the segment until ARP answers; TCP retransmits whatever does not fit.
      this.arp.hold(entry.nextHopIp, entry.remoteIp, segment, this.now, (frame) => this.queueFrame(frame));
      return 0;
    }
    entry.nextHopMac = mac;
    let headers = entry.frameHeaders;
    if (headers === undefined || headers.addressing.dstMac !== mac) {
      headers = entry.frameHeaders = new FrameHeaderTemplate(this.flowTo(mac, entry.remoteIp), IpProtocol.TCP);
    }
    const identification = this.nextIpId();
    if (into !== undefined) return headers.writeTcpFrame(into, offset, identification, segment, this.tcpChecksumMode);
    const frame = allocateBytes(tcpFrameLength(segment));
    headers.writeTcpFrame(frame, 0, identification, segment, this.tcpChecksumMode);
    this.queueFrame(frame);
    return 0;
  }

  /** The segments that waited for `ip` to resolve leave for `mac`. */
  private releaseHeld(ip: number, mac: number): void {
    for (const held of this.arp.release(ip)) this.queueFrame(this.tcpFrame(mac, held.dstIp, held.segment));
  }

  private unreachable(nextHopIp: number): void {
    for (const entry of [...this.sockets.values()]) {
      if (entry.nextHopIp !== nextHopIp || entry.nextHopMac !== undefined) continue;
      if (entry.announced) this.pushEvent({ type: 'error', socket: entry.id, error: 'unreachable' });
      entry.connection.abort(this.now);
      entry.connection.pollSegment(this.now); // the RST has nowhere to go
      this.remove(entry);
      if (entry.announced) this.pushEvent({ type: 'closed', socket: entry.id });
    }
  }

  private tcpFrame(dstMac: number, dstIp: number, segment: TcpSegment): Uint8Array {
    return encodeTcpFrame(this.addressingTo(dstMac, dstIp), segment, this.tcpChecksumMode);
  }

  private addressingTo(dstMac: number, dstIp: number): FrameAddressing {
    return { ...this.flowTo(dstMac, dstIp), identification: this.nextIpId() };
  }

  private flowTo(dstMac: number, dstIp: number): FlowAddressing {
    return { srcMac: this.mac, dstMac, srcIp: this.ip, dstIp, ttl: DEFAULT_TTL };
  }

  private afterInput(entry: ConnectionEntry): void {
    this.dirty.add(entry);
    this.collectEvents(entry);
  }

  private collectEvents(entry: ConnectionEntry): void {
    const connection = entry.connection;
    if (this.traceSegments) this.reportCongestion(entry);
    for (let event = connection.pollEvent(); event; event = connection.pollEvent()) this.translate(entry, event);
    if (connection.state === 'LISTEN' && entry.listener !== undefined) {
      // A reset in SYN-RECEIVED returned the fork to LISTEN; the listener itself goes on.
      this.remove(entry);
    }
  }

  private translate(entry: ConnectionEntry, event: ConnectionEvent): void {
    const socket = entry.id;
    switch (event.type) {
      case 'state':
        if (entry.announced || this.traceSegments) {
          this.pushEvent({ type: 'state', socket, from: event.from, to: event.to, at: this.now });
        }
        return;
      case 'connected':
        if (entry.listener !== undefined && !entry.announced) {
          entry.announced = true;
          this.forgetHalfOpen(entry); // its handshake is done
          this.pushEvent({
            type: 'accepted',
            listener: entry.listener,
            socket,
            remoteIp: entry.remoteIp,
            remotePort: entry.remotePort,
          });
        }
        this.pushEvent({ type: 'connected', socket });
        return;
      case 'closed':
        // Its last words first: the RST of an abort (§3.10.5) is still waiting to be polled.
        for (let segment = entry.connection.pollSegment(this.now); segment; segment = entry.connection.pollSegment(this.now)) {
          this.transmit(entry, segment);
        }
        this.remove(entry);
        if (entry.announced) this.pushEvent({ type: 'closed', socket });
        return;
      case 'error':
        if (entry.announced) this.pushEvent({ type: 'error', socket, error: event.error });
        return;
      case 'data':
        this.deliver(socket, event.data);
        return;
      case 'urgent':
        this.pushEvent({ type: 'urgent', socket, end: event.end });
        return;
      case 'writable':
        this.pushEvent({ type: 'writable', socket });
        return;
      case 'peer-closed':
        this.pushEvent({ type: 'peer-closed', socket });
        return;
      case 'black-hole':
        // RFC 4821 §5.2: what one connection found out about the path is the destination's, as an ICMP report is.
        this.learnPathMtu(entry.remoteIp, event.pathMtu);
        if (entry.announced) this.pushEvent({ type: 'black-hole', socket, pathMtu: event.pathMtu });
        return;
      case 'path-mtu-raised':
        if (entry.announced) this.pushEvent({ type: 'path-mtu-raised', socket, pathMtu: event.pathMtu });
        return;
    }
  }

  private reportCongestion(entry: ConnectionEntry): void {
    const c = entry.connection;
    const srtt = c.smoothedRtt;
    const key = `${c.congestionWindow}/${c.slowStartThreshold}/${srtt === undefined ? '' : Math.round(srtt)}`;
    if (key === entry.reportedCongestion || !c.isSynchronizedState) return;
    entry.reportedCongestion = key;
    this.pushEvent({
      type: 'congestion',
      socket: entry.id,
      cwnd: c.congestionWindow,
      ssthresh: c.slowStartThreshold,
      srtt,
      rto: c.retransmissionTimeout,
      at: this.now,
    });
  }

  private trace(entry: ConnectionEntry, direction: 'in' | 'out', segment: TcpSegment): void {
    if (!this.traceSegments) return;
    // A received payload is a view of the caller's frame, which may be reused once `receiveFrame` returns.
    const kept = direction === 'in' && segment.payload.length > 0 ? { ...segment, payload: new Uint8Array(segment.payload) } : segment;
    this.pushEvent({ type: 'segment', socket: entry.id, direction, segment: kept, at: this.now });
  }

  /** Copies received text out of the frame; it is reported by `pollEvent` once nothing else is queued. */
  private deliver(socket: SocketId, data: Uint8Array): void {
    let buffer = this.deliveryBuffers.get(socket);
    if (buffer === undefined) {
      // One per connection, for its life: a burst's few bytes go on filling the same chunk.
      buffer = new DeliveryBuffer(this.deliveryChunks);
      this.deliveryBuffers.set(socket, buffer);
    }
    buffer.append(data);
    this.undelivered.add(socket);
  }

  private takeDelivered(): HostEvent | undefined {
    // Asked first: iterating even an empty set costs an iterator, and most polls find nothing.
    if (this.undelivered.size === 0) return undefined;
    for (const socket of this.undelivered) {
      const buffer = this.deliveryBuffers.get(socket);
      const data = buffer?.take();
      if (buffer === undefined || buffer.isEmpty) this.delivered(socket);
      if (data !== undefined) return { type: 'data', socket, data };
    }
    return undefined;
  }

  /** Queues an event; text received before it on the same socket is reported first. */
  private pushEvent(event: HostEvent): void {
    if (this.undelivered.size > 0 && 'socket' in event && this.undelivered.has(event.socket)) {
      const buffer = this.deliveryBuffers.get(event.socket);
      for (let data = buffer?.take(); data !== undefined; data = buffer?.take()) {
        this.events.push({ type: 'data', socket: event.socket, data });
      }
      this.delivered(event.socket);
    }
    this.events.push(event);
  }

  /** Everything `socket` received has been reported; a buffer of a connection that is gone goes too. */
  private delivered(socket: SocketId): void {
    this.undelivered.delete(socket);
    if (!this.sockets.has(socket)) this.dropDeliveryBuffer(socket);
  }

  private dropDeliveryBuffer(socket: SocketId): void {
    this.deliveryBuffers.get(socket)?.close();
    this.deliveryBuffers.delete(socket);
  }

  /**
   * RFC 1191 §5: a path MTU is the destination's, not one connection's. Later connections
   * there start with it, for PATH_MTU_LIFETIME (§6.3: then the estimate is raised again,
   * here to the link's, in case the route changed).
   */
  private learnPathMtu(remoteIp: number, mtu: number): void {
    const known = this.pathMtuFor(remoteIp);
    if (known !== undefined && known <= mtu) return;
    this.pathMtus.delete(remoteIp);
    if (this.pathMtus.size >= MAX_PATH_MTUS) this.pathMtus.delete(this.pathMtus.keys().next().value!);
    this.pathMtus.set(remoteIp, { mtu, learnedAt: this.now });
  }

  private pathMtuFor(remoteIp: number): number | undefined {
    const known = this.pathMtus.get(remoteIp);
    if (known === undefined) return undefined;
    if (this.now - known.learnedAt < PATH_MTU_LIFETIME) return known.mtu;
    this.pathMtus.delete(remoteIp);
    return undefined;
  }

  private addConnection(
    remoteIp: number,
    remotePort: number,
    localPort: number,
    nextHopIp: number,
    listener: SocketId | undefined,
  ): ConnectionEntry {
    const iss = initialSequenceNumber(this.isnSecret, this.ip, localPort, remoteIp, remotePort, this.now);
    const pathMtu = this.pathMtuFor(remoteIp);
    const entry: ConnectionEntry = {
      id: this.nextSocketId++,
      connection: new Connection({
        localPort,
        remotePort,
        iss,
        config: this.tcpConfig,
        // Every event is collected after each input (afterInput), and text is copied out then (deliver).
        takesDataAtOnce: true,
        ...(this.inspect ? { inspect: this.inspect } : {}),
        ...(pathMtu === undefined ? {} : { pathMtu }),
      }),
      remoteIp,
      remotePort,
      localPort,
      listener,
      nextHopMac: undefined,
      frameHeaders: undefined,
      nextHopIp,
      announced: false,
      reportedCongestion: '',
      queueSlot: -1,
    };
    let peers = this.byTuple.get(localPort);
    if (!peers) this.byTuple.set(localPort, (peers = new Map()));
    peers.set(remoteIp * 65536 + remotePort, entry);
    this.sockets.set(entry.id, entry);
    return entry;
  }

  /** RFC 4987 §3.4: a listener's half-open forks are bounded; past the bound the oldest is forgotten. */
  private admitHalfOpen(listener: SocketId, forked: ConnectionEntry): void {
    let forks = this.halfOpen.get(listener);
    if (forks === undefined) this.halfOpen.set(listener, (forks = new Set()));
    forks.add(forked);
    if (forks.size <= this.maxHalfOpen) return;
    const oldest = forks.values().next().value!;
    this.remove(oldest);
    this.drop('tcp: oldest half-open connection forgotten (too many, RFC 4987 §3.4)');
  }

  private remove(entry: ConnectionEntry): void {
    if (entry.listener !== undefined) this.forgetHalfOpen(entry);
    this.sockets.delete(entry.id);
    this.dirty.delete(entry);
    // Bytes not yet reported keep the buffer until they are (see `delivered`).
    if (!this.undelivered.has(entry.id)) this.dropDeliveryBuffer(entry.id);
    const peers = this.byTuple.get(entry.localPort);
    if (peers?.get(entry.remoteIp * 65536 + entry.remotePort) === entry) {
      peers.delete(entry.remoteIp * 65536 + entry.remotePort);
      if (peers.size === 0) this.byTuple.delete(entry.localPort);
    }
  }

  private forgetHalfOpen(entry: ConnectionEntry): void {
    const forks = this.halfOpen.get(entry.listener!);
    if (forks?.delete(entry) && forks.size === 0) this.halfOpen.delete(entry.listener!);
  }

  private lookup(localPort: number, remoteIp: number, remotePort: number): ConnectionEntry | undefined {
    return this.byTuple.get(localPort)?.get(remoteIp * 65536 + remotePort);
  }

  private entryOf(socket: SocketId): ConnectionEntry {
    const entry = this.sockets.get(socket);
    if (!entry) throw new StackError('unknown-socket', `socket ${socket} is not an open connection`);
    return entry;
  }

  private nextHopFor(remoteIp: number): number {
    if (isInPrefix(remoteIp, this.ip, this.prefixLength)) return remoteIp;
    if (this.gateway === undefined) {
      throw new StackError(
        'invalid-argument',
        `${formatIpv4(remoteIp)} is not on ${formatIpv4(this.ip)}/${this.prefixLength} and no gateway is set`,
      );
    }
    return this.gateway;
  }

  private allocateEphemeralPort(remoteIp: number, remotePort: number): number {
    for (let tries = 0; tries < 16384; tries++) {
      const port = this.nextEphemeralPort;
      this.nextEphemeralPort = port >= 65535 ? 49152 : port + 1;
      if (!this.listeners.has(port) && !this.lookup(port, remoteIp, remotePort)) return port;
    }
    throw new StackError('no-ephemeral-port', 'every ephemeral port is in use');
  }

  private nextIpId(): number {
    this.ipIdentification = (this.ipIdentification + 1) & 0xffff;
    return this.ipIdentification;
  }

  private queueFrame(frame: Uint8Array): void {
    this.frames.push(frame);
  }

  private drop(reason: string): void {
    this.stats.dropped.set(reason, (this.stats.dropped.get(reason) ?? 0) + 1);
  }
}

export const createHost = (config: HostConfig): Host => new Host(config);

const EPHEMERAL_LOW = 49152;
const EPHEMERAL_COUNT = 65536 - EPHEMERAL_LOW;

/**
 * Where the search for a free ephemeral port starts: derived from the secret
 * (RFC 6056 §3.3 asks for unpredictable ports), so that two runs of a program
 * do not both start at 49152 and meet the first run's connection still in
 * TIME-WAIT at the server, which costs a SYN retransmission.
 */
function randomizedPortStart(secret: Uint8Array): number {
  let mix = 0;
  for (let i = 0; i < secret.length; i++) mix = (Math.imul(mix, 31) + secret[i]!) >>> 0;
  return EPHEMERAL_LOW + (mix % EPHEMERAL_COUNT);
}
