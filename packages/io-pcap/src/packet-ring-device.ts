import { existsSync } from 'node:fs';
import { FrameCheck } from '@tcpts/core';
import { IoPcapError } from './errors.js';
import { emptyCounters, interfaceMtu, type DeviceCounters, type FrameDevice, type FrameReceiver } from './frame-device.js';
import { offloadFailure } from './offload-check.js';
import { loadPacketRing, type OpenedRings, type PacketRingAddon, type RingHandle } from './packet-ring-binding.js';
import { openFailure } from './pcap-device.js';

export interface PacketRingDeviceOptions {
  iface: string;
  /** Our MAC as a 48-bit integer: the device keeps frames sent to it and broadcasts. */
  mac: number;
  /** IPv4 MTU; default: the interface's own. */
  mtu?: number;
  /** Bytes of receive ring (frames the kernel can hold for us between two reads). */
  receiveRingSize?: number;
  /** Bytes of transmit ring. */
  transmitRingSize?: number;
  /** The addon's calls; another implementation of them stands in for tests (a link that never sends). */
  addon?: PacketRingAddon;
  /**
   * Merge runs of segments of one flow into one frame before the host sees
   * them (receive coalescing, as Linux's GRO; see core's `coalesceTcpFrames`).
   * Default true.
   */
  receiveCoalescing?: boolean;
}

// struct tpacket2_hdr (linux/if_packet.h), in host byte order; a sockaddr_ll follows it at offset 32.
const STATUS = 0;
const LENGTH = 4;
const SNAP_LENGTH = 8;
const MAC_OFFSET = 12;
const PACKET_TYPE = 32 + 10; // sockaddr_ll.sll_pkttype
/** tp_padding[0]: where the addon's checkBurst leaves its checksum verdict. */
const VERDICT = 28;
/** tp_padding[2..3], on a merged run's first slot: how many slots after it the run absorbed. */
const ABSORBED = 30;
// The verdicts (packet-ring.c): TCP checksum right; right, and the head of a merged frame, which
// is the coalescing area's next record.
const VERDICT_CHECKED = 1;
const VERDICT_MERGED = 2;
/** A record of the coalescing area: the merged frame's length and its segments' size, then the frame. */
const RECORD_HEADER = 8;
/** Room for merged frames per checkBurst call: sixteen of the largest (64 KB) at least. */
const COALESCING_AREA = 1 << 20;
/** Where a frame to send starts in its transmit slot: TPACKET2_HDRLEN - sizeof(struct sockaddr_ll). */
const TX_DATA = 32;

// tp_status bits.
const TP_STATUS_KERNEL = 0;
const TP_STATUS_CSUMNOTREADY = 8;
const TP_STATUS_AVAILABLE = 0;
const TP_STATUS_WRONG_FORMAT = 4;

/**
 * Frames written before they are handed to the transmit thread: it sends while the
 * host goes on producing, instead of the whole burst waiting for the end of the drain.
 */
const FLUSH_BATCH = 64;
/** How long the host may wait for the kernel to give back a transmit slot it is sending. */
const SLOT_WAIT_MICROS = 20_000;

const PACKET_OUTGOING = 4;
const ETHERNET_HEADER = 14;
/** Room before the frame in a receive slot: the header, sockaddr_ll and alignment (66 bytes for Ethernet). */
const SLOT_OVERHEAD = 96;
const BLOCK_SIZE = 1 << 16;
/**
 * 8,192 slots of 2 KiB at MTU 1500: more segments than a full receive window
 * holds (8 MiB, 5,793 segments), so that a sender filling our window never
 * finds the ring full while we are busy.
 */
const DEFAULT_RECEIVE_RING = 16 * 1024 * 1024;
const DEFAULT_TRANSMIT_RING = 2 * 1024 * 1024;
const BROADCAST_MAC = 0xffff_ffff_ffff;

/** The ring slot size: a power of two that holds a full frame of the MTU (2048 for Ethernet's 1500). */
export function slotSizeFor(mtu: number): number {
  let size = 2048;
  while (size < mtu + ETHERNET_HEADER + SLOT_OVERHEAD) size *= 2;
  return size;
}

/** Errors whose socket will not work again: the interface went away or down. */
const ENETDOWN = 100;
const FATAL_SEND_ERRNOS = new Set([6, 19, ENETDOWN]); // ENXIO, ENODEV, ENETDOWN

