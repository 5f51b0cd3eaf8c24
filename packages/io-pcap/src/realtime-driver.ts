import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { InspectionEvent } from 'xstate';
import {
  createHost,
  describeIcmpError,
  pollFrameInto,
  type FrameChecks,
  type HostEvent,
  type HostStats,
  type NetworkHost,
  type SocketId,
  type TcpConfig,
  type HostConfig,
} from '@tcpts/core';
import { formatIpv4, formatMac, parseIpv4, parseMac, randomLocalMac, sameSubnet } from './addresses.js';
import { ConnectionFailure, IoPcapError } from './errors.js';
import type { DeviceCounters, FrameDevice } from './frame-device.js';
import { PacketRingDevice } from './packet-ring-device.js';
import { PcapDevice } from './pcap-device.js';
import { connectionFailure, TcpSocket, type SocketLink } from './tcp-socket.js';

export type CaptureKind = 'libpcap' | 'packet-ring';
/** What a caller may ask for: a kind, or `auto`, the packet ring where its addon loads and libpcap elsewhere. */
export type CaptureChoice = CaptureKind | 'auto';

export interface PcapStackOptions {
  /** Interface to capture on and send through. */
  iface: string;
  /** Our IPv4 address (dotted quad); no kernel on the link may own it. */
  ip: string;
  /** Our MAC; default: random, locally administered. */
  mac?: string;
  /** On-link prefix length, default 24. */
  prefixLength?: number;
  /** Next hop for destinations outside the prefix. */
  gateway?: string;
  /** IPv4 MTU; default: the interface's. */
  mtu?: number;
  /**
   * How frames reach the interface: `libpcap` (npm `cap`, the default, portable),
   * `packet-ring` (Linux PACKET_MMAP rings, our addon: no per-frame calls into native code,
   * checksum offload; 1.3–1.8 times as fast), or `auto` (the ring where its addon loads).
   */
  capture?: CaptureChoice;
  /** The packet ring merges runs of segments before the host sees them (see `PacketRingDeviceOptions`); default true. */
  receiveCoalescing?: boolean;
  tcp?: Partial<TcpConfig>;
  /** Have the host emit a `segment` event for every segment in and out. */
  traceSegments?: boolean;
  /** Every host event, as it is drained (for -v tracing). */
  onEvent?: (event: HostEvent) => void;
  /** The stack stopped for good (offloads on the link, interface gone, internal error). */
  onFailure?: (error: IoPcapError) => void;
  /** Observes every connection's XState actor: pass `createWebSocketInspector(...).inspect` for a live view. */
  inspect?: (event: InspectionEvent) => void;
  /** Wraps the host, e.g. in a `RecordingHost` that saves every input for replay. */
  wrapHost?: (host: NetworkHost, config: HostConfig) => NetworkHost;
}

export interface ConnectOptions {
  /** Abort and reject with ETIMEDOUT when not established within this many milliseconds. */
  timeoutMs?: number;
  /** Keep our side open after the peer's FIN (see `net.Socket`); default false. */
  allowHalfOpen?: boolean;
  /** A fixed local port instead of an ephemeral one from the host (see `withRstSuppressed`). */
  localPort?: number;
}

export type PcapStackStats = HostStats & { device: DeviceCounters };

/** `auto` is the packet ring when its addon loads here (it is built with the package), libpcap otherwise. */
export function resolveCapture(choice: CaptureChoice): CaptureKind {
  if (choice !== 'auto') return choice;
  return PacketRingDevice.available() ? 'packet-ring' : 'libpcap';
}

/** Where the driver gets its host, device and clock: `PcapStack.open` wires the real ones. */
export interface StackParts {
  host: NetworkHost;
  device: FrameDevice;
  /** Which of io-pcap's captures the device is, when it is one. */
  capture?: CaptureKind;
  mac: number;
  ip: number;
  prefixLength: number;
  gateway?: number;
  /** Milliseconds on a monotonic clock; default `performance.now`. */
  clock?: () => number;
  onEvent?: (event: HostEvent) => void;
  onFailure?: (error: IoPcapError) => void;
}

