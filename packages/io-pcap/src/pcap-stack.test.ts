import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostEvent } from '@tcpts/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Capture } from './cap-binding.js';
import { createLab, type HttpServerHandle, type Lab } from './lab.js';
import { PcapStack } from './realtime-driver.js';
import type { TcpSocket } from './tcp-socket.js';
import { sha256Summary, startSha256Sink } from './testing/sink.js';

const HTTP_PORT = 8080;
const PORT_UNREACHABLE_PORT = 9101;
const HOST_UNREACHABLE_PORT = 9102;
const SILENT_PORT = 8081;
const UPLOAD_PORT = 8082;
const FILE_SIZE = 3 * 1024 * 1024 + 123;

/** Counts TCP segments with RST set on the lab link, in both directions. */
class ResetCounter {
  count = 0;
  private readonly capture: Capture;

  constructor(iface: string) {
    this.capture = Capture.open(iface, 'tcp[tcpflags] & tcp-rst != 0', 1 << 20);
    this.capture.onFrame(() => this.count++);
  }

  close(): void {
    this.capture.close();
  }
}

/** HTTP/1.0 GET over one of our sockets; resolves with the status line and body once the server closes. */
async function httpGet(socket: TcpSocket, host: string, path: string): Promise<{ status: string; body: Buffer }> {
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  const ended = new Promise<void>((resolve, reject) => {
    socket.once('end', resolve);
    socket.once('error', reject);
  });
  socket.write(`GET ${path} HTTP/1.0\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
  await ended;
  const response = Buffer.concat(chunks);
  const headerEnd = response.indexOf('\r\n\r\n');
  return {
    status: response.subarray(0, response.indexOf('\r\n')).toString('latin1'),
    body: response.subarray(headerEnd + 4),
  };
}

describe.each([
  { capture: 'libpcap', subnet: 12 },
  { capture: 'packet-ring', subnet: 14 },
] as const)('PcapStack over $capture against the Linux kernel', ({ capture, subnet }) => {
  let lab: Lab;
  let dir: string;
  let server: HttpServerHandle;
  let stack: PcapStack;
  const events: HostEvent[] = [];
  const content = randomBytes(FILE_SIZE);

  beforeAll(async () => {
    lab = await createLab({ name: `tcpd-e2e${subnet}`, subnet });
    dir = await mkdtemp(join(tmpdir(), 'tcpd-e2e-'));
    await writeFile(join(dir, 'blob.bin'), content);
    server = await lab.startHttpServer(dir, HTTP_PORT);
    // A port whose SYNs vanish: a peer that never answers.
    const nft = (script: string) => lab.exec(lab.serverNs, ['nft', '-f', '-'], { input: script });
    const added = await nft(
      `table inet tcpd_silent {\n chain input {\n type filter hook input priority 0;\n tcp dport ${SILENT_PORT} drop\n` +
        // Ports the kernel answers with an ICMP error instead, as a firewall or router would.
        ` tcp dport ${PORT_UNREACHABLE_PORT} reject with icmp type port-unreachable\n` +
        ` tcp dport ${HOST_UNREACHABLE_PORT} reject with icmp type host-unreachable\n }\n}\n`,
    );
    expect(added.stderr).toBe('');
    stack = await PcapStack.open({
      iface: lab.clientIface,
      ip: lab.stackIp,
      prefixLength: lab.prefixLength,
      capture,
      onEvent: (event) => events.push(event),
    });
  });

  afterAll(async () => {
    await stack?.close();
    await server?.stop();
    await lab?.destroy();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('fetches a file from a kernel HTTP server, byte for byte, without a single RST', async () => {
    const resets = new ResetCounter(lab.clientIface);
    try {
      const socket = await stack.connect(lab.serverIp, HTTP_PORT, { timeoutMs: 5_000 });
      expect(socket.localPort).toBeGreaterThanOrEqual(1024);
      expect(socket.state()).toBe('ESTABLISHED');
      const response = await httpGet(socket, lab.serverIp, '/blob.bin');
      expect(response.status).toBe('HTTP/1.0 200 OK');
      expect(response.body.length).toBe(content.length);
      expect(response.body.equals(content)).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 200));
    } finally {
      resets.close();
    }
    expect(resets.count).toBe(0);
    const stats = stack.stats();
    expect(stats.resetsSent).toBe(0);
    expect(stats.device.framesReceived).toBeGreaterThan(FILE_SIZE / 1500);
    expect(stats.device.oversized + stats.device.partialChecksums).toBe(0);
    // The packet ring merged runs of the kernel's segments (receive coalescing); libpcap merges nothing.
    expect(stats.device.framesCoalesced > 0).toBe(capture === 'packet-ring');
    expect(events.some((event) => event.type === 'connected')).toBe(true);
  });

  it('uploads to a kernel receiver, which checks every checksum we send, byte for byte', async () => {
    // The kernel verifies TCP checksums itself (offloads are off): a wrong one is a lost segment.
    const sink = await startSha256Sink(lab.serverNs, lab.serverIp, UPLOAD_PORT);
    try {
      const socket = await stack.connect(lab.serverIp, UPLOAD_PORT, { timeoutMs: 5_000 });
      const before = stack.stats().device.framesSent;
      for (let at = 0; at < content.length; at += 100_000) {
        if (!socket.write(content.subarray(at, at + 100_000))) await once(socket, 'drain');
      }
      socket.end();
      expect(await sink.received(20_000, 'the upload did not arrive')).toBe(sha256Summary(content));
      expect(stack.stats().device.framesSent - before).toBeGreaterThan(FILE_SIZE / 1500);
      socket.destroy();
    } finally {
      sink.stop();
    }
  });

  it('answers ARP and ping for its address, with its own MAC', async () => {
    expect(await lab.ping(lab.serverNs, lab.stackIp, 2_000)).toBe(true);
    const neighbour = await lab.exec(lab.serverNs, ['ip', 'neigh', 'show', lab.stackIp]);
    expect(neighbour.stdout).toContain(`lladdr ${stack.mac}`);
    expect(stack.stats().echoRepliesSent).toBeGreaterThanOrEqual(1);
  });

  it('answers a kernel ping too large for one frame: the request reassembled, the reply in fragments', async () => {
    const before = stack.stats().echoRepliesSent;
    // 4000 bytes of data: three fragments each way at MTU 1500. The kernel reassembles our reply; the
    // lab's ping takes it only with every byte of the request's data.
    expect(await lab.ping(lab.serverNs, lab.stackIp, 2_000, 4000)).toBe(true);
    expect(stack.stats().echoRepliesSent).toBe(before + 1);
  });

  it('rejects a connection to a closed port with ECONNREFUSED', async () => {
    await expect(stack.connect(lab.serverIp, 9, { timeoutMs: 5_000 })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('rejects with ECONNREFUSED at once when the kernel answers the SYN with ICMP port unreachable', async () => {
    const started = performance.now();
    await expect(stack.connect(lab.serverIp, PORT_UNREACHABLE_PORT, { timeoutMs: 5_000 })).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(events).toContainEqual(expect.objectContaining({ type: 'icmp-error', icmpType: 3, code: 3 }));
  });

  it('keeps trying through ICMP host unreachable, then rejects with EHOSTUNREACH, naming it, at timeoutMs', async () => {
    const started = performance.now();
    const attempt = stack.connect(lab.serverIp, HOST_UNREACHABLE_PORT, { timeoutMs: 1_500 });
    await expect(attempt).rejects.toMatchObject({ code: 'EHOSTUNREACH' });
    await expect(attempt).rejects.toThrow(`host unreachable (ICMP from ${lab.serverIp})`);
    expect(performance.now() - started).toBeGreaterThanOrEqual(1_400);
  });

  it('rejects with ETIMEDOUT within timeoutMs when the peer stays silent', async () => {
    const started = performance.now();
    await expect(stack.connect(lab.serverIp, SILENT_PORT, { timeoutMs: 1_500 })).rejects.toMatchObject({
      code: 'ETIMEDOUT',
    });
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(1_400);
    expect(elapsed).toBeLessThan(3_000);
  });

  it('gives up with ETIMEDOUT when its own SYN retransmissions run out', async () => {
    const impatient = await PcapStack.open({
      iface: lab.clientIface,
      ip: `198.18.${subnet}.4`,
      mac: '02:00:00:00:0c:04',
      capture,
      tcp: { initialRto: 100, maxSynRetransmissions: 2 },
    });
    try {
      const started = performance.now();
      await expect(impatient.connect(lab.serverIp, SILENT_PORT)).rejects.toMatchObject({ code: 'ETIMEDOUT' });
      expect(performance.now() - started).toBeLessThan(5_000);
    } finally {
      await impatient.close();
    }
  });

  it('holds back a paused reader with the TCP window, and delivers everything on resume', async () => {
    const receiveBufferSize = 64 * 1024;
    const slow = await PcapStack.open({
      iface: lab.clientIface,
      ip: `198.18.${subnet}.5`,
      mac: '02:00:00:00:0c:05',
      capture,
      tcp: { receiveBufferSize },
    });
    try {
      const socket = await slow.connect(lab.serverIp, HTTP_PORT, { timeoutMs: 5_000 });
      socket.write(`GET /blob.bin HTTP/1.0\r\nHost: ${lab.serverIp}\r\n\r\n`);
      // Nobody reads for a while: the stack may hold at most the stream buffer plus one receive window.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const held = socket.readableLength;
      expect(held).toBeGreaterThan(0);
      expect(held).toBeLessThanOrEqual(socket.readableHighWaterMark + receiveBufferSize);
      const chunks: Buffer[] = [];
      for await (const chunk of socket) chunks.push(chunk as Buffer);
      const response = Buffer.concat(chunks);
      expect(response.subarray(response.indexOf('\r\n\r\n') + 4).equals(content)).toBe(true);
    } finally {
      await slow.close();
    }
  });
});