/**
 * Ethernet frames in and out of one interface through a Linux packet socket
 * with memory-mapped rings (PACKET_MMAP, TPACKET_V2), a small addon of ours
 * (`native/packet-ring.c`).
 *
 * The kernel writes received frames into ring slots and marks them; we read
 * every marked slot in one wake-up and hand the frames over in place, then
 * give the slots back. Frames to send are written into the transmit ring (by
 * the host itself, through `transmitSlot`) and handed over in batches; a
 * thread of the addon's has the kernel send them. On a link whose peer runs on
 * this machine (a veth pair), that send is where the kernel does the peer's
 * receiving, and for a peer sending to us, its ACK processing and its next
 * transmission: on that thread, another CPU does it while JavaScript reads on.
 * libpcap's npm binding (`PcapDevice`) calls JavaScript once per frame and
 * makes one system call per sent frame; this device does neither.
 *
 * It offloads TCP checksums as a NIC does, in the addon and once per burst:
 * it vouches for received frames whose checksum it found right, and finishes
 * the checksums its host left to it before the frames leave.
 */
export class PacketRingDevice implements FrameDevice {
  readonly counters: DeviceCounters = emptyCounters();
  /** The addon finishes the TCP checksums of every frame sent (transmit checksum offload). */
  readonly completesTcpChecksums = true;
  private receiver: FrameReceiver | undefined;
  private readonly bytes: Uint8Array;
  private readonly halfWords: Uint16Array;
  private readonly words: Int32Array;
  private readonly rxFrames: number;
  private readonly txFrames: number;
  private readonly txBase: number;
  private rxNext = 0;
  private txNext = 0;
  /** Frames written into transmit slots and not yet handed to the kernel (at most every slot). */
  private unflushed = 0;
  /** Each transmit slot's frame area, made once: a frame is written in place without a view per frame. */
  private readonly txSlots: Uint8Array[];
  private failed = false;
  private closed = false;
  /** A wait for a transmit slot ran out and no slot has been free since (see `transmitSlot`). */
  private transmitStalled = false;
  private readonly macHigh: number;
  private readonly macLow: number;
  /** Where the addon writes merged frames (receive coalescing); empty when it is off. */
  private readonly area: Uint8Array;
  private readonly areaWords: Uint32Array;
  private readonly receiveCoalescing: boolean;

  private constructor(
    private readonly addon: PacketRingAddon,
    private readonly handle: RingHandle,
    rings: ArrayBuffer,
    rxFrames: number,
    txFrames: number,
    private readonly slotSize: number,
    readonly iface: string,
    readonly mtu: number,
    mac: number,
    receiveCoalescing: boolean,
  ) {
    this.bytes = new Uint8Array(rings);
    this.halfWords = new Uint16Array(rings);
    this.words = new Int32Array(rings);
    this.rxFrames = rxFrames;
    this.txFrames = txFrames;
    this.txBase = rxFrames * slotSize;
    this.txSlots = Array.from({ length: txFrames }, (_, i) => {
      const start = this.txBase + i * slotSize + TX_DATA;
      return this.bytes.subarray(start, start + slotSize - TX_DATA);
    });
    this.macHigh = Math.floor(mac / 0x1_0000_0000);
    this.macLow = mac % 0x1_0000_0000;
    this.receiveCoalescing = receiveCoalescing;
    this.area = new Uint8Array(receiveCoalescing ? COALESCING_AREA : 0);
    this.areaWords = new Uint32Array(this.area.buffer);
  }

  /** Whether the addon loads in this process (it is built with the package, on Linux). */
  static available(): boolean {
    try {
      loadPacketRing();
      return true;
    } catch {
      return false;
    }
  }

  static open(options: PacketRingDeviceOptions): PacketRingDevice {
    let addon: PacketRingAddon;
    try {
      addon = options.addon ?? loadPacketRing();
    } catch (cause) {
      const build = 'build it with `node packages/io-pcap/native/build.mjs` (needs a C compiler)';
      throw new IoPcapError('pcap', `cannot load the packet-ring addon: ${String(cause)}; ${build}`, { cause });
    }
    const mtu = options.mtu ?? interfaceMtu(options.iface);
    const slotSize = slotSizeFor(mtu);
    const blockSize = Math.max(BLOCK_SIZE, slotSize);
    const blocks = (bytes: number): number => Math.max(1, Math.ceil(bytes / blockSize));
    let opened: OpenedRings;
    try {
      opened = addon.open(
        options.iface,
        slotSize,
        blockSize,
        blocks(options.receiveRingSize ?? DEFAULT_RECEIVE_RING),
        blocks(options.transmitRingSize ?? DEFAULT_TRANSMIT_RING),
      );
    } catch (cause) {
      throw openFailure(options.iface, cause);
    }
    const { handle, rings, rxFrames, txFrames } = opened;
    const coalescing = options.receiveCoalescing ?? true;
    return new PacketRingDevice(addon, handle, rings, rxFrames, txFrames, slotSize, options.iface, mtu, options.mac, coalescing);
  }

