import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseIpv4 } from './addresses.js';
import type { IoPcapError } from './errors.js';
import { createLab, type HttpServerHandle, type Lab } from './lab.js';
import { RAW_LINK_HOST_MAC, RAW_LINK_PEER_MAC, RawIpDevice, rstTableName, withRstSuppressed } from './raw-ip-device.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const PACKAGES = join(HERE, '..', '..');

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

async function transpileTree(from: string, to: string): Promise<void> {
  for (const file of await sourceFiles(from)) {
    const output = ts.transpileModule(await readFile(file, 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
    });
    const target = join(to, relative(from, file)).replace(/\.ts$/, '.js');
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, output.outputText);
  }
}

/**
 * Our process cannot enter a namespace, and Node cannot run TypeScript: this
 * lays out the sources of io-pcap and core as plain ES modules, with their
 * dependencies linked in, for `ip netns exec <ns> node <dir>/<script>`.
 */
async function buildChildTree(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'tcpd-raw-'));
  await writeFile(join(root, 'package.json'), '{"type":"module"}');
  await transpileTree(HERE, join(root, 'io-pcap'));
  const core = join(root, 'node_modules', '@tcpts', 'core');
  await transpileTree(join(PACKAGES, 'core', 'src'), core);
  await writeFile(join(core, 'package.json'), '{"name":"@tcpts/core","type":"module","exports":"./index.js"}');
  const links: [string, string][] = [
    ['fp-ts', join(PACKAGES, 'core', 'node_modules', 'fp-ts')],
    ['xstate', join(PACKAGES, 'core', 'node_modules', 'xstate')],
    ['cap', join(PACKAGES, 'io-pcap', 'node_modules', 'cap')],
    ['raw-socket', join(PACKAGES, 'io-pcap', 'node_modules', 'raw-socket')],
  ];
  for (const [name, target] of links) await symlink(await realpath(target), join(root, 'node_modules', name));
  return root;
}

interface ChildOutcome {
  stdout: string;
  stderr: string;
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Runs `node <script> args…` inside `ns`; `onStdout` sees output as it comes. */
function runInNamespace(
  ns: string,
  script: string,
  args: string[],
  onStdout?: (text: string, pid: number) => void,
  timeoutMs = 30_000,
): Promise<ChildOutcome> {
  // Resolved on 'close', once the output is all read: 'exit' can come before the last of it.
  return new Promise((resolve) => {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      onStdout?.(stdout, child.pid ?? 0);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, code, signal });
    });
  });
}

/** Where a peer of one test answers late. */
const SLOW_PORT = 8090;

const FETCH_SCRIPT = `
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { openRawIpStack, rstTableName, withRstSuppressed } from './io-pcap/raw-ip-device.js';
const [ip, serverIp, serverPort, localPortText, suppress] = process.argv.slice(2);
const localPort = Number(localPortText);
async function fetchBlob() {
  const stack = openRawIpStack({ ip });
  try {
    const socket = await stack.connect(serverIp, Number(serverPort), { timeoutMs: 3000, localPort });
    socket.write('GET /blob.bin HTTP/1.0\\r\\nHost: ' + serverIp + '\\r\\n\\r\\n');
    const chunks = [];
    for await (const chunk of socket) chunks.push(chunk);
    const response = Buffer.concat(chunks);
    const body = response.subarray(response.indexOf('\\r\\n\\r\\n') + 4);
    const table = suppress === 'yes'
      ? execFileSync('nft', ['list', 'table', 'ip', rstTableName(localPort)], { encoding: 'utf8' })
      : '';
    return { length: body.length, sha256: createHash('sha256').update(body).digest('hex'), table };
  } catch (error) {
    return { error: error.code ?? error.message };
  } finally {
    await stack.close();
  }
}
const result = suppress === 'yes' ? await withRstSuppressed(localPort, fetchBlob) : await fetchBlob();
console.log(JSON.stringify(result));
`;

/**
 * A connection that waits with nothing in flight, while the garbage collector runs: nothing but
 * the stack holds its raw socket then, and the socket must stay open (and keep the process alive).
 */