interface PendingConnect {
  socket: TcpSocket;
  resolve(socket: TcpSocket): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout | undefined;
  /** The last ICMP error the path sent about the SYN (a soft error: the open goes on until the timeout). */
  icmpError?: string;
}

/** Bound on drain rounds in one go; the rest continues on the next turn of the event loop. */
const MAX_DRAIN_ROUNDS = 10_000;
/** Frames of a burst that share one clock reading: at 1 µs a frame, the time is at most tens of µs old. */
const FRAMES_PER_CLOCK_READING = 32;
/**
 * A full send window is a few thousand frames; a host still producing after this
 * many in one round is looping, and the stack stops with an error instead of hanging.
 */
const MAX_OUTPUTS_PER_ROUND = 1_000_000;

/**
 * Binds a sans-I/O `NetworkHost` to a real device and the real clock. It adds no
 * TCP logic: frames in → `receiveFrame`; then everything the host has to say is
 * drained (frames to the device, events to the sockets); one timer is kept at
 * the host's next deadline. `now` is `performance.now()` in milliseconds.
 */
export class PcapStack {
  readonly mac: string;
  readonly ip: string;
  /** The capture frames go through (what `auto` chose), or undefined for another device. */
  readonly capture: CaptureKind | undefined;
  private readonly host: NetworkHost;
  private readonly device: FrameDevice;
  private readonly clock: () => number;
  private readonly ipValue: number;
  private readonly prefixLength: number;
  private readonly gateway: number | undefined;
  private readonly onEvent: ((event: HostEvent) => void) | undefined;
  private readonly onFailure: ((error: IoPcapError) => void) | undefined;
  private readonly sockets = new Map<SocketId, TcpSocket>();
  /** Every connection opened, until the host forgets it: `close` lets the closing ones finish. */
  private readonly opened = new Set<SocketId>();
  private readonly pending = new Map<SocketId, PendingConnect>();
  /** Sockets whose local port is read from their SYN as it leaves. */
  private readonly awaitingPort: TcpSocket[] = [];
  private timer: NodeJS.Timeout | undefined;
  private timerDeadline: number | undefined;
  private draining = false;
  /** The clock as read for the frames of a burst, and how many have used it (see `receive`). */
  private burstClock = 0;
  private framesSinceClock = 0;
  private drainAgain = false;
  private continuation: NodeJS.Immediate | undefined;
  /** The host's next deadline when it is less than a millisecond away (see `arm`). */
  private soon: NodeJS.Immediate | undefined;
  /** The last deadline the host was advanced to: one it still reports is not looked at again at once. */
  private servedDeadline: number | undefined;
  private closed = false;
  private failed: IoPcapError | undefined;
  private readonly link: SocketLink;

  private constructor(parts: StackParts) {
    this.host = parts.host;
    this.device = parts.device;
    this.capture = parts.capture;
    this.clock = parts.clock ?? (() => performance.now());
    this.ipValue = parts.ip;
    this.prefixLength = parts.prefixLength;
    this.gateway = parts.gateway;
    this.onEvent = parts.onEvent;
    this.onFailure = parts.onFailure;
    this.mac = formatMac(parts.mac);
    this.ip = formatIpv4(parts.ip);
    this.link = {
      send: (socket, data, options) => this.afterCall(this.host.send(socket, data, this.clock(), options)),
      consume: (socket, bytes) => this.afterCall(this.host.consume(socket, bytes, this.clock())),
      close: (socket) => this.afterCall(this.host.close(socket, this.clock())),
      abort: (socket) => this.afterCall(this.host.abort(socket, this.clock())),
      state: (socket) => this.host.socketState(socket),
      release: (data) => this.host.release(data),
    };
  }

