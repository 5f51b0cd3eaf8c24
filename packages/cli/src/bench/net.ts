/**
 * `pnpm bench:net`: our stack against the Linux kernel's TCP on a veth pair, in
 * the same run and over the same path. Downloads (kernel sender, our receiver)
 * of 10 and 100 MB, clean and with 1% random loss made by nftables on the
 * server's output; an upload (our sender, kernel receiver) of 100 MB. Prints
 * MB/s of both stacks and the ratio. Needs root: it builds its own namespaces.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CaptureKind, createLab, type Lab, PcapStack } from '@tcpts/io-pcap';
import { fetchArgvForLab } from '../demo.js';
import { parseTransferSummary } from '../progress.js';

const MAIN = fileURLToPath(new URL('../main.js', import.meta.url));
const HTTP_PORT = 8080;
const SINK_PORT = 9000;
const MB = 1024 * 1024;

/** A TCP sink in the server namespace: reads to EOF, prints bytes and seconds from first byte to EOF. */
const SINK = `
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(4)
print("ready", flush=True)
while True:
    c, _ = s.accept(); n = 0; t0 = None
    while True:
        b = c.recv(1 << 20)
        if not b: break
        if t0 is None: t0 = time.monotonic()
        n += len(b)
    print(n, time.monotonic() - (t0 or time.monotonic()), flush=True); c.close()
`;

const sha256File = async (path: string): Promise<string> => {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
};

const run = (argv: string[]): Promise<{ code: number | null; stderr: string }> =>
  new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });

/** Both ways our stack can reach the interface, each measured against the same kernel run. */
const CAPTURES: readonly CaptureKind[] = ['libpcap', 'packet-ring'];

async function oursDownload(lab: Lab, url: string, out: string, capture: CaptureKind): Promise<number> {
  const argv = fetchArgvForLab(lab, url, out, ['--stats', '--capture', capture]);
  const { code, stderr } = await run([process.execPath, MAIN, ...argv]);
  const summary = parseTransferSummary(stderr);
  if (code !== 0 || !summary) throw new Error(`our fetch failed (exit ${code}): ${stderr.slice(-500)}`);
  return summary.bytes / MB / summary.seconds;
}

/** Kernel curl writes to a file beside ours, so that both pay for the same output. */
async function kernelDownload(lab: Lab, url: string, out: string): Promise<number> {
  const result = await lab.exec(lab.clientNs, ['curl', '-sS', '-o', out, '-w', '%{speed_download}', url], {
    timeoutMs: 120_000,
  });
  if (result.code !== 0) throw new Error(`kernel curl failed: ${result.stderr}`);
  return Number(result.stdout) / MB;
}

/** Random loss on the server's side of the path: of what it sends from HTTP_PORT, and of what it receives on SINK_PORT. */
async function setLoss(lab: Lab, percent: number): Promise<void> {
  await lab.exec(lab.serverNs, ['nft', 'delete', 'table', 'inet', 'tcpts_bench_loss']);
  if (percent === 0) return;
  const script = [
    'table inet tcpts_bench_loss {',
    '  chain out { type filter hook output priority 0; policy accept;',
    `    tcp sport ${HTTP_PORT} numgen random mod 100 < ${percent} drop`,
    '  }',
    '  chain in { type filter hook input priority 0; policy accept;',
    `    tcp dport ${SINK_PORT} numgen random mod 100 < ${percent} drop`,
    '  }',
    '}',
  ].join('\n');
  const result = await lab.exec(lab.serverNs, ['nft', '-f', '-'], { input: script });
  if (result.code !== 0) throw new Error(`nft refused the loss rule: ${result.stderr}`);
}

