/**
 * `pnpm bench:net`: our stack against the Linux kernel's TCP on a veth pair, in
 * the same run and over the same path. Downloads (kernel sender, our receiver)
 * of 10 and 100 MB, clean and with 1% random loss made by nftables on the
 * server's output, the lossy ones both from a server with the namespace's
 * congestion control (the machine's default) and from one with CUBIC, Linux's
 * usual default, which takes random loss for congestion; 1000 MB clean, to
 * /dev/null, for the rate of warm stacks;
 * an upload (our sender, kernel receiver) of 100 MB. Each
 * row runs six times (TCPTS_BENCH_RUNS), the contestants in a rotating
 * order, dirty pages written out before every timed transfer, and prints
 * medians of MB/s and of the runs' ratios with their range, and under each
 * row the whole machine's CPU per transfer; our CLI has made its code cache
 * first. Needs root: it builds its own namespaces.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CaptureKind, createLab, type Lab, PcapStack } from '@tcpts/io-pcap';
import { fetchArgvForLab } from '../demo.js';
import { CLI_NODE_OPTIONS } from '../node-options.js';
import { parseTransferSummary } from '../progress.js';

/** The bundled CLI, as users run it. */
const MAIN = fileURLToPath(new URL('../tcpts.js', import.meta.url));
const HTTP_PORT = 8080;
/**
 * A second server, whose connections use CUBIC. This machine's default is BBR,
 * which does not slow down for random loss; a loss-based sender's rate follows
 * cwnd/RTT, and so how soon the receiver's ACKs come back.
 */
const CUBIC_PORT = 8081;
/** Row labels are this wide, so that the columns line up. */
const LABEL_WIDTH = 32;
const SINK_PORT = 9000;
const MB = 1024 * 1024;
/** Size of the steady-state download, MiB. */
const STEADY_MB = 1000;

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

/** Who takes part in each run of a row: our stack through each capture, and the kernel. */
type Contestant = CaptureKind | 'kernel';
const CONTESTANTS: readonly Contestant[] = [...CAPTURES, 'kernel'];

/**
 * The order of the contestants in run `run` of a row: each run starts one
 * later, so that over three runs each goes first, second and third once. The
 * place matters: a download by our stack right after the kernel's was slower
 * than the next two (100 MB to a file, medians of eight: 184, 208 and
 * 252 MB/s; to /dev/null 275, 311 and 310), while the kernel's own showed no
 * such effect. In a fixed order the first contestant always paid for it.
 */
const rotation = (run: number): Contestant[] =>
  CONTESTANTS.map((_, i) => CONTESTANTS[(i + run) % CONTESTANTS.length]!);

/** A figure of each contestant: one for each capture, in CAPTURES' order, and the kernel's. */
type PerContestant = { readonly ours: readonly number[]; readonly kernel: number };

/** One run's results by contestant, as a Sample's fields. */
const byCapture = (results: ReadonlyMap<Contestant, number>): PerContestant => ({
  ours: CAPTURES.map((capture) => results.get(capture)!),
  kernel: results.get('kernel')!,
});

async function oursDownload(lab: Lab, url: string, out: string, capture: CaptureKind, expectedBytes?: number): Promise<number> {
  const argv = fetchArgvForLab(lab, url, out, ['--stats', '--capture', capture]);
  const { code, stderr } = await run([process.execPath, ...CLI_NODE_OPTIONS, MAIN, ...argv]);
  const summary = parseTransferSummary(stderr);
  if (code !== 0 || !summary) throw new Error(`our fetch failed (exit ${code}): ${stderr.slice(-500)}`);
  if (expectedBytes !== undefined && summary.bytes !== expectedBytes) {
    throw new Error(`our fetch received ${summary.bytes} of ${expectedBytes} bytes`);
  }
  return summary.bytes / MB / summary.seconds;
}

/** Ticks a second of /proc/stat's CPU counters (USER_HZ). */
const USER_HZ = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** CPU time the whole machine has spent busy (user, nice, system, irq and softirq; not idle, iowait or steal), ms. */
function machineBusyMs(): number {
  const [user, nice, system, , , irq, softirq] = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  return ((user! + nice! + system! + irq! + softirq!) * 1000) / USER_HZ;
}

