/**
 * `tcpts fetch` over the real stack against the Linux kernel, in a namespace
 * lab (198.18.21.0/24): the kernel serves files, our stack fetches them from
 * the lab's interface. Runs in-process (the interface is in our namespace).
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLab, type Lab } from '@tcpts/io-pcap';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from './errors.js';
import { type Captured, fetchOverLab } from './testing/run-cli.js';

const HTTP_PORT = 8080;
/** The server namespace drops SYNs to this port: a peer that never answers. */
const SILENT_PORT = 8081;
/** Nothing listens here: the kernel answers with RST. */
const CLOSED_PORT = 8082;

let lab: Lab;
let dir: string;
const files = new Map<string, Buffer>();

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

const fetchOverStack = async (path: string, extra: readonly string[] = []): Promise<Captured & { file: string }> => {
  const file = join(dir, `fetched-${path.replace(/\W/g, '_')}`);
  return { ...(await fetchOverLab(lab, `http://${lab.serverIp}:${path}`, file, 60_000, extra)), file };
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tcpe-cli-'));
  files.set('page.html', Buffer.from('<!doctype html><title>t</title><p>hello over tcpts</p>\n'));
  files.set('one.bin', randomBytes(1024 * 1024));
  files.set('ten.bin', randomBytes(10 * 1024 * 1024));
  for (const [name, bytes] of files) await writeFile(join(dir, name), bytes);
  lab = await createLab({ name: 'tcpe-1', subnet: 21 });
  await lab.startHttpServer(dir, HTTP_PORT);
  const nft = await lab.exec(lab.serverNs, ['nft', '-f', '-'], {
    input: `table inet tcpe_silent {\n  chain input {\n    type filter hook input priority 0;\n    tcp dport ${SILENT_PORT} drop\n  }\n}\n`,
  });
  if (nft.code !== 0) throw new Error(`nft failed: ${nft.stderr}`);
}, 60_000);

afterAll(async () => {
  await lab?.destroy();
  await rm(dir, { recursive: true, force: true });
});

describe('tcpts fetch against the kernel', () => {
  it.each([['page.html'], ['one.bin'], ['ten.bin']])('fetches %s intact, by default over the packet ring', async (name) => {
    const result = await fetchOverStack(`${HTTP_PORT}/${name}`, ['--stats']);
    expect(result.stderr).toMatch(/^\* Received \d+ bytes in/);
    expect(result.code).toBe(ExitCode.ok);
    expect(sha256(readFileSync(result.file))).toBe(sha256(files.get(name)!));
  });

  it.each([['page.html'], ['ten.bin']])('fetches %s intact through libpcap (--capture libpcap)', async (name) => {
    const result = await fetchOverStack(`${HTTP_PORT}/${name}`, ['--stats', '--capture', 'libpcap']);
    expect(result.stderr).toMatch(/^\* Received \d+ bytes in/);
    expect(result.code).toBe(ExitCode.ok);
    expect(sha256(readFileSync(result.file))).toBe(sha256(files.get(name)!));
  });

  it('traces the handshake and the response head with -v', async () => {
    const result = await fetchOverStack(`${HTTP_PORT}/page.html`, ['-v']);
    expect(result.code).toBe(ExitCode.ok);
    expect(result.stderr).toMatch(/^> SYN seq=\d+ win=\d+ <mss \d+/m);
    expect(result.stderr).toMatch(/^< SYN,ACK seq=\d+ ack=\d+/m);
    expect(result.stderr).toContain('* SYN-SENT -> ESTABLISHED');
    expect(result.stderr).toMatch(/^\* Opening \S+ as [\d.]+ \(mac [0-9a-f:]+, capture auto/m);
    expect(result.stderr).toMatch(/^\* Capturing through packet-ring$/m);
    expect(result.stderr).toMatch(/^< HTTP\/1\.0 200 OK$/m);
  });

  it('exits 22 with -f on a missing file', async () => {
    const result = await fetchOverStack(`${HTTP_PORT}/missing.html`, ['-f']);
    expect(result.code).toBe(ExitCode.httpError);
  });

  it('exits 7 when the port is closed', async () => {
    const result = await fetchOverStack(`${CLOSED_PORT}/`);
    expect(result.code).toBe(ExitCode.couldNotConnect);
    expect(result.stderr).toMatch(/refused/);
  });

  it('exits 28 within --timeout when the peer never answers', async () => {
    const started = performance.now();
    const result = await fetchOverStack(`${SILENT_PORT}/`, ['--timeout', '1500']);
    expect(result.code).toBe(ExitCode.timeout);
    expect(performance.now() - started).toBeLessThan(6_000);
  });
});
