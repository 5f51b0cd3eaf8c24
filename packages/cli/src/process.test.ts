/**
 * The compiled `tcpts` as a real process: exit codes and one-line errors as a
 * shell sees them, including a run as an unprivileged user (no traffic is sent:
 * those cases fail before the stack opens), and `tcpts demo` in its namespace
 * lab, to the end and interrupted.
 */
import { execFile, spawn } from 'node:child_process';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from './errors.js';
import { CLI_NODE_OPTIONS } from './node-options.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
/** The bundled CLI, as the `tcpts` bin and the package scripts run it. */
const mainScript = fileURLToPath(new URL('../dist/tcpts.js', import.meta.url));

interface Outcome {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const exec = (file: string, args: readonly string[], timeoutMs = 20_000): Promise<Outcome> =>
  new Promise((resolve) => {
    execFile(file, args, { cwd: repoRoot, timeout: timeoutMs, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      resolve({ code, stdout, stderr });
    });
  });

const tcpts = (args: readonly string[]): Promise<Outcome> => exec(process.execPath, [mainScript, ...args]);

/** The run failed cleanly: exactly one line, no stack trace. */
const expectOneLine = (outcome: Outcome, pattern: RegExp): void => {
  const lines = outcome.stderr.split('\n').filter((line) => line !== '');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
};

beforeAll(async () => {
  // The whole build, as `pnpm build` does: tsc, then the bundle.
  const build = await exec('pnpm', ['-s', 'build'], 110_000);
  if (build.code !== 0) throw new Error(`pnpm build failed: ${build.stdout}${build.stderr}`);
}, 120_000);

/** Names of the namespaces and links of the demo's lab that still exist. */
const demoLeftovers = async (): Promise<string[]> => {
  const namespaces = await exec('ip', ['netns', 'list']);
  const links = await exec('ip', ['-o', 'link', 'show']);
  return [...namespaces.stdout.split('\n'), ...links.stdout.split('\n')]
    .map((line) => /\btcpts-demo-\w+/.exec(line)?.[0])
    .filter((name): name is string => name !== undefined);
};

describe.concurrent('tcpts as a process', () => {
  it('is an executable node script, run with the CLI\'s Node options', () => {
    expect(readFileSync(mainScript, 'utf8').startsWith(`#!/usr/bin/env -S node ${CLI_NODE_OPTIONS.join(' ')}\n`)).toBe(true);
  });

  it('exits 3 on a malformed URL', async () => {
    const outcome = await tcpts(['fetch', 'http://exa mple/', '--ip', '198.18.20.2']);
    expect(outcome.code).toBe(ExitCode.malformedUrl);
    expectOneLine(outcome, /^tcpts: Malformed URL/);
  });

  it('exits 1 on https', async () => {
    const outcome = await tcpts(['fetch', 'https://example.test/', '--ip', '198.18.20.2']);
    expect(outcome.code).toBe(ExitCode.unsupportedProtocol);
    expectOneLine(outcome, /https.*not supported/);
  });

  it('exits 6 on a name that cannot resolve', async () => {
    const outcome = await tcpts(['fetch', 'http://no-such-host.invalid/', '--ip', '198.18.20.2', '--iface', 'lo']);
    expect(outcome.code).toBe(ExitCode.couldNotResolveHost);
    expectOneLine(outcome, /^tcpts: Could not resolve host: no-such-host\.invalid/);
  });

  it('exits 78 on a missing interface and lists the ones there are', async () => {
    const outcome = await tcpts(['fetch', 'http://198.18.20.1/', '--ip', '198.18.20.2', '--iface', 'tcpts-none0']);
    expect(outcome.code).toBe(ExitCode.noSuchInterface);
    expectOneLine(outcome, /^tcpts: No such interface: tcpts-none0 \(existing: .*\blo\b/);
  });

  it('exits 77 and asks for root when run as nobody', async () => {
    const outcome = await exec('setpriv', [
      '--reuid=65534',
      '--regid=65534',
      '--clear-groups',
      process.execPath,
      mainScript,
      'fetch',
      'http://198.18.20.1/',
      '--ip',
      '198.18.20.2',
      '--iface',
      'lo',
    ]);
    expect(outcome.code).toBe(ExitCode.permissionDenied);
    expectOneLine(outcome, /run as root \(CAP_NET_RAW is needed to open lo\)/);
  });

  it('exits 2 on a usage error and 0 for --help', async () => {
    const missing = await tcpts(['fetch', 'http://198.18.20.1/']);
    expect(missing.code).toBe(ExitCode.usage);
    expect(missing.stderr).toContain("required option '--ip <addr>' not specified");
    const help = await tcpts(['--help']);
    expect(help.code).toBe(ExitCode.ok);
    expect(help.stdout).toContain('Exit codes:');
  });
});

describe('tcpts demo as a process', () => {
  it('fetches every file intact over the stack, through libpcap and the packet ring, and removes its lab', async () => {
    // Its fetches leave V8's code cache for the next runs (code-cache.ts).
    const bundle = fileURLToPath(new URL('../dist/tcpts.cjs', import.meta.url));
    rmSync(`${bundle}.cache`, { force: true });
    const outcome = await exec(process.execPath, [mainScript, 'demo', '--megabytes', '2'], 100_000);
    expect(outcome.stderr).toBe('');
    expect(outcome.code).toBe(ExitCode.ok);
    expect(outcome.stdout.match(/sha256 ok/g)).toHaveLength(3);
    expect(outcome.stdout).toMatch(/random\.bin via libpcap\s+2\.10 MB\s+[\d.]+ s\s+[\d.]+ MB\/s/);
    expect(outcome.stdout).toMatch(/random\.bin via packet-ring\s+2\.10 MB\s+[\d.]+ s\s+[\d.]+ MB\/s/);
    expect(outcome.stdout).toMatch(/kernel curl\s+2\.10 MB/);
    expect(await demoLeftovers()).toEqual([]);
    expect(readFileSync(`${bundle}.cache`, 'latin1').startsWith(`tcpts-code-cache ${statSync(bundle).size} `)).toBe(true);
  }, 110_000);

  it('removes its lab when interrupted with SIGINT', async () => {
    const child = spawn(process.execPath, [mainScript, 'demo', '--megabytes', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
    let stdout = '';
    // Interrupt once the lab exists, so there is something to clean up.
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString('utf8');
        if (stdout.includes('lab tcpts-demo')) resolve();
      });
      void exited.then(() => resolve());
    });
    child.kill('SIGINT');
    const code = await exited;
    clearTimeout(guard);
    expect(code).toBe(ExitCode.interrupted);
    expect(await demoLeftovers()).toEqual([]);
  }, 70_000);
});
