/**
 * `tcpts demo`: a self-contained show of the stack against the Linux kernel.
 * A namespace lab, a kernel HTTP server, a page and a random file, fetched over
 * our stack by a child `tcpts fetch` (the file both through libpcap and through
 * the packet ring); each must arrive with the same sha256.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';
import type { CaptureKind, Lab } from '@tcpts/io-pcap';
import { ExitCode } from './errors.js';
import { CLI_NODE_OPTIONS } from './node-options.js';
import type { CliIo } from './fetch.js';
import { formatBytes, megabytesPerSecond, parseTransferSummary } from './progress.js';

export interface DemoOptions {
  readonly megabytes: number;
  readonly keepFiles: boolean;
}

/** `fetch URL` over a lab's stack: its interface, our address and prefix, the body into `out`. */
export const fetchArgvForLab = (
  lab: Pick<DemoLab, 'clientIface' | 'stackIp' | 'prefixLength'>,
  url: string,
  out: string,
  extra: readonly string[] = [],
): string[] => [
  'fetch',
  url,
  '--iface',
  lab.clientIface,
  '--ip',
  lab.stackIp,
  '--prefix',
  String(lab.prefixLength),
  '-o',
  out,
  ...extra,
];

/** The part of a namespace lab (`createLab` of io-pcap) that the demo uses. */
export type DemoLab = Pick<
  Lab,
  | 'serverNs'
  | 'clientNs'
  | 'clientIface'
  | 'serverIp'
  | 'stackIp'
  | 'clientKernelIp'
  | 'prefixLength'
  | 'startHttpServer'
  | 'exec'
  | 'destroy'
>;

export interface DemoDependencies {
  readonly createLab: (options: { name: string; subnet: number }) => Promise<DemoLab>;
  /** The CLI the child fetches run: the bundle `pnpm build` makes, dist/tcpts.js. */
  readonly mainScript: string;
  readonly isRoot: () => boolean;
  /** Whether an interface exists in our own namespace (else the child runs inside the client namespace). */
  readonly hasLocalInterface: (iface: string) => boolean;
  /** Where the temporary directory goes. */
  readonly tempRoot: string;
}

/** Exit code of the demo when a file arrived damaged or a fetch failed without its own code. */
export const demoCheckFailed = 1;

const LAB_NAME = 'tcpts-demo';
const LAB_SUBNET = 1;
const HTTP_PORT = 8080;
const CHILD_TIMEOUT_MS = 180_000;

const loadCreateLab: DemoDependencies['createLab'] = async (options) => {
  // Loaded on use: the native capture addon is not needed for anything else the CLI does.
  const { createLab } = await import('@tcpts/io-pcap');
  return createLab(options);
};

export const defaultDemoDependencies: DemoDependencies = {
  createLab: loadCreateLab,
  mainScript: fileURLToPath(new URL('./tcpts.js', import.meta.url)),
  isRoot: () => process.getuid?.() === 0,
  hasLocalInterface: (iface) => existsSync(`/sys/class/net/${iface}`),
  tempRoot: tmpdir(),
};

const samplePage = (): string =>
  [
    '<!doctype html>',
    '<html><head><meta charset="utf-8"><title>tcpts demo</title></head>',
    '<body><h1>Hello from the kernel</h1>',
    '<p>This page travelled over a TCP/IP stack written in TypeScript.</p>',
    '</body></html>',
    '',
  ].join('\n');

const sha256File = async (path: string): Promise<string> => {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
};