const IDLE_GC_SCRIPT = `
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { openRawIpStack, withRstSuppressed } from './io-pcap/raw-ip-device.js';
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');
const [ip, serverIp, serverPort, localPortText] = process.argv.slice(2);
const localPort = Number(localPortText);
const result = await withRstSuppressed(localPort, async () => {
  const stack = openRawIpStack({ ip });
  try {
    const socket = await stack.connect(serverIp, Number(serverPort), { timeoutMs: 3000, localPort });
    socket.write('hello');
    // The server answers half a second later. Meanwhile the collector runs, from a timer that
    // neither holds the process nor refers to the stack: only the raw socket keeps both alive.
    setTimeout(() => gc(), 100).unref();
    let answer = '';
    for await (const chunk of socket) answer += chunk.toString();
    return { answer };
  } catch (error) {
    return { error: error.code ?? error.message };
  } finally {
    await stack.close();
  }
});
console.log(JSON.stringify(result));
`;

const HOLD_SCRIPT = `
import { withRstSuppressed } from './io-pcap/raw-ip-device.js';
await withRstSuppressed(Number(process.argv[2]), () => {
  console.log('installed');
  return new Promise(() => setInterval(() => undefined, 1000));
});
`;

/** A PcapStack in a process of its own, closed mid-transfer: afterwards nothing may keep the process alive. */
const EXIT_SCRIPT = `
import { PcapStack } from './io-pcap/realtime-driver.js';
const [iface, ip, serverIp] = process.argv.slice(2);
const stack = await PcapStack.open({ iface, ip });
const socket = await stack.connect(serverIp, 8080, { timeoutMs: 5000 });
socket.on('error', () => undefined);
socket.write('GET /blob.bin HTTP/1.0\\r\\n\\r\\n');
await new Promise((resolve) => socket.once('data', resolve));
await stack.close();
console.log(JSON.stringify({ destroyed: socket.destroyed, state: socket.state() ?? null }));
`;

describe('RawIpDevice', () => {
  it('answers the host ARP requests itself, as the only neighbour there is', async () => {
    const device = RawIpDevice.open({ ip: parseIpv4('198.18.13.250') });
    const batches: Uint8Array[][] = [];
    let burst: Uint8Array[] = [];
    device.start({
      frame: (bytes) => burst.push(bytes.slice()),
      endOfBurst: () => {
        batches.push(burst);
        burst = [];
      },
      failure: () => undefined,
    });
    try {
      const request = Uint8Array.from([
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x06,
        0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01,
        0x02, 0, 0, 0, 0, 0x01, 198, 18, 13, 250,
        0, 0, 0, 0, 0, 0, 198, 18, 13, 1,
      ]);
      device.send(request);
      await new Promise((resolve) => setImmediate(resolve));
      const reply = batches.flat()[0];
      expect(reply).toBeDefined();
      const bytes = [...(reply as Uint8Array)];
      expect(bytes.slice(12, 14)).toEqual([0x08, 0x06]);
      expect(bytes.slice(20, 22)).toEqual([0, 2]);
      expect(Number.parseInt(Buffer.from(bytes.slice(22, 28)).toString('hex'), 16)).toBe(RAW_LINK_PEER_MAC);
      expect(bytes.slice(28, 32)).toEqual([198, 18, 13, 1]);
      expect(Number.parseInt(Buffer.from(bytes.slice(32, 38)).toString('hex'), 16)).toBe(RAW_LINK_HOST_MAC);
      expect(bytes.slice(38, 42)).toEqual([198, 18, 13, 250]);
      expect(device.counters.framesSent).toBe(0);
    } finally {
      device.close();
    }
  });
});

describe('withRstSuppressed', () => {
  it('refuses clearly, and runs nothing, when nft is missing', async () => {
    let ran = false;
    const attempt = withRstSuppressed(
      40_000,
      async () => {
        ran = true;
      },
      { nft: '/nonexistent/nft' },
    );
    await expect(attempt).rejects.toThrow(/nftables is not installed/);
    await attempt.catch((error: IoPcapError) => expect(error.code).toBe('pcap'));
    expect(ran).toBe(false);
  });
});