  /** Opens `iface` through libpcap and starts a host on it. Rejects with `IoPcapError`. */
  static async open(options: PcapStackOptions): Promise<PcapStack> {
    const ip = parseIpv4(options.ip, 'our address');
    const mac = options.mac === undefined ? randomLocalMac() : parseMac(options.mac);
    const gateway = options.gateway === undefined ? undefined : parseIpv4(options.gateway, 'gateway');
    const prefixLength = options.prefixLength ?? 24;
    if (!Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > 32) {
      throw new IoPcapError('invalid-address', `prefix length ${prefixLength} is not 0–32`);
    }
    if (gateway !== undefined && !sameSubnet(gateway, ip, prefixLength)) {
      throw new IoPcapError('unreachable', `gateway ${options.gateway} is outside ${options.ip}/${prefixLength}`);
    }
    const deviceOptions = { iface: options.iface, mac, ...(options.mtu === undefined ? {} : { mtu: options.mtu }) };
    const capture = resolveCapture(options.capture ?? 'libpcap');
    const ringOptions = { ...deviceOptions, ...(options.receiveCoalescing === undefined ? {} : { receiveCoalescing: options.receiveCoalescing }) };
    const device: FrameDevice = capture === 'packet-ring' ? PacketRingDevice.open(ringOptions) : PcapDevice.open(deviceOptions);
    let host: NetworkHost;
    try {
      const config: HostConfig = {
        mac,
        ip,
        prefixLength,
        mtu: device.mtu,
        // RFC 6528: the secret only has to be unpredictable to others.
        isnSecret: randomBytes(16),
        ...(device.completesTcpChecksums === true ? { transmitChecksumOffload: true } : {}),
        ...(gateway === undefined ? {} : { gateway }),
        ...(options.tcp === undefined ? {} : { tcp: options.tcp }),
        ...(options.traceSegments === undefined ? {} : { traceSegments: options.traceSegments }),
        ...(options.inspect === undefined ? {} : { inspect: options.inspect }),
      };
      const created = createHost(config);
      host = options.wrapHost ? options.wrapHost(created, config) : created;
    } catch (error) {
      device.close();
      throw error;
    }
    return PcapStack.attach({
      host,
      device,
      capture,
      mac,
      ip,
      prefixLength,
      ...(gateway === undefined ? {} : { gateway }),
      ...(options.onEvent === undefined ? {} : { onEvent: options.onEvent }),
      ...(options.onFailure === undefined ? {} : { onFailure: options.onFailure }),
    });
  }

  /** Runs an existing host on an existing device (other devices, tests). */
  static attach(parts: StackParts): PcapStack {
    const stack = new PcapStack(parts);
    parts.device.start({
      frame: (bytes, checked, segmentSize) => stack.receive(bytes, checked, segmentSize),
      endOfBurst: () => {
        stack.framesSinceClock = 0;
        stack.drain();
      },
      failure: (error) => stack.fail(error),
    });
    return stack;
  }

  /** Why the stack stopped, if it did. */
  get failure(): IoPcapError | undefined {
    return this.failed;
  }

