import { execFile } from 'node:child_process';
import { coalesceTcpFrames, encodeTcpFrame, FrameCheck, type FrameChecks, TcpFlag } from '@tcpts/core';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatMac, parseMac } from './addresses.js';
import type { IoPcapError } from './errors.js';
import type { FrameReceiver } from './frame-device.js';
import { createLab, type Lab } from './lab.js';
import { loadPacketRing, type PacketRingAddon, type RingHandle } from './packet-ring-binding.js';
import { PacketRingDevice, slotSizeFor } from './packet-ring-device.js';
import { arpRequest, ipBytes, macBytes, segmentWithSeededChecksum } from './testing/frames.js';

const OUR_MAC = parseMac('02:00:00:00:0f:02');
const OTHER_MAC = parseMac('02:00:00:00:0f:99');
const PEER_MAC = parseMac('02:00:00:00:ff:ff');
const EXPERIMENTAL_ETHERTYPE = [0x88, 0xb5];
const run = promisify(execFile);

/** A numbered frame of the local experimental EtherType (IEEE 802 reserves 0x88b5 for such tests). */
const numberedFrame = (to: number, from: number, index: number, length = 60): Uint8Array => {
  const frame = new Uint8Array(length);
  frame.set([...macBytes(to), ...macBytes(from), ...EXPERIMENTAL_ETHERTYPE, index >> 8, index & 0xff]);
  return frame;
};
const numberOf = (frame: Uint8Array): number => ((frame[14] ?? 0) << 8) | (frame[15] ?? 0);
const isNumbered = (frame: Uint8Array): boolean => frame[12] === 0x88 && frame[13] === 0xb5;

/** Collects what a device delivers, copying each frame out of the ring. */
class Collector implements FrameReceiver {
  readonly frames: Uint8Array[] = [];
  /** What the device said it checked of each frame. */
  readonly checks: FrameChecks[] = [];
  /** The segment size of each frame the device merged, 0 for the others. */
  readonly segmentSizes: number[] = [];
  bursts = 0;
  readonly failures: IoPcapError[] = [];

  frame(bytes: Uint8Array, checked: FrameChecks = FrameCheck.none, segmentSize = 0): void {
    this.frames.push(bytes.slice());
    this.checks.push(checked);
    this.segmentSizes.push(segmentSize);
  }

  endOfBurst(): void {
    this.bursts++;
  }

  failure(error: IoPcapError): void {
    this.failures.push(error);
  }