/**
 * `transfer`'s result, and the CPU the whole machine spent meanwhile: both
 * stacks' work, the server's and the kernel's. With two cores both busy it is
 * what sets the rate, and it varies far less from run to run than the rate.
 */
async function withMachineCpu<T>(transfer: () => Promise<T>): Promise<[T, number]> {
  const before = machineBusyMs();
  const result = await transfer();
  return [result, machineBusyMs() - before];
}

/** Kernel curl writes to a file beside ours, so that both pay for the same output. */
async function kernelDownload(lab: Lab, url: string, out: string, expectedBytes?: number): Promise<number> {
  const result = await lab.exec(lab.clientNs, ['curl', '-sS', '-o', out, '-w', '%{speed_download} %{size_download}', url], {
    timeoutMs: 120_000,
  });
  if (result.code !== 0) throw new Error(`kernel curl failed: ${result.stderr}`);
  const [speed, size] = result.stdout.trim().split(' ').map(Number);
  if (expectedBytes !== undefined && size !== expectedBytes) throw new Error(`kernel curl received ${size} of ${expectedBytes} bytes`);
  return speed! / MB;
}

/** A download by `who`, our stack through a capture or kernel curl, in MB/s. */
const download = (lab: Lab, who: Contestant, url: string, out: string, expectedBytes?: number): Promise<number> =>
  who === 'kernel' ? kernelDownload(lab, url, out, expectedBytes) : oursDownload(lab, url, out, who, expectedBytes);

/**
 * The rate once both stacks are warm: 1000 MB, ten times the 100 MB file, to /dev/null on both sides (a
 * file that size makes the page cache's writeback the bottleneck). The sized
 * rows include what a fresh process pays once, V8 compiling its hot code
 * during the transfer; this row shows what each byte costs. The byte count is
 * checked here, the bytes themselves in the other rows.
 */
async function steadyDownload(lab: Lab): Promise<Sample[]> {
  const url = `http://${lab.serverIp}:${HTTP_PORT}/${STEADY_MB}.bin`;
  const samples: Sample[] = [];
  for (let run = 0; run < RUNS; run++) {
    const rates = new Map<Contestant, number>();
    const cpu = new Map<Contestant, number>();
    for (const who of rotation(run)) {
      await settle();
      const [rate, cpuMs] = await withMachineCpu(() => download(lab, who, url, '/dev/null', STEADY_MB * MB));
      rates.set(who, rate);
      cpu.set(who, cpuMs);
    }
    samples.push({ ...byCapture(rates), cpuMs: byCapture(cpu) });
  }
  return samples;
}

/**
 * Random loss on the server's side of the path: of the segments it sends from
 * HTTP_PORT, and of those it receives on SINK_PORT.
 *
 * What the server sends is dropped by the bridge, as it leaves for a port. An
 * IP output hook would see the kernel's TCP segments before they are cut to
 * the MTU, up to 64 KB each, and a drop there is a failed send that TCP simply
 * repeats, not a loss on the path (the sender counts no retransmission for
 * it). What the server receives arrives segment by segment (GRO is off), so
 * the IP input hook loses single segments.
 */
async function setLoss(lab: Lab, percent: number): Promise<void> {
  for (const family of ['bridge', 'inet']) await lab.exec(lab.serverNs, ['nft', 'delete', 'table', family, 'tcpts_bench_loss']);
  if (percent === 0) return;
  const script = [
    'table bridge tcpts_bench_loss {',
    '  chain out { type filter hook output priority 0; policy accept;',
    `    tcp sport { ${HTTP_PORT}, ${CUBIC_PORT} } numgen random mod 100 < ${percent} drop`,
    '  }',
    '}',
    'table inet tcpts_bench_loss {',
    '  chain in { type filter hook input priority 0; policy accept;',
    `    tcp dport ${SINK_PORT} numgen random mod 100 < ${percent} drop`,
    '  }',
    '}',
  ].join('\n');
  const result = await lab.exec(lab.serverNs, ['nft', '-f', '-'], { input: script });
  if (result.code !== 0) throw new Error(`nft refused the loss rule: ${result.stderr}`);
}