  /**
   * Active open to `ip:port`. Resolves once established; rejects with a
   * `ConnectionFailure` (ECONNREFUSED, ETIMEDOUT, EHOSTUNREACH, ECONNRESET) or an `IoPcapError`.
   */
  connect(ip: string, port: number, options: ConnectOptions = {}): Promise<TcpSocket> {
    if (this.failed !== undefined) return Promise.reject(this.failed);
    if (this.closed) return Promise.reject(new IoPcapError('pcap', 'the stack is closed'));
    let remote: number;
    try {
      remote = parseIpv4(ip, 'remote address');
    } catch (error) {
      return Promise.reject(error);
    }
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      return Promise.reject(new IoPcapError('invalid-address', `port ${port} is not 1–65535`));
    }
    if (this.gateway === undefined && !sameSubnet(remote, this.ipValue, this.prefixLength)) {
      return Promise.reject(
        new IoPcapError('unreachable', `${ip} is outside ${this.ip}/${this.prefixLength} and no gateway is set`),
      );
    }
    const { localPort } = options;
    if (localPort !== undefined && (!Number.isInteger(localPort) || localPort < 1 || localPort > 65535)) {
      return Promise.reject(new IoPcapError('invalid-address', `local port ${localPort} is not 1–65535`));
    }
    let id: SocketId;
    try {
      id = this.host.connect(remote, port, this.clock(), localPort);
    } catch (error) {
      return Promise.reject(error);
    }
    const socket = new TcpSocket(this.link, id, {
      remoteAddress: ip,
      remotePort: port,
      ...(options.allowHalfOpen === undefined ? {} : { allowHalfOpen: options.allowHalfOpen }),
    });
    this.sockets.set(id, socket);
    this.opened.add(id);
    if (localPort === undefined) this.awaitingPort.push(socket);
    else socket.learnLocalPort(localPort);
    const { timeoutMs } = options;
    const promise = new Promise<TcpSocket>((resolve, reject) => {
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              // RFC 9293 §3.9.2.2 (SHLD-25): a soft error the path reported is the better explanation.
              const icmpError = this.pending.get(id)?.icmpError;
              const failure =
                icmpError === undefined
                  ? new ConnectionFailure('ETIMEDOUT', `connect to ${ip}:${port} timed out after ${timeoutMs} ms`)
                  : new ConnectionFailure('EHOSTUNREACH', `connect to ${ip}:${port} failed: ${icmpError}`);
              this.settle(id, failure);
            }, timeoutMs);
      this.pending.set(id, { socket, resolve, reject, timer });
    });
    this.drain();
    return promise;
  }

  stats(): PcapStackStats {
    const host = this.host.stats;
    return { ...host, dropped: new Map(host.dropped), device: { ...this.device.counters } };
  }

  /**
   * Closes the stack. Connections whose FIN is still unacknowledged (FIN-WAIT-1,
   * CLOSING, LAST-ACK) get up to `lingerMs` to finish, so the peer sees a clean
   * close rather than silence; what is left then is aborted.
   */
  async close(lingerMs = 1000): Promise<void> {
    if (this.closed) return;
    const until = this.clock() + lingerMs;
    while (!this.closed && this.clock() < until && this.closingConnections() > 0) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    if (!this.closed) this.shutDown(undefined);
  }

  private closingConnections(): number {
    let closing = 0;
    for (const id of [...this.opened]) {
      const state = this.host.socketState(id);
      if (state === 'FIN-WAIT-1' || state === 'CLOSING' || state === 'LAST-ACK') closing++;
      else if (state === undefined || state === 'CLOSED') this.opened.delete(id);
    }
    return closing;
  }

  // ---- input ----

  /** A frame in the device's buffer: the host takes it now; answers go out at the end of the burst. */
  private receive(frame: Uint8Array, checked: FrameChecks | undefined, segmentSize = 0): void {
    if (this.closed) return;
    // Frames of one burst were in the buffer together: one clock reading serves a few of them
    // (reading it cost 2% of a download, frame by frame).
    if (this.framesSinceClock === 0) this.burstClock = this.clock();
    if (++this.framesSinceClock === FRAMES_PER_CLOCK_READING) this.framesSinceClock = 0;
    try {
      this.host.receiveFrame(frame, this.burstClock, checked, segmentSize);
    } catch (error) {
      this.fail(internalError(error));
    }
  }

  private onTimer(): void {
    this.timer = undefined;
    this.timerDeadline = undefined;
    this.drain();
  }

  /** Host API calls from sockets land here: the host may now have frames or events. */
  private afterCall<T>(result: T): T {
    this.drain();
    return result;
  }

  // ---- output ----

  /** Sends what the host has to send and hands its events to the sockets. */
  private drain(): void {
    if (this.closed) return;
    if (this.draining) {
      // A socket called the host while we were dispatching: go round once more.
      this.drainAgain = true;
      return;
    }
    this.draining = true;
    try {
      let rounds = 0;
      do {
        this.drainAgain = false;
        const now = this.clock();
        const deadline = this.host.nextDeadline();
        if (deadline !== undefined && deadline <= now) {
          this.host.advanceTime(now);
          this.servedDeadline = deadline;
        }
        let outputs = 0;
        while (this.sendOneFrame()) {
          if (++outputs > MAX_OUTPUTS_PER_ROUND) throw new Error(`the host produced over ${MAX_OUTPUTS_PER_ROUND} frames at once`);
        }
        for (let event = this.host.pollEvent(); event !== undefined; event = this.host.pollEvent()) {
          this.dispatch(event);
          if (++outputs > MAX_OUTPUTS_PER_ROUND) throw new Error(`the host produced over ${MAX_OUTPUTS_PER_ROUND} events at once`);
        }
        rounds++;
      } while (this.drainAgain && rounds < MAX_DRAIN_ROUNDS);
      this.device.flush?.();
      if (this.drainAgain) this.continuation ??= setImmediate(() => {
        this.continuation = undefined;
        this.drain();
      });
    } catch (error) {
      this.draining = false;
      this.fail(internalError(error));
      return;
    }
    this.draining = false;
    this.arm();
  }

  /**
   * Moves one frame from the host to the device: written straight into a
   * transmit slot where the device has them, else polled and handed over.
   * False when the host had nothing to send.
   */
  private sendOneFrame(): boolean {
    const slot = this.device.transmitSlot?.();
    if (slot !== undefined) {
      const length = pollFrameInto(this.host, slot);
      if (length === 0) return false;
      if (this.awaitingPort.length > 0) this.learnLocalPort(slot.subarray(0, length));
      this.device.commitSlot!(length);
      return true;
    }
    // No slot free (or none at all): the device counts what it cannot send as lost, which TCP repairs.
    const frame = this.host.pollFrame();
    if (frame === undefined) return false;
    if (this.awaitingPort.length > 0) this.learnLocalPort(frame);
    this.device.send(frame);
    return true;
  }

  private dispatch(event: HostEvent): void {
    this.onEvent?.(event);
    switch (event.type) {
      case 'connected': {
        const pending = this.pending.get(event.socket);
        if (pending !== undefined) {
          this.pending.delete(event.socket);
          if (pending.timer !== undefined) clearTimeout(pending.timer);
          pending.resolve(pending.socket);
        }
        return;
      }
      case 'data':
        this.sockets.get(event.socket)?.deliver(event.data);
        return;
      case 'writable':
        this.sockets.get(event.socket)?.hostWritable();
        return;
      case 'urgent':
        this.sockets.get(event.socket)?.hostUrgent(event.end);
        return;
      case 'peer-closed':
        this.sockets.get(event.socket)?.hostPeerClosed();
        return;
      case 'icmp-error': {
        const pending = this.pending.get(event.socket);
        if (pending !== undefined) pending.icmpError = `${describeIcmpError(event.icmpType, event.code)} (ICMP from ${formatIpv4(event.from)})`;
        return;
      }
      case 'error': {
        const socket = this.sockets.get(event.socket);
        if (socket === undefined) return;
        if (this.pending.has(event.socket)) {
          socket.hostClosed();
          this.settle(event.socket, connectionFailure(event.error, `${socket.remoteAddress}:${socket.remotePort}`));
        } else {
          socket.hostError(event.error);
        }
        return;
      }
      case 'closed': {
        const socket = this.sockets.get(event.socket);
        this.sockets.delete(event.socket);
        if (socket === undefined) return;
        socket.hostClosed();
        this.forgetAwaitingPort(socket);
        if (this.pending.has(event.socket)) {
          const remote = `${socket.remoteAddress}:${socket.remotePort}`;
          this.settle(event.socket, new ConnectionFailure('ECONNRESET', `connection to ${remote} closed before it was established`));
        }
        return;
      }
      default:
        // `state`, `segment` (tracing) and `accepted` (we do not listen) need nothing from the adapter.
        return;
    }
  }

  /**
   * Rejects a pending connect and aborts its socket. The caller never sees
   * that stream, so it is destroyed without an error (no unheard `error` event).
   */
  private settle(id: SocketId, error: Error): void {
    const pending = this.pending.get(id);
    if (pending === undefined) return;
    this.pending.delete(id);
    if (pending.timer !== undefined) clearTimeout(pending.timer);
    this.forgetAwaitingPort(pending.socket);
    pending.socket.destroy();
    pending.reject(error);
  }

  /**
   * Reads our port from the SYN the host sends for a socket awaiting it: the
   * `NetworkHost` interface does not expose the port it allocates. SYNs for one
   * destination leave in the order of the `connect` calls.
   */
  private learnLocalPort(frame: Uint8Array): void {
    if (frame.length < 54 || frame[12] !== 0x08 || frame[13] !== 0x00 || frame[23] !== 6) return;
    const tcp = 14 + ((frame[14] as number) & 0x0f) * 4;
    if (frame.length < tcp + 20 || ((frame[tcp + 13] as number) & 0x12) !== 0x02) return;
    const remoteIp =
      (((frame[30] as number) << 24) | ((frame[31] as number) << 16) | ((frame[32] as number) << 8) | (frame[33] as number)) >>>
      0;
    const remotePort = ((frame[tcp + 2] as number) << 8) | (frame[tcp + 3] as number);
    const index = this.awaitingPort.findIndex(
      (socket) => socket.remotePort === remotePort && parseIpv4(socket.remoteAddress) === remoteIp,
    );
    if (index < 0) return;
    const [socket] = this.awaitingPort.splice(index, 1);
    socket?.learnLocalPort(((frame[tcp] as number) << 8) | (frame[tcp + 1] as number));
  }

  private forgetAwaitingPort(socket: TcpSocket): void {
    const index = this.awaitingPort.indexOf(socket);
    if (index >= 0) this.awaitingPort.splice(index, 1);
  }

  /** One timer, at the host's next deadline; it does not hold the process when no stream is in use. */
  private arm(): void {
    if (this.closed) return;
    const deadline = this.host.nextDeadline();
    if (deadline === undefined) {
      this.clearTimer();
      return;
    }
    const inUse = [...this.sockets.values()].some((socket) => socket.inUse);
    const wait = deadline - this.clock();
    if (wait < 1 && (wait > 0 || deadline !== this.servedDeadline)) {
      // Timers have millisecond resolution, and fire a millisecond or two late: a deadline
      // sooner than that (the folded ACK of SACK compression, a twentieth of the RTT; RACK's
      // reordering window, a quarter), or one that passed while the drain ran, would hold a
      // sender that waits on us for ten RTTs and more. Looked at again once the I/O at hand has
      // been handled, it is late by microseconds. A deadline the host was already advanced to
      // and still reports keeps the 1 ms timer below, which cannot spin.
      this.soon ??= setImmediate(() => {
        this.soon = undefined;
        this.drain();
      });
      if (inUse) this.soon.ref();
      else this.soon.unref();
      return;
    }
    // Deadlines mostly move later (each ACK restarts the retransmission timer): a timer
    // that fires early just re-arms, which is cheaper than replacing it on every drain.
    if (this.timer === undefined || this.timerDeadline === undefined || deadline < this.timerDeadline) {
      this.clearTimer();
      // Timers have millisecond resolution; at least 1 ms keeps a stale deadline from spinning.
      const delay = Math.max(1, Math.ceil(deadline - this.clock()));
      this.timer = setTimeout(() => this.onTimer(), delay);
      this.timerDeadline = deadline;
    }
    if (inUse) this.timer.ref();
    else this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerDeadline = undefined;
    if (this.soon !== undefined) clearImmediate(this.soon);
    this.soon = undefined;
  }

  // ---- teardown ----

  private fail(error: IoPcapError): void {
    if (this.failed !== undefined || this.closed) return;
    this.failed = error;
    this.shutDown(error);
    this.onFailure?.(error);
  }

  private shutDown(error: IoPcapError | undefined): void {
    for (const id of [...this.pending.keys()]) {
      this.settle(id, error ?? new ConnectionFailure('ECONNRESET', 'the stack was closed'));
    }
    // Aborts go out as RSTs (while the device still works) before it closes.
    for (const socket of [...this.sockets.values()]) socket.destroy(error);
    this.closed = true;
    if (this.continuation !== undefined) clearImmediate(this.continuation);
    this.clearTimer();
    this.device.close();
  }
}

function internalError(error: unknown): IoPcapError {
  const message = error instanceof Error ? error.message : String(error);
  return new IoPcapError('pcap', `internal error in the stack: ${message}`, { cause: error });
}