describe('raw IP stack in a namespace, sharing the kernel address', () => {
  let lab: Lab;
  let tree: string;
  let dir: string;
  let server: HttpServerHandle;
  const content = randomBytes(512 * 1024 + 7);

  const tablesInClient = async (): Promise<string> => (await lab.exec(lab.clientNs, ['nft', 'list', 'tables'])).stdout;

  beforeAll(async () => {
    lab = await createLab({ name: 'tcpd-raw', subnet: 13 });
    dir = await mkdtemp(join(tmpdir(), 'tcpd-raw-www-'));
    await writeFile(join(dir, 'blob.bin'), content);
    server = await lab.startHttpServer(dir, 8080);
    tree = await buildChildTree();
    await writeFile(join(tree, 'fetch.js'), FETCH_SCRIPT);
    await writeFile(join(tree, 'hold.js'), HOLD_SCRIPT);
    await writeFile(join(tree, 'idle-gc.js'), IDLE_GC_SCRIPT);
    await writeFile(join(tree, 'exit.js'), EXIT_SCRIPT);
  });

  afterAll(async () => {
    await server?.stop();
    await lab?.destroy();
    for (const path of [tree, dir]) if (path !== undefined) await rm(path, { recursive: true, force: true });
  });

  it('fetches a file while the kernel RSTs are dropped, and removes the filter afterwards', async () => {
    const outcome = await runInNamespace(lab.clientNs, join(tree, 'fetch.js'), [
      lab.clientKernelIp,
      lab.serverIp,
      '8080',
      '40001',
      'yes',
    ]);
    expect(outcome).toMatchObject({ stderr: '', code: 0, signal: null });
    const result = JSON.parse(outcome.stdout) as { length: number; sha256: string; table: string; error?: string };
    expect(result.error).toBeUndefined();
    expect(result.length).toBe(content.length);
    expect(result.sha256).toBe(createHash('sha256').update(content).digest('hex'));
    // The kernel did try to reset our connection: the rule counted and dropped its RSTs.
    const dropped = /counter packets (\d+)/.exec(result.table);
    expect(Number(dropped?.[1])).toBeGreaterThan(0);
    expect(await tablesInClient()).not.toContain(rstTableName(40001));
  });

  it('keeps its raw socket open through garbage collection while a connection waits with nothing in flight', async () => {
    // A peer that answers half a second after it is spoken to, then closes.
    const script = [
      'import socket, sys, time',
      's = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)',
      `s.bind(('${lab.serverIp}', ${SLOW_PORT})); s.listen(1)`,
      'print("ready", flush=True)',
      'c, _ = s.accept(); c.recv(100); time.sleep(0.5); c.sendall(b"late answer"); c.close()',
    ].join('\n');
    const peer = spawn('ip', ['netns', 'exec', lab.serverNs, 'python3', '-c', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve) => peer.stdout.once('data', () => resolve()));
      const outcome = await runInNamespace(lab.clientNs, join(tree, 'idle-gc.js'), [
        lab.clientKernelIp,
        lab.serverIp,
        String(SLOW_PORT),
        '40004',
      ]);
      expect(outcome).toMatchObject({ stderr: '', code: 0, signal: null });
      expect(JSON.parse(outcome.stdout)).toEqual({ answer: 'late answer' });
    } finally {
      peer.kill();
    }
  });

  it('loses the connection to the kernel RSTs without suppression', async () => {
    const outcome = await runInNamespace(lab.clientNs, join(tree, 'fetch.js'), [
      lab.clientKernelIp,
      lab.serverIp,
      '8080',
      '40002',
      'no',
    ]);
    const result = JSON.parse(outcome.stdout) as { length?: number; error?: string };
    expect(result.error ?? `received ${result.length} bytes`).toMatch(/ECONNRESET|ETIMEDOUT|ECONNREFUSED/);
  });

  it('lets a PcapStack process exit by itself once the stack is closed', async () => {
    const started = performance.now();
    const outcome = await new Promise<ChildOutcome>((resolve) => {
      const child = spawn(process.execPath, [join(tree, 'exit.js'), lab.clientIface, lab.stackIp, lab.serverIp], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ stdout, stderr, code, signal });
      });
    });
    expect(outcome.signal).toBeNull();
    expect(outcome.code).toBe(0);
    expect(JSON.parse(outcome.stdout)).toEqual({ destroyed: true, state: null });
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it('removes the filter when the process is terminated by a signal', async () => {
    let signalled = false;
    let tablesWhileHeld = '';
    const outcome = await runInNamespace(lab.clientNs, join(tree, 'hold.js'), ['40003'], (stdout, pid) => {
      if (signalled || !stdout.includes('installed')) return;
      signalled = true;
      void tablesInClient().then((tables) => {
        tablesWhileHeld = tables;
        process.kill(pid, 'SIGTERM');
      });
    });
    expect(outcome.stderr).toBe('');
    expect(signalled).toBe(true);
    expect(tablesWhileHeld).toContain(rstTableName(40003));
    expect(outcome.signal).toBe('SIGTERM');
    expect(await tablesInClient()).not.toContain(rstTableName(40003));
  });
});