/** Writes `megabytes` of random bytes, returning their sha256. */
const writeRandomFile = async (path: string, megabytes: number): Promise<string> => {
  const hash = createHash('sha256');
  const out = createWriteStream(path);
  for (let i = 0; i < megabytes; i++) {
    const block = randomBytes(1024 * 1024);
    hash.update(block);
    if (!out.write(block)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'close');
  return hash.digest('hex');
};

interface ChildOutcome {
  readonly code: number | null;
  readonly stderr: string;
  readonly wallMs: number;
}

class DemoRun {
  private readonly children = new Set<ReturnType<typeof spawn>>();
  private lab: DemoLab | undefined;
  private labPending: Promise<DemoLab> | undefined;
  private workDir: string | undefined;
  private readonly say: (text: string) => void;

  constructor(
    private readonly options: DemoOptions,
    private readonly io: CliIo,
    private readonly deps: DemoDependencies,
  ) {
    this.say = (text) => {
      io.stdout.write(`${text}\n`);
    };
  }

  private interrupted(): boolean {
    return this.io.signal?.aborted === true;
  }

  private checkInterrupted(): void {
    if (this.interrupted()) throw new DemoInterrupted();
  }

  async run(): Promise<number> {
    if (!this.deps.isRoot()) {
      this.io.stderr.write('tcpts: run as root (network namespaces and CAP_NET_RAW are needed for the demo)\n');
      return ExitCode.permissionDenied;
    }
    if (!existsSync(this.deps.mainScript)) {
      this.io.stderr.write(`tcpts: ${this.deps.mainScript} is missing; build first (pnpm build)\n`);
      return demoCheckFailed;
    }
    const onAbort = (): void => {
      // Children get the same signal from a terminal; from `kill` they may not, so pass it on.
      for (const child of this.children) child.kill('SIGTERM');
    };
    this.io.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await this.steps();
    } catch (error) {
      if (error instanceof DemoInterrupted || this.interrupted()) {
        this.io.stderr.write('tcpts: demo interrupted; cleaning up\n');
        return ExitCode.interrupted;
      }
      const message = error instanceof Error ? error.message : String(error);
      this.io.stderr.write(`tcpts: demo failed: ${message}\n`);
      return demoCheckFailed;
    } finally {
      this.io.signal?.removeEventListener('abort', onAbort);
      await this.cleanUp();
    }
  }

  private async steps(): Promise<number> {
    const workDir = await mkdtemp(join(this.deps.tempRoot, 'tcpts-demo-'));
    this.workDir = workDir;
    const www = join(workDir, 'www');
    const fetched = join(workDir, 'fetched');
    await mkdir(www);
    await mkdir(fetched);
    const page = samplePage();
    await writeFile(join(www, 'index.html'), page);
    const pageHash = createHash('sha256').update(page).digest('hex');
    const randomHash = await writeRandomFile(join(www, 'random.bin'), this.options.megabytes);
    this.checkInterrupted();

    this.labPending = this.deps.createLab({ name: LAB_NAME, subnet: LAB_SUBNET });
    const lab = await this.labPending;
    this.lab = lab;
    this.checkInterrupted();
    this.say(
      `lab ${LAB_NAME}: kernel server ${lab.serverIp} (${lab.serverNs}), our stack ${lab.stackIp} on ${lab.clientIface}, ` +
        `kernel client ${lab.clientKernelIp} (${lab.clientNs})`,
    );
    await lab.startHttpServer(www, HTTP_PORT);
    this.checkInterrupted();

    const base = `http://${lab.serverIp}:${HTTP_PORT}`;
    // The random file twice: through the packet ring (what `auto`, the default, chooses on Linux) and through libpcap.
    const transfers: readonly { name: string; hash: string; capture: CaptureKind }[] = [
      { name: 'index.html', hash: pageHash, capture: 'packet-ring' },
      { name: 'random.bin', hash: randomHash, capture: 'packet-ring' },
      { name: 'random.bin', hash: randomHash, capture: 'libpcap' },
    ];
    let allIntact = true;
    let firstFailureCode: number | undefined;
    for (const file of transfers) {
      const label = `${file.name} via ${file.capture}`.padEnd(26);
      const target = join(fetched, `${file.capture}-${file.name}`);
      const outcome = await this.fetchOverStack(lab, `${base}/${file.name}`, target, file.capture);
      this.checkInterrupted();
      if (outcome.code !== 0) {
        allIntact = false;
        firstFailureCode ??= outcome.code ?? demoCheckFailed;
        const reason = outcome.stderr.trim().split('\n').filter((l) => l.startsWith('tcpts:')).pop() ?? outcome.stderr.trim();
        this.say(`  ${label} FAILED (exit ${String(outcome.code)}): ${reason}`);
        continue;
      }
      const size = (await stat(target)).size;
      const intact = (await sha256File(target)) === file.hash;
      allIntact &&= intact;
      const summary = parseTransferSummary(outcome.stderr);
      const seconds = summary?.seconds ?? outcome.wallMs / 1000;
      this.say(
        `  ${label} ${formatBytes(size).padStart(10)}  ${seconds.toFixed(3)} s  ` +
          `${megabytesPerSecond(size, seconds * 1000).toFixed(2).padStart(8)} MB/s  ` +
          `(process ${(outcome.wallMs / 1000).toFixed(2)} s)  sha256 ${intact ? 'ok' : 'MISMATCH'}`,
      );
    }
    await this.compareWithKernel(lab, `${base}/random.bin`, join(fetched, 'random-kernel.bin'));
    if (this.options.keepFiles) this.say(`files kept in ${workDir}`);
    if (allIntact) {
      this.say('every transfer arrived intact over tcpts');
      return ExitCode.ok;
    }
    return firstFailureCode ?? demoCheckFailed;
  }

  /** Runs `tcpts fetch` as a child: it needs its own process to open the interface like any user would. */
  private fetchOverStack(lab: DemoLab, url: string, target: string, capture: CaptureKind): Promise<ChildOutcome> {
    const options = ['--stats', '--capture', capture, '--max-time', String(CHILD_TIMEOUT_MS - 10_000)];
    const fetchArgs = [...CLI_NODE_OPTIONS, this.deps.mainScript, ...fetchArgvForLab(lab, url, target, options)];
    // The interface either stays in our namespace or sits inside the client namespace.
    const [file, args] = this.deps.hasLocalInterface(lab.clientIface)
      ? [process.execPath, fetchArgs]
      : ['ip', ['netns', 'exec', lab.clientNs, process.execPath, ...fetchArgs]];
    return this.spawnBounded(file, args);
  }

  private spawnBounded(file: string, args: readonly string[]): Promise<ChildOutcome> {
    const startedAt = performance.now();
    return new Promise((resolve) => {
      const child = spawn(file, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      this.children.add(child);
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr = (stderr + chunk.toString('utf8')).slice(-16_000);
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
      const finish = (code: number | null, extra = ''): void => {
        clearTimeout(timer);
        this.children.delete(child);
        resolve({ code, stderr: stderr + extra, wallMs: performance.now() - startedAt });
      };
      child.once('error', (error) => finish(null, `tcpts: ${error.message}\n`));
      child.once('close', (code) => finish(code));
    });
  }

  private async compareWithKernel(lab: DemoLab, url: string, target: string): Promise<void> {
    const result = await lab.exec(
      lab.clientNs,
      ['curl', '-sS', '-o', target, '-w', '%{size_download} %{time_total}', url],
      { timeoutMs: CHILD_TIMEOUT_MS },
    );
    const match = /^(\d+) ([\d.]+)/.exec(result.stdout.trim());
    if (result.code !== 0 || match === null) {
      this.say(`  kernel curl: not measured (${result.stderr.trim() || `exit ${String(result.code)}`})`);
      return;
    }
    const bytes = Number(match[1]);
    const seconds = Number(match[2]);
    this.say(
      `  ${'kernel curl'.padEnd(26)} ${formatBytes(bytes).padStart(10)}  ${seconds.toFixed(3)} s  ` +
        `${megabytesPerSecond(bytes, seconds * 1000).toFixed(2).padStart(8)} MB/s  (same file, Linux TCP, for comparison)`,
    );
  }

  private async cleanUp(): Promise<void> {
    for (const child of this.children) child.kill('SIGKILL');
    const lab = this.lab ?? (await this.labPending?.catch(() => undefined));
    await lab?.destroy().catch((error: unknown) => {
      this.io.stderr.write(`tcpts: could not remove lab ${LAB_NAME}: ${error instanceof Error ? error.message : String(error)}\n`);
    });
    if (this.workDir !== undefined && !this.options.keepFiles) {
      await rm(this.workDir, { recursive: true, force: true });
    }
  }
}

class DemoInterrupted extends Error {
  constructor() {
    super('interrupted');
    this.name = 'DemoInterrupted';
  }
}

export const demoCommand = (
  options: DemoOptions,
  io: CliIo,
  deps: Partial<DemoDependencies> = {},
): Promise<number> => new DemoRun(options, io, { ...defaultDemoDependencies, ...deps }).run();