  start(receiver: FrameReceiver): void {
    this.receiver = receiver;
    this.addon.start(this.handle, (status) => this.onReadable(status));
    // Frames may have arrived between open and start: the socket is already readable then.
    this.onReadable(0);
  }

  send(frame: Uint8Array): void {
    if (this.closed || this.failed) return;
    const slot = frame.length <= this.slotSize - TX_DATA ? this.transmitSlot() : undefined;
    if (slot === undefined) {
      this.counters.sendErrors++; // a lost frame, which TCP repairs
      return;
    }
    slot.set(frame);
    this.commitSlot(frame.length);
  }

  transmitSlot(): Uint8Array | undefined {
    if (this.closed || this.failed) return undefined;
    // A whole ring written and not handed over: the next slot is one of them.
    if (this.unflushed === this.txFrames) this.flush();
    if (!this.slotFree(this.txBase + this.txNext * this.slotSize)) {
      // The kernel is still sending this slot: hand it what is written, and wait for it, once.
      // A wait that ran out means the link is stuck (a full qdisc, a stalled driver): the frames
      // that follow are dropped at once, as a full NIC queue drops them, until a slot is free
      // again, instead of each blocking the event loop for another wait.
      this.flush();
      if (this.transmitStalled || !this.addon.waitForSlot(this.handle, this.txNext, SLOT_WAIT_MICROS)) {
        if (!this.transmitStalled) this.counters.transmitStalls++;
        this.transmitStalled = true;
        return undefined;
      }
      this.slotFree(this.txBase + this.txNext * this.slotSize); // counts a refused frame
    }
    this.transmitStalled = false;
    return this.txSlots[this.txNext];
  }

  commitSlot(length: number): void {
    const slot = this.txBase + this.txNext * this.slotSize;
    this.words[(slot + LENGTH) >> 2] = length;
    // The addon marks it SEND_REQUEST when it is flushed, its checksum finished: the kernel may
    // be walking the ring this very moment, and must not find a frame half done.
    this.txNext = this.txNext + 1 === this.txFrames ? 0 : this.txNext + 1;
    if (++this.unflushed >= FLUSH_BATCH) this.flush();
  }

  flush(): void {
    if (this.unflushed === 0 || this.closed) return;
    const count = this.unflushed;
    const first = (this.txNext - count + this.txFrames) % this.txFrames;
    this.unflushed = 0;
    const code = this.addon.flush(this.handle, first, count);
    this.counters.framesSent += count;
    if (code === 0) return;
    // An error of an earlier send(), past retrying: a lost frame TCP repairs, or the end of the device.
    this.counters.sendErrors++;
    if (FATAL_SEND_ERRNOS.has(code)) {
      this.fail(new IoPcapError('pcap', `cannot send on ${this.iface}: ${this.addon.describeError(code)}`));
    }
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.addon.close(this.handle);
  }

  /** A slot is ours once the kernel has sent it; one it could not send is counted and reused. */
  private slotFree(slot: number): boolean {
    const status = Atomics.load(this.words, (slot + STATUS) >> 2);
    if (status === TP_STATUS_AVAILABLE) return true;
    if (status === TP_STATUS_WRONG_FORMAT) {
      this.counters.sendErrors++;
      return true;
    }
    return false;
  }

  /**
   * Reads every frame the kernel has marked, in ring order, and ends the burst (the host's
   * answers go out); then reads on while more has come, up to one lap of the ring. On a veth
   * pair our ACK's send() is where the peer's kernel takes the ACK and sends its next segments:
   * they are often in the ring when it returns, and reading them now answers them before the
   * application's work on the data (which waits for this callback to return) instead of after it.
   */
  private onReadable(status: number): void {
    if (this.closed || this.failed) return;
    if (status < 0) {
      // The kernel reports ENETDOWN both when the link goes down and when the interface is being
      // deleted (its sysfs entry may still be there then): one message covers both, whichever came.
      const why =
        -status === ENETDOWN || !existsSync(`/sys/class/net/${this.iface}`)
          ? 'the interface went down or was removed'
          : this.addon.describeError(-status);
      this.fail(new IoPcapError('pcap', `capture on ${this.iface} stopped: ${why}`));
      return;
    }
    // One lap of the ring at most: what arrives meanwhile wakes us again, after other I/O had its turn.
    // A burst, or the answers to it (the application closing its stack), may end the device.
    for (let left = this.rxFrames; left > 0 && !this.closed && !this.failed; ) {
      const before = this.counters.framesReceived;
      const read = this.readBurst(left);
      if (read === 0) return;
      left -= read;
      if (this.counters.framesReceived > before && !this.closed && !this.failed) this.receiver?.endOfBurst();
    }
  }