async function upload(lab: Lab, bytes: number, order: readonly Contestant[]): Promise<Sample> {
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
    const ours = async (capture: CaptureKind): Promise<void> => {
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
    };
    const kernel = async (): Promise<void> => {
      const python = `import socket,sys\nc=socket.create_connection((sys.argv[1],${SINK_PORT}))\nb=bytes(1<<20)\nfor _ in range(${bytes / MB}): c.sendall(b)\nc.close()`;
      const sent = await lab.exec(lab.clientNs, ['python3', '-c', python, lab.serverIp], { timeoutMs: 120_000 });
      if (sent.code !== 0) throw new Error(`kernel upload failed: ${sent.stderr}`);
    };

    const rates = new Map<Contestant, number>();
    const cpu = new Map<Contestant, number>();
    for (const who of order) {
      const [, cpuMs] = await withMachineCpu(() => (who === 'kernel' ? kernel() : ours(who)));
      rates.set(who, await measure());
      cpu.set(who, cpuMs);
    }
    return { ...byCapture(rates), cpuMs: byCapture(cpu) };
  } finally {
    sink.kill();
  }
}

/**
 * Writes every dirty page out before the next transfer is timed: otherwise the
 * writeback of the files just written (the served ones, the last download)
 * runs during the next measurement and burdens whichever stack comes next.
 */
const settle = (): Promise<unknown> => run(['sync']);

/**
 * Runs of each transfer: this machine varies by a third from run to run, the
 * kernel more, and through loss the Linux sender's retransmission timer fires
 * in some runs and not in others. Six runs give each contestant each place in
 * the rotation twice, and a median that one or two such runs do not decide.
 */
const RUNS = Math.max(1, Number(process.env['TCPTS_BENCH_RUNS'] ?? 6) || 6);

/** One run of a row, its rates in MB/s: ours through each capture and the kernel, over the same path. */
interface Sample extends PerContestant {
  /** Segments the server retransmitted during each transfer, for the download rows. */
  readonly retransmitted?: PerContestant;
  /** How often the server's retransmission timer fired during each transfer, for the download rows. */
  readonly timeouts?: PerContestant;
  /** The whole machine's busy CPU during each transfer, ms. */
  readonly cpuMs?: PerContestant;
}

/** What the server's TCP counted: segments retransmitted, and times its retransmission timer fired. */
interface ServerCounts {
  readonly retransmitted: number;
  readonly timeouts: number;
}

/** One counter of a /proc/net/snmp-style table: a line of names and a line of values, both starting `prefix:`. */
function tableCounter(text: string, prefix: string, name: string): number {
  const [names, values] = text
    .split('\n')
    .filter((line) => line.startsWith(`${prefix}:`))
    .map((line) => line.trim().split(/\s+/));
  const value = Number(values?.[names?.indexOf(name) ?? -1]);
  if (!Number.isFinite(value)) throw new Error(`no ${prefix} ${name} in the server namespace's /proc/net/snmp or /proc/net/netstat`);
  return value;
}

/**
 * The server's counters, from its namespace: tcpRetransSegs (RFC 4022) in /proc/net/snmp, and
 * Linux's TCPTimeouts in /proc/net/netstat, which tells a transfer that waited for the timer
 * (200 ms at least) from one whose losses fast recovery or a loss probe repaired.
 */
async function serverCounts(lab: Lab): Promise<ServerCounts> {
  // One read of both files: their tables' prefixes ("Tcp:", "TcpExt:") differ.
  const tables = (await lab.exec(lab.serverNs, ['cat', '/proc/net/snmp', '/proc/net/netstat'])).stdout;
  return {
    retransmitted: tableCounter(tables, 'Tcp', 'RetransSegs'),
    timeouts: tableCounter(tables, 'TcpExt', 'TCPTimeouts'),
  };
}

