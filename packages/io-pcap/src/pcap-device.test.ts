import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMac } from './addresses.js';
import { Capture } from './cap-binding.js';
import { IoPcapError } from './errors.js';
import type { FrameReceiver } from './frame-device.js';
import { createLab, type Lab } from './lab.js';
import { PcapDevice } from './pcap-device.js';
import { arpRequest, ipBytes, macBytes, segmentWithSeededChecksum } from './testing/frames.js';

const OUR_MAC = parseMac('02:00:00:00:0b:02');
const HERE = dirname(fileURLToPath(import.meta.url));

/** Collects what a device delivers; resolves `until` once a frame satisfies the predicate. */
class Collector implements FrameReceiver {
  readonly batches: Uint8Array[][] = [];
  failures: IoPcapError[] = [];
  private burst: Uint8Array[] = [];
  private waiters: { predicate: () => boolean; resolve: () => void }[] = [];

  get all(): Uint8Array[] {
    return this.batches.flat();
  }

  frame(bytes: Uint8Array): void {
    // Valid only during the call: keep a copy.
    this.burst.push(bytes.slice());
  }

  endOfBurst(): void {
    this.batches.push(this.burst);
    this.burst = [];
    this.check();
  }

  failure(error: IoPcapError): void {
    this.failures.push(error);
    this.check();
  }