async function upload(lab: Lab, bytes: number): Promise<{ ours: number[]; kernel: number }> {
  const sink = spawn('ip', ['netns', 'exec', lab.serverNs, 'python3', '-c', SINK, lab.serverIp, String(SINK_PORT)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const lines: string[] = [];
    let partial = '';
    let waiting: (() => void) | undefined;
    sink.stdout.setEncoding('utf8').on('data', (d: string) => {
      // A chunk may end in the middle of a line: keep the rest for the next one.
      const parts = (partial + d).split('\n');
      partial = parts.pop() ?? '';
      lines.push(...parts.filter(Boolean));
      waiting?.();
    });
    const nextLine = async (): Promise<string> => {
      const deadline = Date.now() + 120_000;
      while (lines.length === 0) {
        if (Date.now() > deadline) throw new Error('the sink said nothing');
        await new Promise<void>((resolve) => {
          waiting = resolve;
          setTimeout(resolve, 200);
        });
      }
      return lines.shift()!;
    };
    if ((await nextLine()) !== 'ready') throw new Error('the sink did not start');
    const chunk = randomBytes(MB);
    const measure = async (): Promise<number> => {
      const [n, seconds] = (await nextLine()).split(' ').map(Number);
      if (n !== bytes) throw new Error(`the sink received ${n} of ${bytes} bytes`);
      return bytes / MB / seconds!;
    };

    const ours: number[] = [];
    for (const capture of CAPTURES) {
      const stack = await PcapStack.open({ iface: lab.clientIface, ip: lab.stackIp, prefixLength: lab.prefixLength, capture });
      try {
        const socket = await stack.connect(lab.serverIp, SINK_PORT, { timeoutMs: 10_000 });
        for (let sent = 0; sent < bytes; sent += chunk.length) {
          if (!socket.write(chunk)) await once(socket, 'drain');
        }
        socket.end();
        await once(socket, 'finish');
        socket.resume();
        await once(socket, 'close').catch(() => undefined);
      } finally {
        await stack.close();
      }
      ours.push(await measure());
    }
    const python = `import socket,sys\nc=socket.create_connection((sys.argv[1],${SINK_PORT}))\nb=bytes(1<<20)\nfor _ in range(${bytes / MB}): c.sendall(b)\nc.close()`;
    const sent = await lab.exec(lab.clientNs, ['python3', '-c', python, lab.serverIp], { timeoutMs: 120_000 });
    if (sent.code !== 0) throw new Error(`kernel upload failed: ${sent.stderr}`);
    return { ours, kernel: await measure() };
  } finally {
    sink.kill();
  }
}

const fmt = (n: number) => n.toFixed(1).padStart(7);
const row = (label: string, ours: readonly number[], kernel: number, note = ''): string =>
  `${label} ${ours.map(fmt).join('  ')}  ${fmt(kernel)}    ${ours.map((o) => (o / kernel).toFixed(2).padStart(5)).join('  ')}${note}`;

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.error('bench:net builds network namespaces: run it as root');
    process.exitCode = 77;
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'tcpts-bench-'));
  const lab = await createLab({ name: 'tcpts-bench', subnet: 3 });
  const stop = () => void lab.destroy().finally(() => process.exit(130));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await writeFile(join(dir, '10.bin'), randomBytes(10 * MB));
    await writeFile(join(dir, '100.bin'), Buffer.concat(Array.from({ length: 10 }, () => randomBytes(10 * MB))));
    const server = await lab.startHttpServer(dir, HTTP_PORT);
    console.log('                         ours MB/s          kernel   ratio to kernel');
    console.log('                       libpcap  packet-ring  MB/s   libpcap  packet-ring');
    for (const loss of [0, 1]) {
      await setLoss(lab, loss);
      for (const size of [10, 100]) {
        const url = `http://${lab.serverIp}:${HTTP_PORT}/${size}.bin`;
        const out = join(dir, `got-${size}.bin`);
        const expected = await sha256File(join(dir, `${size}.bin`));
        const ours: number[] = [];
        let intact = true;
        for (const capture of CAPTURES) {
          ours.push(await oursDownload(lab, url, out, capture));
          intact &&= (await sha256File(out)) === expected;
          await rm(out, { force: true });
        }
        const kernelOut = join(dir, `kernel-${size}.bin`);
        const kernel = await kernelDownload(lab, url, kernelOut);
        await rm(kernelOut, { force: true });
        console.log(row(`download ${String(size).padStart(3)} MB, ${loss}% loss`, ours, kernel, intact ? '' : '  BYTES DIFFER'));
      }
    }
    await (server as { stop(): Promise<void> }).stop();
    for (const loss of [0, 1]) {
      await setLoss(lab, loss);
      const up = await upload(lab, 100 * MB);
      console.log(row(`upload   100 MB, ${loss}% loss`, up.ours, up.kernel));
    }
    await setLoss(lab, 0);
  } finally {
    await lab.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