  async until(predicate: () => boolean, timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!predicate()) {
      if (performance.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

/**
 * Sends frames from the far end of the lab link (the `stk` veth end in the
 * server namespace), so that they arrive on our interface as received frames.
 * `pauseEvery` frames it sleeps 50 ms, letting a small ring drain.
 */
async function sendFromPeer(lab: Lab, frames: readonly Uint8Array[], pauseEvery = 0): Promise<void> {
  const script = [
    'import socket, sys, time',
    's = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)',
    "s.bind(('stk', 0))",
    'for i, line in enumerate(sys.stdin.read().split()):',
    '    s.send(bytes.fromhex(line))',
    `    if ${pauseEvery} and (i + 1) % ${pauseEvery} == 0: time.sleep(0.05)`,
  ].join('\n');
  const input = frames.map((frame) => Buffer.from(frame).toString('hex')).join('\n');
  const result = await lab.exec(lab.serverNs, ['python3', '-c', script], { input, timeoutMs: 20_000 });
  expect(result.stderr).toBe('');
}

/** Counts numbered frames from `from` arriving at the far end of the link during `ms`. */
async function countAtPeer(lab: Lab, from: number, ms: number, started: () => void): Promise<number[]> {
  const script = [
    'import socket, select, time',
    // ETH_P_ALL: the bridge takes stk's frames before any handler of one EtherType sees them.
    's = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))',
    "s.bind(('stk', 3))",
    'print("ready", flush=True)',
    `end = time.monotonic() + ${ms / 1000}`,
    'seen = []',
    'while time.monotonic() < end:',
    '    if select.select([s], [], [], 0.05)[0]:',
    '        f = s.recv(65536)',
    `        if f[12:14] == bytes.fromhex('88b5') and f[6:12] == bytes.fromhex('${macBytes(from).map((b) => b.toString(16).padStart(2, '0')).join('')}'): seen.append(f[14] << 8 | f[15])`,
    'print(" ".join(map(str, seen)), flush=True)',
  ].join('\n');
  const child = execFile('ip', ['netns', 'exec', lab.serverNs, 'python3', '-c', script], { timeout: ms + 10_000 });
  let stdout = '';
  child.stdout?.on('data', (text: Buffer | string) => {
    stdout += text.toString();
    if (stdout.startsWith('ready\n')) {
      started();
      stdout = stdout.slice('ready\n'.length);
    }
  });
  await new Promise((resolve) => child.once('close', resolve));
  return stdout.trim() === '' ? [] : stdout.trim().split(' ').map(Number);
}

describe('slot size', () => {
  it('holds a whole frame of the MTU with the ring header in front', () => {
    expect(slotSizeFor(1500)).toBe(2048);
    expect(slotSizeFor(9000)).toBe(16384);
    expect(slotSizeFor(68)).toBe(2048);
  });
});

describe('PacketRingDevice in a lab', () => {
  let lab: Lab;

  beforeAll(async () => {
    lab = await createLab({ name: 'tcpd-ring', subnet: 15 });
  });

  afterAll(async () => {
    await lab.destroy();
  });

  it('sends a hand-made ARP request through its ring and reads the kernel reply from the other', async () => {
    const device = PacketRingDevice.open({ iface: lab.clientIface, mac: OUR_MAC });
    const collector = new Collector();
    device.start(collector);
    try {
      expect(device.mtu).toBe(1500);
      const request = arpRequest(OUR_MAC, lab.stackIp, lab.serverIp);
      device.send(request);
      // Nothing leaves before the flush: the ring gathers a burst for one system call.
      expect(device.counters.framesSent).toBe(0);
      device.flush();
      expect(device.counters.framesSent).toBe(1);
      const isReply = (frame: Uint8Array) => frame[12] === 0x08 && frame[13] === 0x06 && frame[21] === 2;
      await collector.until(() => collector.frames.some(isReply), 3_000);
      const reply = collector.frames.find(isReply) as Uint8Array;
      expect([...reply.subarray(0, 6)]).toEqual(macBytes(OUR_MAC));
      expect([...reply.subarray(28, 32)]).toEqual(ipBytes(lab.serverIp));
      expect([...reply.subarray(38, 42)]).toEqual(ipBytes(lab.stackIp));
      expect(collector.failures).toEqual([]);
    } finally {
      device.close();
    }
  });

  it('keeps only frames for its MAC and broadcasts, in order, across many laps of a small ring', async () => {
    // 64 KiB of 2 KiB slots: 32 slots for 300 frames.
    const device = PacketRingDevice.open({ iface: lab.clientIface, mac: OUR_MAC, receiveRingSize: 64 * 1024 });
    const collector = new Collector();
    device.start(collector);
    try {
      const count = 300;
      const frames: Uint8Array[] = [];
      for (let i = 0; i < count; i++) {
        frames.push(numberedFrame(OTHER_MAC, PEER_MAC, i)); // someone else's: dropped
        frames.push(numberedFrame(i % 10 === 0 ? 0xffff_ffff_ffff : OUR_MAC, PEER_MAC, i, 60 + (i % 7) * 200));
      }
      await sendFromPeer(lab, frames, 20);
      await collector.until(() => collector.frames.filter(isNumbered).length >= count, 10_000);
      const received = collector.frames.filter(isNumbered);
      expect(received.map(numberOf)).toEqual([...Array(count).keys()]);
      expect(received.map((frame) => frame.length)).toEqual([...Array(count).keys()].map((i) => 60 + (i % 7) * 200));
      expect(collector.bursts).toBeGreaterThan(0);
      expect(collector.bursts).toBeLessThanOrEqual(count);
      expect(collector.failures).toEqual([]);
    } finally {
      device.close();
    }
  });

  it('sends every frame through a small transmit ring, in order, flushing when the ring is full', async () => {
    const device = PacketRingDevice.open({ iface: lab.clientIface, mac: OUR_MAC, transmitRingSize: 64 * 1024 });
    device.start(new Collector());
    try {
      const count = 200;
      const seen = countAtPeer(lab, OUR_MAC, 1_500, () => {
        for (let i = 0; i < count; i++) device.send(numberedFrame(PEER_MAC, OUR_MAC, i));
        device.flush();
      });
      expect(await seen).toEqual([...Array(count).keys()]);
      expect(device.counters.framesSent).toBe(count);
      expect(device.counters.sendErrors).toBe(0);
    } finally {
      device.close();
    }
  });

  it('sends what was written before close, though its own thread does the sending', async () => {
    const device = PacketRingDevice.open({ iface: lab.clientIface, mac: OUR_MAC });
    device.start(new Collector());
    const count = 150; // two batches handed over while writing, the rest by close
    const seen = countAtPeer(lab, OUR_MAC, 1_500, () => {
      for (let i = 0; i < count; i++) device.send(numberedFrame(PEER_MAC, OUR_MAC, i));
      device.close();
    });
    expect(await seen).toEqual([...Array(count).keys()]);
    expect(device.counters.framesSent).toBe(count);
  });

  it('fails with offload advice on a super-frame, delivering nothing', async () => {
    const superFrame = numberedFrame(OUR_MAC, PEER_MAC, 1, 1000 + 14 + 100);
    superFrame.set([0x08, 0x00], 12);
    // The kernel refuses to send frames above the link MTU: the device is told the MTU is smaller.
    const oversized = PacketRingDevice.open({ iface: lab.clientIface, mac: OUR_MAC, mtu: 1000 });
    const first = new Collector();
    oversized.start(first);
    await sendFromPeer(lab, [superFrame]);
    await first.until(() => first.failures.length > 0, 3_000);
    oversized.close();
    expect(first.failures[0]?.code).toBe('offload');
    expect(first.failures[0]?.message).toContain(`ethtool -K ${lab.clientIface} tso off gso off gro off tx off rx off`);
    expect(oversized.counters.oversized).toBe(1);
    expect(first.frames).toEqual([]);
  });

  it('sums received TCP checksums itself and vouches only for the right ones (receive checksum offload)', async () => {
    const from = { srcMac: PEER_MAC, dstMac: OUR_MAC, srcIp: 0xc6120f01, dstIp: 0xc6120f02, ttl: 64, identification: 1 };
    const segment = (seq: number, length: number) =>
      encodeTcpFrame(from, {
        srcPort: 80,
        dstPort: 40_000,
        seq,
        ack: 1,
        flags: TcpFlag.ACK,
        window: 1000,
        urgent: 0,
        options: {},
        payload: Uint8Array.from({ length }, (_, i) => (seq + i) & 0xff),
      });
    const good = Array.from({ length: 40 }, (_, i) => segment(i * 1000, 1 + ((i * 37) % 1460)));
    const bad = segment(99, 500);
    bad[100]! ^= 0x40;
    const frames = [...good.slice(0, 20), bad, arpRequest(PEER_MAC, lab.serverIp, lab.stackIp), ...good.slice(20)];
    const device = PacketRingDevice.open({ iface: lab.clientIface, mac: OUR_MAC });
    const collector = new Collector();
    device.start(collector);
    try {
      await sendFromPeer(lab, frames);
      await collector.until(() => collector.frames.length >= frames.length, 5_000);
      expect(collector.frames.map((f) => Buffer.from(f).toString('hex'))).toEqual(frames.map((f) => Buffer.from(f).toString('hex')));
      const verified = FrameCheck.tcpChecksum;
      expect(collector.checks).toEqual([...good.slice(0, 20).map(() => verified), FrameCheck.none, FrameCheck.none, ...good.slice(20).map(() => verified)]);
    } finally {
      device.close();
    }
  });

  it('merges the segments of one flow it finds together in the ring, as core does (receive coalescing)', async () => {
    const from = { srcMac: PEER_MAC, dstMac: OUR_MAC, srcIp: 0xc6120f01, dstIp: 0xc6120f02, ttl: 64, identification: 1 };
    const segment = (index: number, length = 1448, flags: number = TcpFlag.ACK): Uint8Array =>
      encodeTcpFrame(from, {
        srcPort: 80,
        dstPort: 40_000,
        seq: 5000 + index * 1448,
        ack: 1,
        flags,
        window: 1000,
        urgent: 0,
        options: { timestamps: { value: 9, echo: 4 } },
        payload: Uint8Array.from({ length }, (_, i) => (index * 13 + i) & 0xff),
      });
    // Ten full segments and a short one, an ARP request, eight more with PSH on the last.
    const frames = [
      ...Array.from({ length: 10 }, (_, i) => segment(i)),
      segment(10, 700),
      arpRequest(PEER_MAC, lab.serverIp, lab.stackIp),
      ...Array.from({ length: 8 }, (_, i) => segment(20 + i, 1448, i === 7 ? TcpFlag.ACK | TcpFlag.PSH : TcpFlag.ACK)),
    ];
    const expected = coalesceTcpFrames(frames);
    expect(expected.map((f) => f.segmentSize)).toEqual([1448, 0, 1448]);
    // Sent before the device starts reading, so that it finds them all in one walk of the ring.
    const device = PacketRingDevice.open({ iface: lab.clientIface, mac: OUR_MAC });
    const collector = new Collector();
    try {
      await sendFromPeer(lab, frames);
      device.start(collector);
      await collector.until(() => collector.frames.length >= expected.length, 5_000);
      const hex = (frame: Uint8Array): string => Buffer.from(frame).toString('hex');
      expect(collector.frames.map(hex)).toEqual(expected.map((f) => hex(f.frame)));
      expect(collector.segmentSizes).toEqual([1448, 0, 1448]);
      expect(collector.checks).toEqual([FrameCheck.tcpChecksum, FrameCheck.none, FrameCheck.tcpChecksum]);
      expect(device.counters.framesReceived).toBe(frames.length);
      expect(device.counters.framesCoalesced).toBe(frames.length - expected.length);
    } finally {
      device.close();
    }
    // Without it, the same frames come one by one.
    const plain = PacketRingDevice.open({ iface: lab.clientIface, mac: OUR_MAC, receiveCoalescing: false });
    const one = new Collector();
    try {
      await sendFromPeer(lab, frames);
      plain.start(one);
      await one.until(() => one.frames.length >= frames.length, 5_000);
      expect(one.segmentSizes.every((size) => size === 0)).toBe(true);
      expect(plain.counters.framesCoalesced).toBe(0);
    } finally {
      plain.close();
    }
  });

  it('steps over the slots a merged run gave back, lap after lap of a small ring, losing and repeating nothing', async () => {
    const to = (dstMac: number, srcPort: number) => ({
      srcMac: PEER_MAC,
      dstMac,
      srcIp: 0xc6120f01,
      dstIp: 0xc6120f02,
      ttl: 64,
      identification: 1,
      srcPort,
    });
    const segment = (flow: ReturnType<typeof to>, index: number): Uint8Array =>
      encodeTcpFrame(flow, {
        srcPort: flow.srcPort,
        dstPort: 40_000,
        seq: 5000 + index * 500,
        ack: 1,
        flags: TcpFlag.ACK,
        window: 1000,
        urgent: 0,
        options: {},
        payload: Uint8Array.from({ length: 500 }, (_, i) => (index * 7 + i) & 0xff),
      });
    const ours = to(OUR_MAC, 80);
    const someoneElses = to(OTHER_MAC, 81);
    // 300 segments for us; after every 17th, a run of three for another MAC (merged, then dropped).
    const count = 300;
    const frames: Uint8Array[] = [];
    const expectedData: number[] = [];
    for (let i = 0; i < count; i++) {
      const frame = segment(ours, i);
      frames.push(frame);
      expectedData.push(...frame.subarray(14 + 20 + 20));
      if (i % 17 === 16) for (let j = 0; j < 3; j++) frames.push(segment(someoneElses, i * 3 + j));
    }
    // 64 KiB of 2 KiB slots: 32 slots, filled in bursts of 20 that end anywhere in the ring.
    const device = PacketRingDevice.open({ iface: lab.clientIface, mac: OUR_MAC, receiveRingSize: 64 * 1024 });
    const collector = new Collector();
    device.start(collector);
    try {
      await sendFromPeer(lab, frames, 20);
      await collector.until(() => device.counters.framesReceived >= count, 10_000);
      const tcp = collector.frames.filter((frame) => frame[12] === 0x08 && frame[13] === 0x00);
      const data = tcp.flatMap((frame) => [...frame.subarray(14 + 20 + 20)]);
      expect(data).toEqual(expectedData);
      expect(tcp.every((frame) => frame.subarray(0, 6).join() === macBytes(OUR_MAC).join())).toBe(true);
      expect(collector.segmentSizes.some((size) => size === 500)).toBe(true);
      expect(device.counters.framesReceived).toBe(count);
      expect(device.counters.framesCoalesced).toBe(count - tcp.length);
      expect(collector.failures).toEqual([]);
    } finally {
      device.close();
    }
  });

  it('trusts the kernel on checksums: a partial one from the peer stops it, a wrong one is the host\'s to drop', async () => {
    // A segment whose checksum field holds only the pseudo-header sum, injected raw: the kernel
    // did not leave it to offload, so the device hands it on (the host drops it as corrupt).
    const segment = segmentWithSeededChecksum(OUR_MAC, PEER_MAC, lab.serverIp, lab.stackIp);
    const device = PacketRingDevice.open({ iface: lab.clientIface, mac: OUR_MAC });
    const collector = new Collector();
    device.start(collector);
    try {
      await sendFromPeer(lab, [segment]);
      await collector.until(() => collector.frames.length > 0, 3_000);
      expect([...(collector.frames[0] ?? [])]).toEqual([...segment]);
      expect(collector.checks[0]).toBe(FrameCheck.none);
      expect(collector.failures).toEqual([]);

      // Now the real thing: checksum offload on along the server's path, and its kernel opens a
      // connection to our address. Its SYN reaches us with the checksum left for hardware.
      const serverIfaces = ['br0', 'stk', 'cli'];
      const ethtool = (iface: string, state: 'on' | 'off') =>
        lab.exec(lab.serverNs, ['ethtool', '-K', iface, 'tx', state]);
      try {
        for (const iface of serverIfaces) expect((await ethtool(iface, 'on')).code).toBe(0);
        await lab.exec(lab.serverNs, ['ip', 'neigh', 'replace', lab.stackIp, 'lladdr', formatMac(OUR_MAC), 'dev', 'br0']);
        const connect = `import socket\ns = socket.socket(); s.settimeout(0.5)\ns.connect_ex(('${lab.stackIp}', 80))`;
        await lab.exec(lab.serverNs, ['python3', '-c', connect], { timeoutMs: 5_000 });
        await collector.until(() => collector.failures.length > 0, 3_000);
      } finally {
        for (const iface of serverIfaces) await ethtool(iface, 'off');
        await lab.exec(lab.serverNs, ['ip', 'neigh', 'del', lab.stackIp, 'dev', 'br0']);
      }
      expect(collector.failures[0]?.code).toBe('offload');
      expect(collector.failures[0]?.message).toMatch(/checksum was left to checksum offload.*ethtool -K/);
      expect(device.counters.partialChecksums).toBe(1);
      expect(collector.frames).toHaveLength(1);
    } finally {
      device.close();
    }
  });

});

/**
 * A device on a veth pair of its own, up, with a collector started; `change`
 * then does something to the link, and the first failure is returned.
 */
async function failureAfter(
  iface: string,
  change: (iface: string) => Promise<unknown>,
): Promise<{ device: PacketRingDevice; failure: IoPcapError | undefined }> {
  await run('ip', ['link', 'add', iface, 'type', 'veth', 'peer', 'name', `${iface}p`]);
  try {
    await run('ip', ['link', 'set', iface, 'up']);
    const device = PacketRingDevice.open({ iface, mac: OUR_MAC });
    const collector = new Collector();
    device.start(collector);
    await change(iface);
    await collector.until(() => collector.failures.length > 0, 3_000);
    return { device, failure: collector.failures[0] };
  } finally {
    await run('ip', ['link', 'del', iface]).catch(() => undefined);
  }
}

describe('PacketRingDevice when its link fails', () => {
  it('reports an interface that disappears under it as a failure, and the process lives on', async () => {
    const { device, failure } = await failureAfter('tcpd-ringgone', (iface) => run('ip', ['link', 'del', iface]));
    expect(failure?.code).toBe('pcap');
    expect(failure?.message).toBe('capture on tcpd-ringgone stopped: the interface went down or was removed');
    device.send(numberedFrame(PEER_MAC, OUR_MAC, 0));
    device.flush();
    device.close();
  });

  it('fails with the same clear reason when the link goes down', async () => {
    const { device, failure } = await failureAfter('tcpd-ringdown', (iface) => run('ip', ['link', 'set', iface, 'down']));
    expect(failure?.message).toBe('capture on tcpd-ringdown stopped: the interface went down or was removed');
    device.close();
  });
});

describe('PacketRingDevice on a stuck link', () => {
  const iface = 'tcpd-ringstall';

  /**
   * The real addon on a real interface, but for a flush that hands the kernel
   * nothing (it marks the slots as a flush does, and nobody sends them) and a
   * wait for a slot that always runs out: the kernel keeps every slot, as behind
   * a stalled driver or a transmit thread that gets no CPU.
   */
  const stuckAddon = () => {
    const real = loadPacketRing();
    let words: Int32Array | undefined;
    let txBase = 0;
    let slotWords = 0;
    let txFrames = 0;
    const waits: number[] = [];
    const addon: PacketRingAddon = {
      ...real,
      open: (name, frameSize, blockSize, rxBlocks, txBlocks) => {
        const opened = real.open(name, frameSize, blockSize, rxBlocks, txBlocks);
        words = new Int32Array(opened.rings);
        slotWords = frameSize / 4;
        txBase = opened.rxFrames * slotWords;
        txFrames = opened.txFrames;
        return opened;
      },
      flush: (_handle, first, count) => {
        for (let i = 0; i < count; i++) words![txBase + ((first + i) % txFrames) * slotWords] = 1; // TP_STATUS_SEND_REQUEST
        return 0;
      },
      waitForSlot: (_handle, index) => {
        waits.push(index);
        return false;
      },
    };
    /** The kernel sends everything at last: every slot is free again. */
    const unstick = () => {
      for (let i = 0; i < txFrames; i++) words![txBase + i * slotWords] = 0; // TP_STATUS_AVAILABLE
    };
    return { addon, waits, unstick };
  };

  it('waits for a transmit slot once, then drops frames at once until the kernel frees one, and sends again after', async () => {
    await run('ip', ['link', 'del', iface]).catch(() => undefined); // a leftover of an interrupted run
    await run('ip', ['link', 'add', iface, 'type', 'veth', 'peer', 'name', `${iface}p`]);
    try {
      for (const end of [iface, `${iface}p`]) await run('ip', ['link', 'set', end, 'up']);
      const { addon, waits, unstick } = stuckAddon();
      // 64 KiB of 2 KiB slots: 32 of them.
      const device = PacketRingDevice.open({ iface, mac: OUR_MAC, transmitRingSize: 64 * 1024, addon });
      device.start(new Collector());
      try {
        for (let i = 0; i < 200; i++) device.send(numberedFrame(PEER_MAC, OUR_MAC, i));
        // 32 frames fill the ring; the 33rd waits, in vain; the rest are dropped without a wait.
        expect(waits).toHaveLength(1);
        expect(device.counters.transmitStalls).toBe(1);
        expect(device.counters.sendErrors).toBe(200 - 32);

        unstick();
        for (let i = 0; i < 10; i++) device.send(numberedFrame(PEER_MAC, OUR_MAC, 1000 + i));
        expect(device.counters.sendErrors).toBe(200 - 32);
        expect(waits).toHaveLength(1);
        expect(device.counters.transmitStalls).toBe(1);
      } finally {
        device.close();
      }
    } finally {
      await run('ip', ['link', 'del', iface]).catch(() => undefined);
    }
  });
});

describe('PacketRingDevice reading on after a burst', () => {
  const SLOT = 2048;
  const SLOTS = 16;

  /**
   * An addon whose receive ring is plain memory that the test fills as the
   * kernel would (tpacket2 headers, status TP_STATUS_USER), so that frames can
   * arrive at exact points: while the host answers the burst before them.
   */
  const memoryRingAddon = () => {
    const rings = new ArrayBuffer(2 * SLOTS * SLOT);
    const words = new Int32Array(rings);
    const bytes = new Uint8Array(rings);
    let onReadable: ((status: number) => void) | undefined;
    let written = 0;
    const addon: PacketRingAddon = {
      ...loadPacketRing(),
      open: () => ({ handle: {} as RingHandle, rings, rxFrames: SLOTS, txFrames: SLOTS }),
      start: (_handle, callback) => {
        onReadable = callback;
      },
      checkBurst: (_handle, first, limit) => {
        let ready = 0;
        while (ready < limit && (words[(((first + ready) % SLOTS) * SLOT) / 4]! & 1) !== 0) ready++;
        return ready;
      },
      flush: () => 0,
      close: () => undefined,
    };
    /** The kernel puts `frame` in the next receive slot (the tests never fill the ring). */
    const arrive = (frame: Uint8Array): void => {
      const slot = (written % SLOTS) * SLOT;
      if (words[slot / 4] !== 0) throw new Error('the receive ring is full');
      const data = 80;
      bytes.set(frame, slot + data);
      words[(slot + 4) / 4] = frame.length; // tp_len
      words[(slot + 8) / 4] = frame.length; // tp_snaplen
      words[(slot + 12) / 4] = data; // tp_mac (tp_net above it stays 0)
      bytes[slot + 42] = 0; // sll_pkttype: PACKET_HOST
      words[slot / 4] = 1; // TP_STATUS_USER, set last, as the kernel does
      written++;
    };
    return { addon, arrive, wake: () => onReadable?.(0) };
  };

  /** A device on a memory ring, started with `receiver`'s frame and endOfBurst (a failure fails the test). */
  const memoryRingDevice = (receiver: Omit<FrameReceiver, 'failure'>) => {
    const { addon, arrive, wake } = memoryRingAddon();
    const device = PacketRingDevice.open({ iface: 'tcpd-memring', mac: OUR_MAC, mtu: 1500, addon, receiveCoalescing: false });
    device.start({
      ...receiver,
      failure: (error) => {
        throw error;
      },
    });
    return { device, arrive, wake };
  };

  it('reads what arrived while the host answered the burst before, in the same wake-up', () => {
    const seen: number[][] = [[]];
    // As on a veth pair: the ACK sent at the end of a burst brings the peer's next segments at once.
    let answers = 0;
    const { device, arrive, wake } = memoryRingDevice({
      frame: (frame) => seen[seen.length - 1]!.push(numberOf(frame)),
      endOfBurst: () => {
        seen.push([]);
        if (++answers <= 2) for (let i = 0; i < 3; i++) arrive(numberedFrame(OUR_MAC, PEER_MAC, answers * 10 + i));
      },
    });
    for (let i = 0; i < 3; i++) arrive(numberedFrame(OUR_MAC, PEER_MAC, i));
    wake();
    expect(seen).toEqual([[0, 1, 2], [10, 11, 12], [20, 21, 22], []]);
    expect(device.counters.framesReceived).toBe(9);
    device.close();
  });

  it('reads nothing more once the answers to a burst closed it', () => {
    const seen: number[] = [];
    const { device, arrive, wake } = memoryRingDevice({
      frame: (frame) => seen.push(numberOf(frame)),
      endOfBurst: () => {
        for (let i = 0; i < 3; i++) arrive(numberedFrame(OUR_MAC, PEER_MAC, 10 + i));
        device.close();
      },
    });
    for (let i = 0; i < 3; i++) arrive(numberedFrame(OUR_MAC, PEER_MAC, i));
    wake();
    wake();
    expect(seen).toEqual([0, 1, 2]);
  });

  it('stops after one lap of the ring, though frames keep coming; the rest wait for the next wake-up', () => {
    const seen: number[] = [];
    let next = 0;
    let bursts = 0;
    const { device, arrive, wake } = memoryRingDevice({
      frame: (frame) => seen.push(numberOf(frame)),
      // A peer that always has more: five frames after every answer.
      endOfBurst: () => {
        bursts++;
        for (let i = 0; i < 5; i++) arrive(numberedFrame(OUR_MAC, PEER_MAC, next++));
      },
    });
    for (let i = 0; i < 5; i++) arrive(numberedFrame(OUR_MAC, PEER_MAC, next++));
    wake();
    // Sixteen slots: three bursts of five and one frame of the fourth, whose burst ends there.
    expect(seen).toEqual([...Array(SLOTS).keys()]);
    expect(bursts).toBe(4);
    wake();
    expect(seen).toEqual([...Array(SLOTS * 2).keys()]);
    device.close();
  });
});

describe('PacketRingDevice errors', () => {
  it('names a missing interface', () => {
    let caught: unknown;
    try {
      PacketRingDevice.open({ iface: 'tcpd-none0', mac: OUR_MAC });
    } catch (error) {
      caught = error;
    }
    expect((caught as IoPcapError).code).toBe('no-such-interface');
    expect((caught as IoPcapError).message).toContain('"tcpd-none0"');
  });
});
