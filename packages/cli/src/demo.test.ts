/**
 * The demo's orchestration with a stand-in lab and a stand-in `tcpts fetch`
 * child (a script that copies the served file): hash checks, figures, exit
 * codes and that everything made is removed, also when interrupted.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { captureIo } from './testing/run-cli.js';
import { demoCheckFailed, demoCommand, type DemoDependencies, type DemoLab } from './demo.js';
import { ExitCode } from './errors.js';

const scriptDir = mkdtempSync(join(tmpdir(), 'tcpts-demo-test-'));

afterAll(() => {
  rmSync(scriptDir, { recursive: true, force: true });
});

/**
 * Writes a stand-in for the CLI. It gets `fetch URL ... -o TARGET ...` and
 * copies www/<name> (next to TARGET's folder) to TARGET; `behaviour` is JS run
 * after the copy with `name`, `target` and `fs` in scope.
 */
const fakeFetch = (label: string, behaviour = ''): string => {
  const path = join(scriptDir, `${label}.mjs`);
  writeFileSync(
    path,
    `import fs from 'node:fs';
import path from 'node:path';
const args = process.argv.slice(2);
const url = new URL(args[1]);
const target = args[args.indexOf('-o') + 1];
const name = path.basename(url.pathname);
fs.copyFileSync(path.join(path.dirname(path.dirname(target)), 'www', name), target);
${behaviour}
process.stderr.write('* Received ' + fs.statSync(target).size + ' bytes in 0.500 s (1.00 MB/s)\\n');
`,
  );
  return path;
};

interface FakeLab extends DemoLab {
  served: string | undefined;
  destroyed: number;
}

const fakeLab = (): FakeLab => {
  const lab: FakeLab = {
    serverNs: 't-srv',
    clientNs: 't-cli',
    clientIface: 't-stk',
    serverIp: '198.18.22.1',
    stackIp: '198.18.22.2',
    clientKernelIp: '198.18.22.3',
    prefixLength: 24,
    served: undefined,
    destroyed: 0,
    startHttpServer: async (dir) => {
      lab.served = dir;
      return { pid: 0, stop: async () => undefined };
    },
    exec: async () => ({ stdout: '1048576 0.010', stderr: '', code: 0 }),
    destroy: async () => {
      lab.destroyed++;
    },
  };
  return lab;
};

const runDemo = async (
  deps: Partial<DemoDependencies>,
  signal?: AbortSignal,
): Promise<{ code: number; stdout: string; stderr: string }> => {
  const captured = captureIo(signal);
  const code = await demoCommand(
    { megabytes: 1, keepFiles: false },
    captured.io,
    { isRoot: () => true, hasLocalInterface: () => true, tempRoot: scriptDir, ...deps },
  );
  return { code, stdout: captured.stdout().toString('utf8'), stderr: captured.stderr() };
};

/** The temporary directory the demo made, known from what it asked the lab to serve. */
const workDirOf = (lab: FakeLab): string => dirname(lab.served!);

describe('tcpts demo', () => {
  it('exits 0 when every transfer arrives intact, prints figures and removes everything', async () => {
    const lab = fakeLab();
    const result = await runDemo({ createLab: async () => lab, mainScript: fakeFetch('intact') });
    expect(result.code).toBe(ExitCode.ok);
    expect(result.stdout.match(/sha256 ok/g)).toHaveLength(3);
    expect(result.stdout).toMatch(/random\.bin via packet-ring\s+1\.05 MB\s+0\.500 s\s+2\.10 MB\/s/);
    expect(result.stdout).toMatch(/random\.bin via libpcap\s+1\.05 MB\s+0\.500 s\s+2\.10 MB\/s/);
    expect(result.stdout).toMatch(/kernel curl\s+1\.05 MB\s+0\.010 s\s+104\.86 MB\/s/);
    expect(lab.destroyed).toBe(1);
    expect(existsSync(workDirOf(lab))).toBe(false);
  });

  it('fails when a file arrives damaged', async () => {
    const lab = fakeLab();
    const corrupt = `if (name === 'random.bin') { const fd = fs.openSync(target, 'r+'); fs.writeSync(fd, Buffer.from([fs.readFileSync(target)[100] ^ 1]), 0, 1, 100); fs.closeSync(fd); }`;
    const result = await runDemo({ createLab: async () => lab, mainScript: fakeFetch('corrupt', corrupt) });
    expect(result.code).toBe(demoCheckFailed);
    expect(result.stdout).toContain('sha256 MISMATCH');
    expect(result.stdout).not.toContain('arrived intact');
    expect(lab.destroyed).toBe(1);
    expect(existsSync(workDirOf(lab))).toBe(false);
  });

  it("passes on the fetch's exit code when it fails", async () => {
    const lab = fakeLab();
    const failing = `process.stderr.write('tcpts: Failed to connect to x port 8080: connection refused\\n'); process.exit(7);`;
    const result = await runDemo({ createLab: async () => lab, mainScript: fakeFetch('failing', failing) });
    expect(result.code).toBe(ExitCode.couldNotConnect);
    expect(result.stdout).toContain('FAILED (exit 7): tcpts: Failed to connect');
    expect(lab.destroyed).toBe(1);
  });

  it('asks for root', async () => {
    const result = await runDemo({ isRoot: () => false, mainScript: fakeFetch('unused') });
    expect(result.code).toBe(ExitCode.permissionDenied);
    expect(result.stderr).toContain('run as root');
  });

  it('says to build first when the CLI is missing', async () => {
    const result = await runDemo({ mainScript: join(scriptDir, 'absent.js') });
    expect(result.code).toBe(demoCheckFailed);
    expect(result.stderr).toContain('pnpm build');
  });

  it('removes its files when the lab cannot be made', async () => {
    const tempRoot = mkdtempSync(join(scriptDir, 'root-'));
    const result = await runDemo({
      createLab: () => Promise.reject(new Error('ip: operation not permitted')),
      mainScript: fakeFetch('no-lab'),
      tempRoot,
    });
    expect(result.code).toBe(demoCheckFailed);
    expect(result.stderr).toContain('demo failed: ip: operation not permitted');
    expect(readdirSync(tempRoot)).toEqual([]);
  });

  it('cleans up and exits 130 when interrupted during a fetch', async () => {
    const lab = fakeLab();
    const interrupt = new AbortController();
    const slow = `await new Promise((resolve) => setTimeout(resolve, 20000));`;
    setTimeout(() => interrupt.abort(), 700);
    const started = performance.now();
    const result = await runDemo({ createLab: async () => lab, mainScript: fakeFetch('slow', slow) }, interrupt.signal);
    expect(result.code).toBe(ExitCode.interrupted);
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(lab.destroyed).toBe(1);
    expect(existsSync(workDirOf(lab))).toBe(false);
  });
});
