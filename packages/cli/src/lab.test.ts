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

/** RSTs the server's kernel has sent so far (the counter rule of its output chain). */
const kernelResets = async (): Promise<number> => {
  const listed = await lab.exec(lab.serverNs, ['nft', 'list', 'chain', 'inet', 'tcpe_silent', 'output']);
  const packets = /counter packets (\d+)/.exec(listed.stdout);
  if (packets === null) throw new Error(`no RST counter in ${listed.stdout}${listed.stderr}`);
  return Number(packets[1]);
};

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
    input:
      `table inet tcpe_silent {\n  chain input {\n    type filter hook input priority 0;\n    tcp dport ${SILENT_PORT} drop\n  }\n` +
      // Every RST the server's kernel sends, counted: a fetch must draw none.
      `  chain output {\n    type filter hook output priority 0;\n    tcp flags & rst == rst counter\n  }\n}\n`,
  });
  if (nft.code !== 0) throw new Error(`nft failed: ${nft.stderr}`);
}, 60_000);

afterAll(async () => {
  await lab?.destroy();
  await rm(dir, { recursive: true, force: true });
});

describe('tcpts fetch against the kernel', () => {
  it.each([['page.html'], ['one.bin'], ['ten.bin']])('fetches %s intact, by default over the packet ring, and the kernel sends no RST', async (name) => {
    const resetsBefore = await kernelResets();
    const result = await fetchOverStack(`${HTTP_PORT}/${name}`, ['--stats']);
    expect(result.stderr).toMatch(/^\* Received \d+ bytes in/);
    expect(result.code).toBe(ExitCode.ok);
    expect(sha256(readFileSync(result.file))).toBe(sha256(files.get(name)!));
    // The close included: a segment the kernel no longer expects would draw one.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await kernelResets()).toBe(resetsBefore);
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
    const resetsBefore = await kernelResets();
    const result = await fetchOverStack(`${CLOSED_PORT}/`);
    expect(result.code).toBe(ExitCode.couldNotConnect);
    expect(result.stderr).toMatch(/refused/);
    // The counter does see the kernel's RSTs: here it refused our SYN with one.
    expect(await kernelResets()).toBeGreaterThan(resetsBefore);
  });

  it('answers ARP and ping for its address while it runs', async () => {
    // A fetch from the silent port keeps the stack up for the whole --timeout.
    const running = fetchOverStack(`${SILENT_PORT}/`, ['--timeout', '2000']);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await lab.ping(lab.serverNs, lab.stackIp, 1_000)).toBe(true);
    const neighbour = await lab.exec(lab.serverNs, ['ip', 'neigh', 'show', lab.stackIp]);
    // The CLI's MAC is a random locally administered one (the second-lowest bit of the first octet set).
    const mac = /lladdr ([0-9a-f]{2})((:[0-9a-f]{2}){5})/.exec(neighbour.stdout);
    expect(mac).not.toBeNull();
    expect(Number.parseInt(mac![1]!, 16) & 0x03).toBe(0x02);
    expect((await running).code).toBe(ExitCode.timeout);
  });

  it('exits 28 within --timeout when the peer never answers', async () => {
    const started = performance.now();
    const result = await fetchOverStack(`${SILENT_PORT}/`, ['--timeout', '1500']);
    expect(result.code).toBe(ExitCode.timeout);
    expect(performance.now() - started).toBeLessThan(6_000);
  });
});
