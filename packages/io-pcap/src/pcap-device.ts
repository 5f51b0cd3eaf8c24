import { formatMac } from './addresses.js';
import { Capture, listInterfaces } from './cap-binding.js';
import { IoPcapError } from './errors.js';
import { emptyCounters, interfaceMtu, type DeviceCounters, type FrameDevice, type FrameReceiver } from './frame-device.js';
import { offloadFailure } from './offload-check.js';

export interface PcapDeviceOptions {
  iface: string;
  /** Our MAC as a 48-bit integer: the capture keeps frames sent to it and broadcasts. */
  mac: number;
  /** IPv4 MTU; default: the interface's own. */
  mtu?: number;
  /** Kernel capture buffer, bytes. */
  captureBufferSize?: number;
}

const DEFAULT_CAPTURE_BUFFER = 16 * 1024 * 1024;

/** Turns libpcap's open failures into errors that say what to do. */
export function openFailure(iface: string, cause: unknown): IoPcapError {
  const message = cause instanceof Error ? cause.message : String(cause);
  if (/permission|not permitted|EPERM|EACCES|CAP_NET_RAW/i.test(message)) {
    return new IoPcapError(
      'permission-denied',
      `cannot capture on ${iface}: ${message}; run as root (or give node CAP_NET_RAW and CAP_NET_ADMIN)`,
      { cause },
    );
  }
  if (/no such device/i.test(message)) {
    return new IoPcapError('no-such-interface', `no interface named "${iface}": ${message}`, { cause });
  }
  return new IoPcapError('pcap', `cannot capture on ${iface}: ${message}`, { cause });
}

/** Captures open in this process, so that a lab can close them before it removes their interface. */
const openDevices = new Set<PcapDevice>();

/**
 * Closes every capture of this process on `iface`, failing their receivers with
 * `reason`. The `cap` addon aborts the whole process (an assertion in its poll
 * callback) when the interface of an open capture goes down or disappears:
 * whoever removes an interface must close its captures first.
 */
export function closeCapturesOn(iface: string, reason: string): number {
  let closed = 0;
  for (const device of [...openDevices]) {
    if (device.iface !== iface) continue;
    device.abandon(new IoPcapError('pcap', `capture on ${iface} closed: ${reason}`));
    closed++;
  }
  return closed;
}

/**
 * Ethernet frames in and out of one interface through libpcap (npm `cap`).
 *
 * libpcap does not show us the frames we inject, but it does show the kernel's
 * own outgoing frames, so the filter keeps only frames addressed to our MAC
 * and broadcasts. The addon reads every frame into one buffer, and the
 * receiver gets it there, without a copy: the host copies only the text it
 * delivers. The end of a burst (all frames of one poll callback) is signalled
 * from `setImmediate`, which runs right after the poll phase.
 */
export class PcapDevice implements FrameDevice {
  readonly counters: DeviceCounters = emptyCounters();
  private receiver: FrameReceiver | undefined;
  private endOfBurst: NodeJS.Immediate | undefined;
  private failed = false;
  private closed = false;

  private constructor(
    private readonly capture: Capture,
    readonly iface: string,
    readonly mtu: number,
  ) {}

  static open(options: PcapDeviceOptions): PcapDevice {
    let names: string[];
    try {
      names = listInterfaces().map((device) => device.name);
    } catch (cause) {
      throw new IoPcapError('pcap', `cannot load the libpcap binding (npm cap): ${String(cause)}`, { cause });
    }
    if (!names.includes(options.iface)) {
      throw new IoPcapError(
        'no-such-interface',
        `no interface named "${options.iface}"; interfaces here: ${names.join(', ') || '(none)'}`,
      );
    }
    const filter = `ether dst ${formatMac(options.mac)} or ether broadcast`;
    let capture: Capture;
    try {
      capture = Capture.open(options.iface, filter, options.captureBufferSize ?? DEFAULT_CAPTURE_BUFFER);
    } catch (cause) {
      throw openFailure(options.iface, cause);
    }
    if (capture.linkType !== 'ETHERNET') {
      capture.close();
      throw new IoPcapError('pcap', `${options.iface} is not an Ethernet interface (link type ${capture.linkType})`);
    }
    const device = new PcapDevice(capture, options.iface, options.mtu ?? interfaceMtu(options.iface));
    openDevices.add(device);
    return device;
  }

  start(receiver: FrameReceiver): void {
    this.receiver = receiver;
    this.capture.onFrame((view, truncated) => this.onPacket(view, truncated));
  }

  send(frame: Uint8Array): void {
    if (this.closed) return;
    try {
      this.capture.send(frame);
      this.counters.framesSent++;
    } catch (cause) {
      this.counters.sendErrors++;
      const message = cause instanceof Error ? cause.message : String(cause);
      // A vanished interface will not come back; anything else is a lost frame that TCP repairs.
      if (/no such device|network is down/i.test(message)) {
        this.fail(new IoPcapError('pcap', `cannot send on ${this.iface}: ${message}`, { cause }));
      }
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    openDevices.delete(this);
    if (this.endOfBurst !== undefined) clearImmediate(this.endOfBurst);
    this.capture.close();
  }

  private onPacket(frame: Uint8Array, truncated: boolean): void {
    if (this.failed || this.closed) return;
    this.counters.framesReceived++;
    const refused = offloadFailure(frame, this.mtu, this.iface, this.counters, { truncated });
    if (refused !== undefined) {
      this.fail(refused);
      return;
    }
    this.receiver?.frame(frame);
    this.endOfBurst ??= setImmediate(() => {
      this.endOfBurst = undefined;
      if (!this.closed && !this.failed) this.receiver?.endOfBurst();
    });
  }

  /** Closes the capture and tells the receiver why (see `closeCapturesOn`). */
  abandon(error: IoPcapError): void {
    this.close();
    this.fail(error);
  }

  private fail(error: IoPcapError): void {
    if (this.failed) return;
    this.failed = true;
    this.receiver?.failure(error);
  }
}