  /** Hands over every frame the kernel has marked, up to `limit` slots; returns how many slots it read. */
  private readBurst(limit: number): number {
    const { bytes, halfWords, words, slotSize, area, areaWords } = this;
    let received = 0;
    let read = 0;
    while (read < limit) {
      // The addon finds the slots the kernel has handed over, sums their TCP checksums (receive
      // checksum offload) and merges runs of segments into the area (receive coalescing), in one
      // call; it gives the slots a run absorbed back to the kernel, so only the others are read.
      const ready = this.addon.checkBurst(this.handle, this.rxNext, limit - read, this.receiveCoalescing ? area : undefined);
      if (ready === 0) break;
      read += ready;
      let record = 0;
      for (let i = 0; i < ready; ) {
        const slot = this.rxNext * slotSize;
        const verdict = bytes[slot + VERDICT]!;
        // The first frame of a merged run stays in its slot, with the header all of the run has.
        const merged = verdict === VERDICT_MERGED;
        const absorbed = merged ? halfWords[(slot + ABSORBED) >> 1]! : 0;
        if (bytes[slot + PACKET_TYPE] !== PACKET_OUTGOING) {
          const start = slot + (words[(slot + MAC_OFFSET) >> 2]! & 0xffff);
          const captured = words[(slot + SNAP_LENGTH) >> 2]!;
          const frame = bytes.subarray(start, start + captured);
          const length = merged ? areaWords[record >> 2]! : 0;
          const segmentSize = merged ? areaWords[(record + 4) >> 2]! : 0;
          const recordStart = record;
          if (merged) record += (RECORD_HEADER + length + 3) & ~3;
          if (this.addressedToUs(frame)) {
            received += 1 + absorbed;
            this.counters.framesCoalesced += absorbed;
            // The kernel's frame is what the offload check looks at: the others of a run are no larger.
            if (this.offloadRefused(frame, slot, captured)) return read;
            if (merged) {
              const whole = area.subarray(recordStart + RECORD_HEADER, recordStart + RECORD_HEADER + length);
              this.receiver?.frame(whole, FrameCheck.tcpChecksum, segmentSize);
            } else {
              this.receiver?.frame(frame, verdict === VERDICT_CHECKED ? FrameCheck.tcpChecksum : FrameCheck.none);
            }
            if (this.closed || this.failed) return read;
          }
        }
        Atomics.store(words, (slot + STATUS) >> 2, TP_STATUS_KERNEL);
        i += 1 + absorbed;
        this.rxNext += 1 + absorbed;
        if (this.rxNext >= this.rxFrames) this.rxNext -= this.rxFrames;
      }
    }
    this.counters.framesReceived += received;
    return read;
  }

  private addressedToUs(frame: Uint8Array): boolean {
    if (frame.length < ETHERNET_HEADER) return false;
    const high = (frame[0]! << 8) | frame[1]!;
    const low = ((frame[2]! << 24) | (frame[3]! << 16) | (frame[4]! << 8) | frame[5]!) >>> 0;
    if (high === this.macHigh && low === this.macLow) return true;
    return high === 0xffff && low === BROADCAST_MAC % 0x1_0000_0000;
  }

  /** Whether the frame in `slot` is one of the offloads a device refuses (see offload-check.ts); it stops then. */
  private offloadRefused(frame: Uint8Array, slot: number, captured: number): boolean {
    const { words } = this;
    const checksumPending = (words[(slot + STATUS) >> 2]! & TP_STATUS_CSUMNOTREADY) !== 0;
    const truncated = captured < words[(slot + LENGTH) >> 2]!;
    const refused = offloadFailure(frame, this.mtu, this.iface, this.counters, { truncated, checksumPending });
    if (refused === undefined) return false;
    this.fail(refused);
    return true;
  }

  private fail(error: IoPcapError): void {
    if (this.failed) return;
    this.failed = true;
    this.receiver?.failure(error);
  }
}
