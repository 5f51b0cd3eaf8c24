import { requireFromPackage } from './package-require.js';

/** An open packet socket; only the addon reads it. */
export interface RingHandle {
  readonly __ringHandle: unique symbol;
}

export interface OpenedRings {
  readonly handle: RingHandle;
  /** The receive ring, then the transmit ring, mapped from the kernel. */
  readonly rings: ArrayBuffer;
  readonly rxFrames: number;
  readonly txFrames: number;
}

/** The addon built from `native/packet-ring.c`. */
export interface PacketRingAddon {
  /** Throws an Error whose `code` is `E<errno>` when the kernel refuses. */
  open(iface: string, frameSize: number, blockSize: number, rxBlocks: number, txBlocks: number): OpenedRings;
  /** `onReadable(status)` runs when the socket is readable; a negative status is a libuv error. */
  start(handle: RingHandle, onReadable: (status: number) => void): void;
  /**
   * Finishes the TCP checksums of the `count` transmit slots from `first`
   * (transmit checksum offload: the host left the pseudo-header sum in them),
   * marks them SEND_REQUEST, and wakes the addon's transmit thread, which has
   * the kernel send them. Returns errno: 0, or an error a send() since the
   * last flush could not get past (transient ones it retries itself).
   */
  flush(handle: RingHandle, first: number, count: number): number;
  /** Waits up to `timeoutMicros` for the kernel to give transmit slot `index` back; true once it has. */
  waitForSlot(handle: RingHandle, index: number, timeoutMicros: number): boolean;
  /**
   * Receive checksum offload for a burst: walks the receive slots from `first`
   * (wrapping) that the kernel has handed over, at most `limit`, and writes each
   * one's verdict into its header (1 when it holds an unfragmented IPv4 TCP
   * segment with a right checksum). Returns how many it walked: only those
   * carry a fresh verdict.
   *
   * With an `area` (a Uint8Array aligned to four bytes), runs of segments of
   * one flow are merged too (receive coalescing, by core's `coalesceTcpFrames`
   * rules): the first slot of a run gets verdict 2 and its merged frame is
   * the area's next record (frame length and segment size as two 32-bit
   * words, then the frame, padded to four bytes). The run's other slots are
   * given back to the kernel at once, and their number is the 16-bit word
   * at offset 30 of the first one's header: the caller steps over them.
   * The walk stops while the area has room for one more run.
   */
  checkBurst(handle: RingHandle, first: number, limit: number, area?: Uint8Array): number;
  /** The verdict `checkBurst` gives one Ethernet frame (for tests). */
  tcpChecksumOk(frame: Uint8Array): boolean;
  /**
   * What `checkBurst` does to a burst of these frames (for tests): their verdicts, 3 for a frame
   * merged into an earlier one (whose slot `checkBurst` gives back instead), and the merged frames in `area`.
   */
  coalesceFrames(frames: readonly Uint8Array[], area: Uint8Array): Uint8Array;
  /** What `flush` does to one frame whose checksum field holds the pseudo-header sum (for tests). */
  finishTcpChecksum(frame: Uint8Array): void;
  close(handle: RingHandle): void;
  describeError(code: number): string;
}

/** Relative to the package root. */
const ADDON_PATH = './native/build/packet-ring.node';
let loaded: PacketRingAddon | undefined;

/** Loads the addon on first use; throws when it was not built (`node packages/io-pcap/native/build.mjs`). */
export function loadPacketRing(): PacketRingAddon {
  loaded ??= requireFromPackage(ADDON_PATH) as PacketRingAddon;
  return loaded;
}
