import { readFileSync } from 'node:fs';
import type { FrameChecks } from '@tcpts/core';
import type { IoPcapError } from './errors.js';

/** What a device counts; the driver reports it beside the host's statistics. */
export interface DeviceCounters {
  framesReceived: number;
  framesSent: number;
  /** Frames longer than MTU + Ethernet header (GRO/TSO super-frames), or truncated by the capture. */
  oversized: number;
  /** TCP segments whose checksum was left for an offload engine to finish. */
  partialChecksums: number;
  /** Frames the interface refused to send (counted as losses; TCP retransmits). */
  sendErrors: number;
  /** Times the kernel kept every transmit slot past the device's wait: frames were then dropped until it freed one. */
  transmitStalls: number;
  /** Received frames whose data the device merged into the frame before them (receive coalescing). */
  framesCoalesced: number;
}

export interface FrameReceiver {
  /**
   * One received frame, in arrival order. It is valid only during the call: the
   * device reads the next frame into the same buffer (the host copies what it keeps).
   * `checked`: what the device already verified of it (receive checksum offload).
   * `segmentSize`: not 0 when the device merged segments into it (receive coalescing).
   */
  frame(bytes: Uint8Array, checked?: FrameChecks, segmentSize?: number): void;
  /**
   * The frames of one read are all in; the receiver answers them now, so that
   * a burst of segments is acknowledged together. Called once after each burst.
   */
  endOfBurst(): void;
  /** The device cannot go on (offloads on, interface gone); it delivers nothing after this. */
  failure(error: IoPcapError): void;
}

/** An Ethernet frame source and sink: the only I/O the realtime driver needs. */
export interface FrameDevice {
  /** IPv4 MTU of the link. */
  readonly mtu: number;
  readonly counters: DeviceCounters;
  start(receiver: FrameReceiver): void;
  /** Queues or sends one frame; the device keeps nothing of `frame` after the call. */
  send(frame: Uint8Array): void;
  /**
   * Transmit checksum offload: the device finishes the TCP checksum of every
   * IPv4 TCP frame it sends, so its host leaves only the pseudo-header sum in
   * them (`HostConfig.transmitChecksumOffload`).
   */
  readonly completesTcpChecksums?: boolean;
  /**
   * Where the next frame to send can be written in place (the next transmit
   * slot, room for a frame of the MTU), or undefined when none is free even
   * after flushing. `commitSlot(length)` sends what was written there; a
   * device with slots saves the host a frame buffer and the device a copy.
   */
  transmitSlot?(): Uint8Array | undefined;
  commitSlot?(length: number): void;
  /** Sends what `send` queued. The driver calls it after each round of output. */
  flush?(): void;
  close(): void;
}

export const emptyCounters = (): DeviceCounters => ({
  framesReceived: 0,
  framesSent: 0,
  oversized: 0,
  partialChecksums: 0,
  sendErrors: 0,
  transmitStalls: 0,
  framesCoalesced: 0,
});

/** Reads the interface MTU from sysfs; Linux only, so anything else falls back to Ethernet's 1500. */
export function interfaceMtu(iface: string): number {
  try {
    const value = Number(readFileSync(`/sys/class/net/${iface}/mtu`, 'utf8').trim());
    return Number.isInteger(value) && value >= 68 ? value : 1500;
  } catch {
    return 1500;
  }
}