/** `transfer`'s result, and what the server counted meanwhile. */
async function counting<T>(lab: Lab, transfer: () => Promise<T>): Promise<[T, ServerCounts]> {
  const before = await serverCounts(lab);
  const result = await transfer();
  const after = await serverCounts(lab);
  return [result, { retransmitted: after.retransmitted - before.retransmitted, timeouts: after.timeouts - before.timeouts }];
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

const fmt = (n: number) => n.toFixed(1).padStart(7);

/** The runs' per-contestant figure `pick` as medians: one for each capture, and the kernel's. */
const mediansOf = (samples: readonly Sample[], pick: (sample: Sample) => PerContestant | undefined): PerContestant => {
  const runs = samples.map(pick).filter((r) => r !== undefined);
  return { ours: CAPTURES.map((_, c) => median(runs.map((r) => r.ours[c]!))), kernel: median(runs.map((r) => r.kernel)) };
};

/** Medians of the runs, and each capture's ratio to the kernel: the median of the runs' ratios, with their range. */
const row = (label: string, samples: readonly Sample[], note = ''): string => {
  const { ours, kernel } = mediansOf(samples, (s) => s);
  const ratios = CAPTURES.map((_, c) => {
    const each = samples.map((s) => s.ours[c]! / s.kernel);
    const range = samples.length > 1 ? ` (${Math.min(...each).toFixed(2)}–${Math.max(...each).toFixed(2)})` : '';
    return `${median(each).toFixed(2)}${range}`.padEnd(17);
  });
  return `${label.padEnd(LABEL_WIDTH)} ${ours.map(fmt).join('  ')}  ${fmt(kernel)}    ${ratios.join(' ')}${note}`;
};

/** Under the row: the server's retransmissions for each stack (medians), which show whether the loss was real and how well each receiver reported it. */
const retransmissionsRow = (samples: readonly Sample[]): string => {
  const { ours, kernel } = mediansOf(samples, (s) => s.retransmitted);
  return `  the server retransmitted ${ours.map((n, c) => `${n} segments to ${CAPTURES[c]}`).join(', ')}, ${kernel} to the kernel (medians)`;
};

/**
 * Under the row: in how many runs the server's retransmission timer fired, for each stack.
 * Such a run waits 200 ms or more, which decides a short transfer: the lossy rows are partly a lottery.
 */
const timeoutsRow = (samples: readonly Pick<Sample, 'timeouts'>[]): string => {
  const runs = samples.map((s) => s.timeouts).filter((t) => t !== undefined);
  const firedIn = (pick: (t: PerContestant) => number): number => runs.filter((t) => pick(t) > 0).length;
  const ours = CAPTURES.map((capture, c) => `${firedIn((t) => t.ours[c]!)} to ${capture}`);
  return `  its retransmission timer fired in ${ours.join(', ')}, ${firedIn((t) => t.kernel)} to the kernel (downloads of ${runs.length})`;
};

/** Our downloads are a fresh CLI process each, as a user runs it; curl starts in a few ms. */
const STARTUP_NOTE = "our CLI's start-up included";

/** Under the row: the whole machine's CPU per transfer for each contestant (medians). */
const cpuRow = (samples: readonly Sample[], note: string): string => {
  const { ours, kernel } = mediansOf(samples, (s) => s.cpuMs);
  return `  the machine's CPU per transfer: ${ours.map((ms, c) => `${ms.toFixed(0)} ms with ${CAPTURES[c]}`).join(', ')}, ${kernel.toFixed(0)} ms with the kernel (medians; ${note})`;
};

/** A kernel HTTP server of the lab: its port, and the congestion control of its connections. */
interface Sender {
  readonly port: number;
  readonly algorithm: string;
}

/** One download row: RUNS rounds of the three contestants fetching `size` MB from `sender`, with the bytes checked. */
async function downloadRow(lab: Lab, dir: string, size: number, loss: number, sender: Sender): Promise<void> {
  const url = `http://${lab.serverIp}:${sender.port}/${size}.bin`;
  const out = join(dir, `got-${size}.bin`);
  const kernelOut = join(dir, `kernel-${size}.bin`);
  const expected = await sha256File(join(dir, `${size}.bin`));
  const samples: Sample[] = [];
  let intact = true;
  for (let run = 0; run < RUNS; run++) {
    const rates = new Map<Contestant, number>();
    const retransmissions = new Map<Contestant, number>();
    const timeouts = new Map<Contestant, number>();
    const cpu = new Map<Contestant, number>();
    for (const who of rotation(run)) {
      await settle();
      const target = who === 'kernel' ? kernelOut : out;
      const [[rate, cpuMs], server] = await counting(lab, () => withMachineCpu(() => download(lab, who, url, target)));
      rates.set(who, rate);
      retransmissions.set(who, server.retransmitted);
      timeouts.set(who, server.timeouts);
      cpu.set(who, cpuMs);
      if (who !== 'kernel') intact &&= (await sha256File(out)) === expected;
      await rm(target, { force: true });
    }
    samples.push({ ...byCapture(rates), retransmitted: byCapture(retransmissions), timeouts: byCapture(timeouts), cpuMs: byCapture(cpu) });
  }
  const label = `download ${String(size).padStart(3)} MB, ${loss}% loss${loss > 0 ? `, ${sender.algorithm}` : ''}`;
  console.log(row(label, samples, intact ? '' : '  BYTES DIFFER'));
  console.log(cpuRow(samples, STARTUP_NOTE));
  if (loss > 0) {
    console.log(retransmissionsRow(samples));
    console.log(timeoutsRow(samples));
  }
}

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
    const hundred = Buffer.concat(Array.from({ length: 10 }, () => randomBytes(10 * MB)));
    await writeFile(join(dir, '100.bin'), hundred);
    await writeFile(join(dir, `${STEADY_MB}.bin`), Array.from({ length: STEADY_MB / 100 }, () => hundred));
    const servers = [await lab.startHttpServer(dir, HTTP_PORT)];
    // Untimed, as a user's earlier runs would: every timed one then starts with V8's code cache
    // (code-cache.ts), which `pnpm build` has just removed, holding both captures' code.
    for (const capture of CAPTURES) await download(lab, capture, `http://${lab.serverIp}:${HTTP_PORT}/10.bin`, '/dev/null', 10 * MB);
    console.log(`MB/s, medians of ${RUNS} runs (TCPTS_BENCH_RUNS); ratios: median of the runs' ratios (range)`);
    console.log(`${' '.repeat(LABEL_WIDTH + 1)}ours MB/s          kernel   ratio to kernel`);
    console.log(`${' '.repeat(LABEL_WIDTH - 1)}libpcap  packet-ring  MB/s   libpcap            packet-ring`);
    const defaultAlgorithm = (await lab.exec(lab.serverNs, ['sysctl', '-n', 'net.ipv4.tcp_congestion_control'])).stdout.trim();
    const senders: Sender[] = [{ port: HTTP_PORT, algorithm: defaultAlgorithm }];
    if (defaultAlgorithm !== 'cubic') {
      servers.push(await lab.startHttpServer(dir, CUBIC_PORT, { congestionControl: 'cubic' }));
      senders.push({ port: CUBIC_PORT, algorithm: 'cubic' });
    }
    for (const loss of [0, 1]) {
      await setLoss(lab, loss);
      for (const sender of loss === 0 ? senders.slice(0, 1) : senders) {
        for (const size of [10, 100]) await downloadRow(lab, dir, size, loss, sender);
      }
      if (loss === 0) {
        const steady = await steadyDownload(lab);
        console.log(row(`download 1000 MB, warm`, steady, '  (both to /dev/null)'));
        console.log(cpuRow(steady, STARTUP_NOTE));
      }
    }
    for (const server of servers) await server.stop();
    for (const loss of [0, 1]) {
      await setLoss(lab, loss);
      const samples: Sample[] = [];
      for (let run = 0; run < RUNS; run++) samples.push(await upload(lab, 100 * MB, rotation(run)));
      console.log(row(`upload   100 MB, ${loss}% loss`, samples));
      console.log(cpuRow(samples, 'ours runs in this process, connection to close'));
    }
    await setLoss(lab, 0);
  } finally {
    await lab.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
