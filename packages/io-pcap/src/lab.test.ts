import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IoPcapError } from './errors.js';
import { createLab, run, type Lab } from './lab.js';
import { PcapDevice } from './pcap-device.js';

const NAME = 'tcpd-lab';

async function namespacesNamed(prefix: string): Promise<string[]> {
  const listing = await run('ip', ['netns', 'list']);
  return listing.stdout
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((ns) => ns.startsWith(prefix));
}

describe('createLab', () => {
  let lab: Lab;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tcpd-lab-'));
    lab = await createLab({ name: NAME, subnet: 10 });
  });

  afterAll(async () => {
    await lab.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  it('names and addresses its parts after the prefix and subnet', () => {
    expect(lab).toMatchObject({
      serverNs: 'tcpd-lab-srv',
      clientNs: 'tcpd-lab-cli',
      clientIface: 'tcpd-lab-stk',
      serverIp: '198.18.10.1',
      stackIp: '198.18.10.2',
      clientKernelIp: '198.18.10.3',
    });
  });

  it('connects the client kernel to the server kernel', async () => {
    expect(await lab.ping(lab.clientNs, lab.serverIp)).toBe(true);
    expect(await lab.ping(lab.serverNs, lab.clientKernelIp)).toBe(true);
    // Nobody owns the stack's address while the stack is not running.
    expect(await lab.ping(lab.serverNs, lab.stackIp, 300)).toBe(false);
  });

  it('leaves the stack address and interface unconfigured in every kernel', async () => {
    const configured = [
      await run('ip', ['-4', 'addr', 'show']),
      await run('ip', ['-n', lab.serverNs, '-4', 'addr', 'show']),
      await run('ip', ['-n', lab.clientNs, '-4', 'addr', 'show']),
    ];
    for (const listing of configured) {
      expect(listing.code).toBe(0);
      expect(listing.stdout).not.toContain(`inet ${lab.stackIp}/`);
    }
    // The stack's interface carries only the placeholder that keeps libpcap quiet, never our address.
    const rootAddresses = await run('ip', ['-4', 'addr', 'show', 'dev', lab.clientIface]);
    const inet = [...rootAddresses.stdout.matchAll(/inet (\S+)/g)].map((m) => m[1]);
    expect(inet).toEqual([`${lab.serverIp.replace(/\.1$/, '.254')}/32`]);
  });

  it('turns offloads off on the stack interface', async () => {
    const features = await run('ethtool', ['-k', lab.clientIface]);
    expect(features.stdout).toMatch(/^tcp-segmentation-offload: off/m);
    expect(features.stdout).toMatch(/^generic-receive-offload: off/m);
    expect(features.stdout).toMatch(/^tx-checksumming: off/m);
    const serverSide = await lab.exec(lab.serverNs, ['ethtool', '-k', 'stk']);
    expect(serverSide.stdout).toMatch(/^tx-checksumming: off/m);
  });

  it('serves files over HTTP from the server namespace and stops the server', async () => {
    const body = `lab file ${Date.now()}\n`;
    await writeFile(join(dir, 'hello.txt'), body);
    const server = await lab.startHttpServer(dir, 8080);
    const fetched = await lab.exec(lab.clientNs, ['curl', '-sS', '--max-time', '5', `http://${lab.serverIp}:8080/hello.txt`]);
    expect(fetched.stdout).toBe(body);
    await server.stop();
    expect(() => process.kill(server.pid, 0)).toThrow();
    const refused = await lab.exec(lab.clientNs, ['curl', '-sS', '--max-time', '5', `http://${lab.serverIp}:8080/`]);
    expect(refused.code).not.toBe(0);
  });

  it("serves with the congestion control it is given, not the namespace's default", async () => {
    // More than the socket buffers on both sides hold: the server keeps sending while curl reads slowly.
    await writeFile(join(dir, 'sixteen-mib.bin'), Buffer.alloc(16 << 20));
    const server = await lab.startHttpServer(dir, 8081, { congestionControl: 'reno' });
    const url = `http://${lab.serverIp}:8081/sixteen-mib.bin`;
    const download = lab.exec(lab.clientNs, ['curl', '-sS', '-o', '/dev/null', '--limit-rate', '200K', '--max-time', '8', url]);
    try {
      let info = '';
      for (let attempt = 0; attempt < 100 && !/\breno\b/.test(info); attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        info = (await lab.exec(lab.serverNs, ['ss', '-tni', 'state', 'established', 'sport = :8081'])).stdout;
      }
      // The server's socket names its algorithm (ss -i), and has sent data.
      expect(info).toMatch(/\breno\b/);
      expect(info).toMatch(/bytes_acked:[1-9]/);
    } finally {
      await server.stop();
      await download; // ends once the server is gone
    }
  });

  it('reports a failed command instead of throwing', async () => {
    const result = await lab.exec(lab.clientNs, ['sh', '-c', 'echo out; echo err >&2; exit 3']);
    expect(result).toEqual({ stdout: 'out\n', stderr: 'err\n', code: 3 });
  });
});

describe('lab lifecycle', () => {
  it('replaces a stale lab of the same name, and destroy leaves nothing behind, twice', async () => {
    const first = await createLab({ name: 'tcpd-lab2', subnet: 19 });
    // An open capture on the interface about to vanish is closed first (the addon would abort the process).
    const device = PcapDevice.open({ iface: first.clientIface, mac: 0x020000001302 });
    const failures: IoPcapError[] = [];
    device.start({ frame: () => undefined, endOfBurst: () => undefined, failure: (error) => failures.push(error) });
    // A second lab of the same name finds the first one's namespaces and removes them.
    const second = await createLab({ name: 'tcpd-lab2', subnet: 19 });
    expect(failures.map((error) => error.code)).toEqual(['pcap']);
    expect(failures[0]?.message).toMatch(/tcpd-lab2-stk/);
    expect(await namespacesNamed('tcpd-lab2-')).toEqual(expect.arrayContaining(['tcpd-lab2-srv', 'tcpd-lab2-cli']));
    await second.destroy();
    await second.destroy();
    await first.destroy();
    expect(await namespacesNamed('tcpd-lab2-')).toEqual([]);
    expect((await run('ip', ['link', 'show', 'dev', 'tcpd-lab2-stk'])).code).not.toBe(0);
  });

  it('refuses names that would not fit an interface name', async () => {
    await expect(createLab({ name: 'much-too-long-name', subnet: 19 })).rejects.toThrow(/must match/);
    await expect(createLab({ name: 'ok', subnet: 256 })).rejects.toThrow(/0–255/);
  });
});