  until(predicate: () => boolean, timeoutMs: number): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`condition not met within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        predicate,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  private check(): void {
    this.waiters = this.waiters.filter((waiter) => {
      if (!waiter.predicate()) return true;
      waiter.resolve();
      return false;
    });
  }
}

const isArpReplyFrom = (ip: string) => (frame: Uint8Array) =>
  frame[12] === 0x08 && frame[13] === 0x06 && frame[21] === 2 && frame.subarray(28, 32).join('.') === ip;

describe('PcapDevice in a lab', () => {
  let lab: Lab;
  let injector: Capture | undefined;

  beforeAll(async () => {
    lab = await createLab({ name: 'tcpd-dev', subnet: 11 });
  });

  afterAll(async () => {
    injector?.close();
    await lab.destroy();
  });

  it('sends a hand-made ARP request and captures the kernel reply', async () => {
    const device = PcapDevice.open({ iface: lab.clientIface, mac: OUR_MAC });
    const collector = new Collector();
    device.start(collector);
    try {
      expect(device.mtu).toBe(1500);
      device.send(arpRequest(OUR_MAC, lab.stackIp, lab.serverIp));
      await collector.until(() => collector.all.some(isArpReplyFrom(lab.serverIp)), 3_000);
      const reply = collector.all.find(isArpReplyFrom(lab.serverIp));
      expect(reply).toBeDefined();
      const frame = reply as Uint8Array;
      expect([...frame.subarray(0, 6)]).toEqual(macBytes(OUR_MAC));
      // Target hardware/protocol address of the reply: ours.
      expect([...frame.subarray(32, 38)]).toEqual(macBytes(OUR_MAC));
      expect([...frame.subarray(38, 42)]).toEqual(ipBytes(lab.stackIp));
      expect(device.counters.framesSent).toBe(1);
      expect(device.counters.framesReceived).toBeGreaterThanOrEqual(1);
    } finally {
      device.close();
    }
  });

  it('keeps only frames for its MAC and broadcasts, and delivers injected bursts in order', async () => {
    const device = PcapDevice.open({ iface: lab.clientIface, mac: OUR_MAC });
    const collector = new Collector();
    device.start(collector);
    // A second capture handle on the same interface: its injected frames are seen by the device's handle.
    injector = Capture.open(lab.clientIface, 'ether host 02:00:00:00:ff:ff', 1 << 20);
    try {
      const burst = 50;
      const frameTo = (mac: number, index: number): Buffer =>
        Buffer.from([...macBytes(mac), 2, 0, 0, 0, 0xff, 0xff, 0x88, 0xb5, index >> 8, index & 0xff, ...new Array(44).fill(0)]);
      for (let i = 0; i < burst; i++) {
        injector.send(frameTo(parseMac('02:00:00:00:0b:99'), i)); // someone else's: filtered out
        injector.send(frameTo(OUR_MAC, i));
      }
      const ours = (): Uint8Array[] => collector.all.filter((frame) => frame[12] === 0x88 && frame[13] === 0xb5);
      await collector.until(() => ours().length >= burst, 3_000);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const received = ours();
      expect(received).toHaveLength(burst);
      for (const frame of received) expect([...frame.subarray(0, 6)]).toEqual(macBytes(OUR_MAC));
      expect(received.map((frame) => ((frame[14] ?? 0) << 8) | (frame[15] ?? 0))).toEqual([...Array(burst).keys()]);
      // Frames read in one poll turn arrive together.
      expect(collector.batches.length).toBeLessThanOrEqual(burst);
      expect(collector.failures).toEqual([]);
    } finally {
      injector.close();
      injector = undefined;
      device.close();
    }
  });

  it('fails with offload advice on a super-frame and on a partial checksum', async () => {
    const inject = Capture.open(lab.clientIface, 'ether host 02:00:00:00:ff:ff', 1 << 20);
    try {
      // The kernel refuses to send frames above the link MTU: the device is told the MTU is smaller.
      const superFrame = Buffer.alloc(1000 + 14 + 100);
      superFrame.set([...macBytes(OUR_MAC), 2, 0, 0, 0, 0xff, 0xff, 0x08, 0x00], 0);
      const oversized = PcapDevice.open({ iface: lab.clientIface, mac: OUR_MAC, mtu: 1000 });
      const first = new Collector();
      oversized.start(first);
      inject.send(superFrame);
      await first.until(() => first.failures.length > 0, 3_000);
      oversized.close();
      expect(first.failures[0]?.code).toBe('offload');
      expect(first.failures[0]?.message).toContain(`ethtool -K ${lab.clientIface} tso off gso off gro off tx off rx off`);
      expect(oversized.counters.oversized).toBe(1);

      // A TCP segment whose checksum field holds only the pseudo-header sum.
      const segment = Buffer.from(segmentWithSeededChecksum(OUR_MAC, parseMac('02:00:00:00:ff:ff'), lab.serverIp, lab.stackIp));
      const partial = PcapDevice.open({ iface: lab.clientIface, mac: OUR_MAC });
      const second = new Collector();
      partial.start(second);
      inject.send(segment);
      await second.until(() => second.failures.length > 0, 3_000);
      partial.close();
      expect(second.failures[0]?.code).toBe('offload');
      expect(second.failures[0]?.message).toMatch(/checksum/);
      expect(partial.counters.partialChecksums).toBe(1);
      expect(second.all).toEqual([]);
    } finally {
      inject.close();
    }
  });
});

describe('PcapDevice errors', () => {
  it('names a missing interface and lists the ones that exist', () => {
    let caught: unknown;
    try {
      PcapDevice.open({ iface: 'tcpd-none0', mac: OUR_MAC });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(IoPcapError);
    expect((caught as IoPcapError).code).toBe('no-such-interface');
    expect((caught as IoPcapError).message).toMatch(/"tcpd-none0".*\blo\b/);
  });

  it('tells an unprivileged user to run as root, through libpcap and through the packet ring', async () => {
    // The child runs this package's own device code, transpiled, as user nobody.
    const dir = await mkdtemp(join(tmpdir(), 'tcpd-perm-'));
    try {
      const modules = [
        'addresses',
        'cap-binding',
        'errors',
        'frame-device',
        'offload-check',
        'package-require',
        'pcap-device',
        'packet-ring-binding',
        'packet-ring-device',
      ];
      await mkdir(join(dir, 'src'));
      for (const name of modules) {
        const source = await readFile(join(HERE, `${name}.ts`), 'utf8');
        const output = ts.transpileModule(source, {
          compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
        });
        await writeFile(join(dir, 'src', `${name}.js`), output.outputText);
      }
      // The ring addon sits where the binding looks for it, relative to the package root.
      await mkdir(join(dir, 'native', 'build'), { recursive: true });
      await copyFile(join(HERE, '..', 'native', 'build', 'packet-ring.node'), join(dir, 'native', 'build', 'packet-ring.node'));
      // Named as this package, so that the addons are found from the temp dir's root as from the package's.
      await writeFile(join(dir, 'package.json'), '{"name":"@tcpts/io-pcap","type":"module","exports":{".":"./src/pcap-device.js"}}');
      // The device code imports the core (its frame allocator): make it resolvable from the temp dir.
      await mkdir(join(dir, 'node_modules', '@tcpts'), { recursive: true });
      await symlink(join(HERE, '..', '..', 'core'), join(dir, 'node_modules', '@tcpts', 'core'));
      await writeFile(
        join(dir, 'child.js'),
        `import { PcapDevice } from './src/pcap-device.js';
import { PacketRingDevice } from './src/packet-ring-device.js';
const outcomes = [];
for (const Device of [PcapDevice, PacketRingDevice]) {
  try { Device.open({ iface: 'lo', mac: 2 }).close(); outcomes.push({ opened: true }); }
  catch (error) { outcomes.push({ code: error.code, message: error.message }); }
}
console.log(JSON.stringify(outcomes));`,
      );
      await chmod(dir, 0o755);
      const asNobody = ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, join(dir, 'child.js')];
      const stdout = await new Promise<string>((resolve, reject) => {
        execFile(
          'setpriv',
          asNobody,
          { timeout: 10_000, env: { ...process.env, NODE_PATH: join(HERE, '..', 'node_modules') } },
          (error, out, err) => (error ? reject(new Error(`${error.message}: ${err}`)) : resolve(out)),
        );
      });
      const outcomes = JSON.parse(stdout) as { code?: string; message?: string }[];
      expect(outcomes).toHaveLength(2);
      for (const outcome of outcomes) {
        expect(outcome.code).toBe('permission-denied');
        expect(outcome.message).toMatch(/run as root/);
        expect(outcome.message).toContain('lo');
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
