/**
 * The CLI end to end, in-process, without root: `run` with a stand-in stack
 * whose sockets are the kernel's loopback TCP, against small local servers.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { connect as netConnect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable, type Duplex } from 'node:stream';
import { TcpFlag } from '@tcpts/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from './errors.js';
import { captureIo } from './testing/run-cli.js';
import { run, type RunDependencies } from './main.js';
import type { FetchStack, StackOpenOptions } from './stack.js';
import type { SystemProbe } from './system.js';

interface Captured {
  readonly code: number;
  readonly stdout: Buffer;
  readonly stderr: string;
}

interface LoopbackStack extends FetchStack {
  readonly opened: StackOpenOptions[];
  closed: number;
}

/** A stand-in for PcapStack: connects with the kernel's TCP over loopback and reports a few events. */
const loopbackStack = (): { stack: LoopbackStack; open: RunDependencies['openStack'] } => {
  const stack: LoopbackStack = {
    opened: [],
    closed: 0,
    connect: (ip, port) =>
      new Promise<Duplex>((resolve, reject) => {
        const options = stack.opened[stack.opened.length - 1];
        options?.onEvent?.({ type: 'state', socket: 1, from: 'CLOSED', to: 'SYN-SENT', at: 0 });
        options?.onEvent?.({
          type: 'segment',
          socket: 1,
          direction: 'out',
          at: 0,
          segment: {
            srcPort: 49152,
            dstPort: port,
            seq: 100,
            ack: 0,
            flags: TcpFlag.SYN,
            window: 65535,
            urgent: 0,
            options: { mss: 1460, windowScale: 7 },
            payload: new Uint8Array(0),
          },
        });
        const socket = netConnect({ host: ip, port });
        socket.once('connect', () => {
          options?.onEvent?.({ type: 'state', socket: 1, from: 'SYN-SENT', to: 'ESTABLISHED', at: 1 });
          resolve(socket);
        });
        socket.once('error', reject);
      }),
    close: async () => {
      stack.closed++;
    },
    stats: () => ({ framesIn: 7, framesOut: 5, dropped: new Map([['tcp: no connection', 1]]) }),
  };
  return {
    stack,
    open: async (options) => {
      stack.opened.push(options);
      return stack;
    },
  };
};

const loopbackSystem: SystemProbe = {
  routeTo: async () => ({ iface: 'lo' }),
  addressesOf: async () => [{ address: '127.0.0.1', prefixLength: 8 }],
  interfaces: () => ['eth0', 'lo'],
  mayCapture: () => true,
};

const dependencies = (overrides: Partial<RunDependencies> = {}): RunDependencies & { stack: LoopbackStack } => {
  const { stack, open } = loopbackStack();
  return {
    openStack: open,
    lookup: async (host) => {
      if (host === 'server.test') return '127.0.0.1';
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    },
    system: loopbackSystem,
    now: () => performance.now(),
    ...overrides,
    stack,
  };
};

/** Runs the CLI with captured stdout/stderr; stdout is always drained so back-pressure never stalls the run. */
const runCli = async (argv: readonly string[], deps: RunDependencies = dependencies(), signal?: AbortSignal): Promise<Captured> => {
  const captured = captureIo(signal);
  const code = await run(argv, captured.io, deps);
  return { code, stdout: captured.stdout(), stderr: captured.stderr() };
};

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** Open connections of each raw server, so closing it never waits on a peer. */
const connections = new WeakMap<Server, Set<Socket>>();

/** A TCP server that answers every connection with `respond`. */
const rawServer = async (respond: (socket: Socket) => void): Promise<{ server: Server; url: string }> => {
  const open = new Set<Socket>();
  const server = createServer((socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    socket.on('error', () => undefined);
    respond(socket);
  });
  connections.set(server, open);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
};

const closeServer = (server: Server | HttpServer): Promise<void> =>
  new Promise((resolve) => {
    server.close(() => resolve());
    if ('closeAllConnections' in server) server.closeAllConnections();
    for (const socket of connections.get(server) ?? []) socket.destroy();
  });

const baseArgs = ['--ip', '198.18.20.2', '--iface', 'lo'];

let workDir: string;
let http: HttpServer;
let httpUrl: string;
const megabyte = randomBytes(1024 * 1024);

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'tcpts-cli-test-'));
  http = createHttpServer((request, response) => {
    switch (request.url) {
      case '/hello':
        response.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': '6' }).end('hello\n');
        return;
      case '/chunked':
        response.writeHead(200, { 'Content-Type': 'application/octet-stream' });
        for (let at = 0; at < megabyte.length; at += 100_000) response.write(megabyte.subarray(at, at + 100_000));
        response.end();
        return;
      case '/big':
        response.writeHead(200, { 'Content-Length': String(megabyte.length) }).end(megabyte);
        return;
      case '/missing':
        response.writeHead(404, { 'Content-Length': '9' }).end('not here\n');
        return;
      case '/moved':
        response.writeHead(301, { Location: '/hello', 'Content-Length': '6' }).end('moved\n');
        return;
      case '/loop':
        response.writeHead(302, { Location: '/loop', 'Content-Length': '0' }).end();
        return;
      case '/secure':
        response.writeHead(302, { Location: 'https://example.test/', 'Content-Length': '0' }).end();
        return;
      case '/echo-headers':
        response.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(request.headers));
        return;
      default:
        response.writeHead(500).end();
    }
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  httpUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await closeServer(http);
  rmSync(workDir, { recursive: true, force: true });
});

describe('tcpts fetch, successful transfers', () => {
  it('writes a small page to stdout and closes the stack', async () => {
    const deps = dependencies();
    const result = await runCli(['fetch', `${httpUrl}/hello`, ...baseArgs], deps);
    expect(result.code).toBe(ExitCode.ok);
    expect(result.stdout.toString()).toBe('hello\n');
    expect(result.stderr).toBe('');
    expect(deps.stack.closed).toBe(1);
  });

  it('sends the request fields the server expects', async () => {
    const result = await runCli(['fetch', `${httpUrl}/echo-headers`, ...baseArgs]);
    const headers = JSON.parse(result.stdout.toString()) as Record<string, string>;
    expect(headers).toMatchObject({ 'user-agent': 'tcpts/0.1', accept: '*/*', connection: 'close' });
    expect(headers.host).toBe(httpUrl.slice('http://'.length));
  });

  it.each([['big'], ['chunked']])('streams 1 MB (%s) to a file with the same sha256', async (path) => {
    const file = join(workDir, `${path}.bin`);
    const result = await runCli(['fetch', `${httpUrl}/${path}`, ...baseArgs, '-o', file]);
    expect(result.code).toBe(ExitCode.ok);
    expect(result.stdout.length).toBe(0);
    expect(sha256(readFileSync(file))).toBe(sha256(megabyte));
  });

  it('resolves names with the resolver it is given', async () => {
    const port = new URL(httpUrl).port;
    const result = await runCli(['fetch', `http://server.test:${port}/hello`, ...baseArgs]);
    expect(result.code).toBe(ExitCode.ok);
    expect(result.stdout.toString()).toBe('hello\n');
  });

  it("asks the kernel's route only for what it does not know: not for an on-link destination with --iface and --prefix", async () => {
    const asked: string[] = [];
    const system: SystemProbe = {
      ...loopbackSystem,
      routeTo: async (destination) => {
        asked.push(destination);
        return { iface: 'lo' };
      },
    };
    const onLink = dependencies({ system });
    expect((await runCli(['fetch', `${httpUrl}/hello`, '--ip', '127.0.0.9', '--iface', 'lo', '--prefix', '8'], onLink)).code).toBe(ExitCode.ok);
    expect(asked).toEqual([]);
    expect(onLink.stack.opened[0]).toMatchObject({ iface: 'lo', prefixLength: 8 });
    expect(onLink.stack.opened[0]?.gateway).toBeUndefined();
    // Outside the prefix, or without one, the route may name the gateway (or, without --iface, the interface).
    for (const args of [['--iface', 'lo', '--prefix', '30'], ['--iface', 'lo'], []]) {
      asked.length = 0;
      expect((await runCli(['fetch', `${httpUrl}/hello`, '--ip', '127.0.0.9', ...args], dependencies({ system }))).code).toBe(ExitCode.ok);
      expect(asked).toEqual(['127.0.0.1']);
    }
  });

  it('picks the interface, prefix and a local MAC when not given', async () => {
    const deps = dependencies();
    const result = await runCli(['fetch', `${httpUrl}/hello`, '--ip', '127.0.0.9'], deps);
    expect(result.code).toBe(ExitCode.ok);
    const opened = deps.stack.opened[0]!;
    expect(opened).toMatchObject({ iface: 'lo', ip: '127.0.0.9', prefixLength: 8 });
    expect(opened.mac).toMatch(/^[0-9a-f][26ae](:[0-9a-f]{2}){5}$/);
  });

  it('writes the whole body to a slow output', async () => {
    const received: Buffer[] = [];
    const slow = new Writable({
      highWaterMark: 16 * 1024,
      write(chunk: Buffer, _encoding, callback) {
        received.push(Buffer.from(chunk));
        setTimeout(callback, 1);
      },
    });
    const stderr = new PassThrough();
    stderr.resume();
    const code = await run(['fetch', `${httpUrl}/big`, ...baseArgs], { stdout: slow, stderr }, dependencies());
    expect(code).toBe(ExitCode.ok);
    // How much it keeps in flight before waiting for the output is output.test.ts's business.
    expect(sha256(Buffer.concat(received))).toBe(sha256(megabyte));
  });

  it('traces states, segments, headers and the rate with -v', async () => {
    const result = await runCli(['fetch', `${httpUrl}/hello`, ...baseArgs, '-v']);
    expect(result.code).toBe(ExitCode.ok);
    const lines = result.stderr.split('\n');
    expect(lines).toContain('* CLOSED -> SYN-SENT');
    expect(lines).toContain('> SYN seq=100 win=65535 <mss 1460,ws 7>');
    expect(lines).toContain('* SYN-SENT -> ESTABLISHED');
    expect(lines).toContain('> GET /hello HTTP/1.1');
    expect(lines).toContain('< HTTP/1.1 200 OK');
    expect(lines).toContain('< Content-Length: 6');
    expect(result.stderr).toMatch(/\* Received 6 bytes in [\d.]+ s \([\d.]+ MB\/s\)/);
    // Last, once the stack is closed: what it counted.
    expect(lines.slice(-3)).toEqual(['* Stack: 7 frames in, 5 out', '* Dropped: 1 × tcp: no connection', '']);
  });

  it('finishes a complete response even when the server keeps the connection open', async () => {
    const { server, url } = await rawServer((socket) => {
      socket.resume();
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone');
    });
    const started = performance.now();
    const result = await runCli(['fetch', `${url}/`, ...baseArgs]);
    await closeServer(server);
    expect(result.code).toBe(ExitCode.ok);
    expect(result.stdout.toString()).toBe('done');
    expect(performance.now() - started).toBeLessThan(4_000);
  });

  it('follows a redirect with -L and writes only the final body', async () => {
    const result = await runCli(['fetch', `${httpUrl}/moved`, ...baseArgs, '-L']);
    expect(result.code).toBe(ExitCode.ok);
    expect(result.stdout.toString()).toBe('hello\n');
  });

  it('prints the Location of a redirect it does not follow', async () => {
    const result = await runCli(['fetch', `${httpUrl}/moved`, ...baseArgs]);
    expect(result.code).toBe(ExitCode.ok);
    expect(result.stdout.toString()).toBe('moved\n');
    expect(result.stderr).toBe(`tcpts: 301 redirect to ${httpUrl}/hello not followed (use -L to follow)\n`);
  });
});

describe('tcpts fetch, failures', () => {
  /** Every failure is exactly one line on stderr, without a stack trace. */
  const expectOneLine = (stderr: string, pattern: RegExp): void => {
    expect(stderr.split('\n').filter((l) => l !== '')).toHaveLength(1);
    expect(stderr).toMatch(pattern);
    expect(stderr).not.toMatch(/\n\s+at /);
  };

  it('exits 3 on a malformed URL', async () => {
    const result = await runCli(['fetch', 'http://exa mple/', ...baseArgs]);
    expect(result.code).toBe(ExitCode.malformedUrl);
    expectOneLine(result.stderr, /^tcpts: Malformed URL/);
  });

  it('exits 1 on https', async () => {
    const result = await runCli(['fetch', 'https://example.test/', ...baseArgs]);
    expect(result.code).toBe(ExitCode.unsupportedProtocol);
    expectOneLine(result.stderr, /https.*not supported/);
  });

  it('exits 1 when -L leads to https', async () => {
    const result = await runCli(['fetch', `${httpUrl}/secure`, ...baseArgs, '-L']);
    expect(result.code).toBe(ExitCode.unsupportedProtocol);
  });

  it('exits 6 when the host does not resolve', async () => {
    const result = await runCli(['fetch', 'http://nothing.invalid/', ...baseArgs]);
    expect(result.code).toBe(ExitCode.couldNotResolveHost);
    expectOneLine(result.stderr, /^tcpts: Could not resolve host: nothing\.invalid/);
  });

  it('exits 78 and lists interfaces when the interface does not exist', async () => {
    const result = await runCli(['fetch', `${httpUrl}/hello`, '--ip', '198.18.20.2', '--iface', 'nonexistent0']);
    expect(result.code).toBe(ExitCode.noSuchInterface);
    expectOneLine(result.stderr, /No such interface: nonexistent0 \(existing: eth0, lo\)/);
  });

  it('exits 77 and asks for root without CAP_NET_RAW', async () => {
    const deps = dependencies({ system: { ...loopbackSystem, mayCapture: () => false } });
    const result = await runCli(['fetch', `${httpUrl}/hello`, ...baseArgs], deps);
    expect(result.code).toBe(ExitCode.permissionDenied);
    expectOneLine(result.stderr, /run as root \(CAP_NET_RAW is needed to open lo\)/);
    expect(deps.stack.opened).toHaveLength(0);
  });

  it.each([
    ['permission-denied', ExitCode.permissionDenied, /CAP_NET_RAW is needed to open lo/],
    ['no-such-interface', ExitCode.noSuchInterface, /No such interface: lo/],
    ['offload', ExitCode.offloadsOn, /ethtool -K lo /],
  ] as const)('maps the stack failing to open with %s to %i', async (code, exitCode, pattern) => {
    const deps = dependencies({
      openStack: () => Promise.reject(Object.assign(new Error(`cannot: ${code}`), { code })),
    });
    const result = await runCli(['fetch', `${httpUrl}/hello`, ...baseArgs], deps);
    expect(result.code).toBe(exitCode);
    expectOneLine(result.stderr, pattern);
  });

  it("says when the interface and gateway it failed with came from the kernel's route", async () => {
    const deps = dependencies({
      system: { ...loopbackSystem, routeTo: async () => ({ iface: 'eth0', gateway: '192.0.2.1' }) },
      openStack: () =>
        Promise.reject(Object.assign(new Error('gateway 192.0.2.1 is outside 198.18.20.2/24'), { code: 'unreachable' })),
    });
    const result = await runCli(['fetch', 'http://198.18.20.1/', '--ip', '198.18.20.2'], deps);
    expect(result.code).toBe(ExitCode.couldNotConnect);
    expectOneLine(result.stderr, /outside 198\.18\.20\.2\/24 \(eth0 via 192\.0\.2\.1 taken from the kernel's route; give --iface\/--gateway\)/);
  });

  it('maps the stack failing during a transfer (offloads found) to 79', async () => {
    const { server, url } = await rawServer((socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab'));
    const deps = dependencies();
    const failing: RunDependencies = {
      ...deps,
      openStack: async (options) => {
        const stack = await deps.openStack(options);
        return {
          connect: async (ip, port) => {
            const socket = await stack.connect(ip, port);
            setTimeout(() => socket.destroy(Object.assign(new Error('frame larger than the MTU'), { code: 'offload' })), 100);
            return socket;
          },
          close: () => stack.close(),
        };
      },
    };
    const result = await runCli(['fetch', `${url}/`, ...baseArgs], failing);
    await closeServer(server);
    expect(result.code).toBe(ExitCode.offloadsOn);
    expect(result.stdout.toString()).toBe('ab');
    expectOneLine(result.stderr, /Offloads are on for lo .*ethtool -K lo/);
  });

  it('exits 7 when the connection is refused', async () => {
    const { server, url } = await rawServer(() => undefined);
    await closeServer(server);
    const result = await runCli(['fetch', `${url}/`, ...baseArgs]);
    expect(result.code).toBe(ExitCode.couldNotConnect);
    expectOneLine(result.stderr, /connection refused/);
  });

  it('exits 28 within --timeout when the peer never answers the SYN', async () => {
    const deps = dependencies();
    const silent: RunDependencies = {
      ...deps,
      openStack: async () => ({ connect: () => new Promise<Duplex>(() => undefined), close: async () => undefined }),
    };
    const started = performance.now();
    const result = await runCli(['fetch', 'http://198.18.20.1/', ...baseArgs, '--timeout', '300'], silent);
    expect(result.code).toBe(ExitCode.timeout);
    expect(performance.now() - started).toBeLessThan(3_000);
    expectOneLine(result.stderr, /after 300 ms: timed out/);
  });

  it('exits 28 at --max-time and keeps the bytes already received', async () => {
    const { server, url } = await rawServer((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nfirst part');
    });
    const file = join(workDir, 'stalled.txt');
    const result = await runCli(['fetch', `${url}/`, ...baseArgs, '--max-time', '400', '-o', file]);
    await closeServer(server);
    expect(result.code).toBe(ExitCode.timeout);
    expectOneLine(result.stderr, /timed out after 400 ms with 10 bytes received/);
    expect(readFileSync(file, 'utf8')).toBe('first part');
  });

  it('exits 18 when the connection closes before Content-Length bytes, keeping them', async () => {
    const { server, url } = await rawServer((socket) => {
      socket.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this');
    });
    const result = await runCli(['fetch', `${url}/`, ...baseArgs]);
    await closeServer(server);
    expect(result.code).toBe(ExitCode.partialTransfer);
    expect(result.stdout.toString()).toBe('only this');
    expectOneLine(result.stderr, /9 of 100 body bytes/);
  });

  it('exits 56 on a reset while receiving, keeping the bytes', async () => {
    const { server, url } = await rawServer((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial', () => {
        setTimeout(() => socket.resetAndDestroy(), 50);
      });
    });
    const result = await runCli(['fetch', `${url}/`, ...baseArgs]);
    await closeServer(server);
    expect(result.code).toBe(ExitCode.receiveError);
    expect(result.stdout.toString()).toBe('partial');
    expectOneLine(result.stderr, /reset .* while receiving \(7 bytes received\)/);
  });

  it('exits 52 on an empty reply and 8 on a malformed one', async () => {
    const empty = await rawServer((socket) => socket.end());
    expect((await runCli(['fetch', `${empty.url}/`, ...baseArgs])).code).toBe(ExitCode.emptyReply);
    await closeServer(empty.server);
    const weird = await rawServer((socket) => socket.end('SSH-2.0-OpenSSH\r\n'));
    const result = await runCli(['fetch', `${weird.url}/`, ...baseArgs]);
    await closeServer(weird.server);
    expect(result.code).toBe(ExitCode.weirdServerReply);
    expectOneLine(result.stderr, /malformed status line/);
  });

  it('exits 22 with -f on a 404 and writes no body; without -f the body is written', async () => {
    const failed = await runCli(['fetch', `${httpUrl}/missing`, ...baseArgs, '-f']);
    expect(failed.code).toBe(ExitCode.httpError);
    expect(failed.stdout.length).toBe(0);
    expectOneLine(failed.stderr, /returned error: 404 Not Found/);
    const plain = await runCli(['fetch', `${httpUrl}/missing`, ...baseArgs]);
    expect(plain.code).toBe(ExitCode.ok);
    expect(plain.stdout.toString()).toBe('not here\n');
  });

  it('exits 47 after 5 redirects with -L', async () => {
    const result = await runCli(['fetch', `${httpUrl}/loop`, ...baseArgs, '-L']);
    expect(result.code).toBe(ExitCode.tooManyRedirects);
    expectOneLine(result.stderr, /Maximum \(5\) redirects/);
  });

  it('exits 23 when the output cannot be written', async () => {
    const full = await runCli(['fetch', `${httpUrl}/big`, ...baseArgs, '-o', '/dev/full']);
    expect(full.code).toBe(ExitCode.writeError);
    expectOneLine(full.stderr, /Failed writing \/dev\/full/);
    const noDir = await runCli(['fetch', `${httpUrl}/hello`, ...baseArgs, '-o', join(workDir, 'no', 'such', 'dir')]);
    expect(noDir.code).toBe(ExitCode.writeError);
  });

  it('exits 130 when interrupted, after closing the stack', async () => {
    const { server, url } = await rawServer((socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n'));
    const deps = dependencies();
    const interrupt = new AbortController();
    setTimeout(() => interrupt.abort(), 200);
    const result = await runCli(['fetch', `${url}/`, ...baseArgs], deps, interrupt.signal);
    await closeServer(server);
    expect(result.code).toBe(ExitCode.interrupted);
    expect(deps.stack.closed).toBe(1);
  });
});

describe('tcpts usage', () => {
  it.each([
    [['fetch', 'http://h/']],
    [['fetch', 'http://h/', '--ip', 'not-an-ip']],
    [['fetch', 'http://h/', '--ip', '198.18.20.2', '--prefix', '33']],
    [['fetch', 'http://h/', '--ip', '198.18.20.2', '--mac', 'zz']],
    [['fetch', 'http://h/', '--ip', '198.18.20.2', '--timeout', '-5']],
    [['fetch']],
    [['frobnicate']],
    [[]],
  ])('exits 2 on %j', async (argv) => {
    const result = await runCli(argv);
    expect(result.code).toBe(ExitCode.usage);
    expect(result.stderr).not.toBe('');
  });

  it('documents the exit codes in --help', async () => {
    const result = await runCli(['fetch', '--help']);
    expect(result.code).toBe(ExitCode.ok);
    const help = result.stdout.toString();
    for (const text of ['--iface', '--ip', '--max-time', 'Exit codes', ' 28  timed out', ' 77  ']) expect(help).toContain(text);
  });

  it('ignores a leading -- as package-manager scripts pass it on', async () => {
    const result = await runCli(['--', 'fetch', `${httpUrl}/hello`, ...baseArgs]);
    expect(result.code).toBe(ExitCode.ok);
    expect(result.stdout.toString()).toBe('hello\n');
  });

  it('prints its version', async () => {
    const result = await runCli(['--version']);
    expect(result.code).toBe(ExitCode.ok);
    expect(result.stdout.toString().trim()).toBe('0.1.0');
  });
});

describe('the fetched file', () => {
  it('is not created when the fetch fails before a response', async () => {
    const file = join(workDir, 'never.txt');
    await runCli(['fetch', 'http://nothing.invalid/', ...baseArgs, '-o', file]);
    expect(existsSync(file)).toBe(false);
  });
});

describe('tcpts fetch, watched (stand-in stack)', () => {
  const expectOneLine = (stderr: string, pattern: RegExp): void => {
    expect(stderr.split('\n').filter((l) => l !== '')).toHaveLength(1);
    expect(stderr).toMatch(pattern);
  };

  /** A loopback port nothing listens on. */
  const closedPort = async (): Promise<number> => {
    const { server, url } = await rawServer(() => undefined);
    await closeServer(server);
    return Number(new URL(url).port);
  };

  it('asks the stack for nothing more on a plain fetch', async () => {
    const deps = dependencies();
    await runCli(['fetch', `${httpUrl}/hello`, ...baseArgs], deps);
    const opened = deps.stack.opened[0]!;
    expect(opened.traceSegments).toBeUndefined();
    expect(opened.inspect).toBeUndefined();
    expect(opened.wrapHost).toBeUndefined();
  });

  it('hands the stack the observer, segment events and a host wrapper for --inspect, --trace and --record', async () => {
    const deps = dependencies();
    const port = await closedPort();
    const trace = join(workDir, 'watched.html');
    const record = join(workDir, 'watched.jsonl');
    const result = await runCli(
      ['fetch', `${httpUrl}/hello`, ...baseArgs, `--inspect=ws://127.0.0.1:${port}`, '--trace', trace, '--record', record],
      deps,
    );
    const opened = deps.stack.opened[0]!;
    expect(typeof opened.inspect).toBe('function');
    expect(opened.traceSegments).toBe(true);
    expect(typeof opened.wrapHost).toBe('function');
    // This stack never calls wrapHost: there is no host to record, and the run says so.
    expect(result.code).toBe(ExitCode.writeError);
    expect(result.stdout.toString()).toBe('hello\n');
    expect(existsSync(trace)).toBe(true);
    expect(result.stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(new RegExp(`^tcpts: warning: cannot reach the inspector at ws://127\\.0\\.0\\.1:${port} .*ECONNREFUSED.*; going on without it$`)),
      `tcpts: Nothing recorded to ${record}: the stack was never opened`,
    ]);
  });

  it('fetches with one warning when the inspector is not there', async () => {
    const port = await closedPort();
    const result = await runCli(['fetch', `${httpUrl}/hello`, ...baseArgs, `--inspect=ws://127.0.0.1:${port}`]);
    expect(result.code).toBe(ExitCode.ok);
    expect(result.stdout.toString()).toBe('hello\n');
    expectOneLine(result.stderr, /^tcpts: warning: cannot reach the inspector/);
  });

  it('takes --inspect with no value after the page URL, and refuses a page URL as its value', async () => {
    const deps = dependencies();
    await runCli(['fetch', `${httpUrl}/hello`, ...baseArgs, '--inspect'], deps);
    expect(typeof deps.stack.opened[0]?.inspect).toBe('function');
    const swallowed = await runCli(['fetch', '--inspect', `${httpUrl}/hello`, ...baseArgs]);
    expect(swallowed.code).toBe(ExitCode.usage);
    expect(swallowed.stderr).toMatch(/--inspect=ws:\/\/HOST:PORT/);
  });

  it('does not contact the inspector when the run fails before it has a stack', async () => {
    const port = await closedPort();
    const result = await runCli(['fetch', 'ftp://server.test/', ...baseArgs, `--inspect=ws://127.0.0.1:${port}`]);
    expect(result.code).toBe(ExitCode.unsupportedProtocol);
    expectOneLine(result.stderr, /^tcpts: .*ftp/);
  });

  it('reports the fetch failure first, then what could not be recorded', async () => {
    const deps = dependencies({
      openStack: () => Promise.reject(Object.assign(new Error('cannot'), { code: 'permission-denied' })),
    });
    const record = join(workDir, 'never.jsonl');
    const result = await runCli(['fetch', `${httpUrl}/hello`, ...baseArgs, '--record', record], deps);
    expect(result.code).toBe(ExitCode.permissionDenied);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/CAP_NET_RAW/);
    expect(lines[1]).toBe(`tcpts: Nothing recorded to ${record}: the stack was never opened`);
    expect(existsSync(record)).toBe(false);
  });

  it('exits 23 when the trace page cannot be written, after a good fetch', async () => {
    const result = await runCli(['fetch', `${httpUrl}/hello`, ...baseArgs, '--trace', join(workDir, 'no', 'such', 'dir.html')]);
    expect(result.code).toBe(ExitCode.writeError);
    expect(result.stdout.toString()).toBe('hello\n');
    expectOneLine(result.stderr, /^tcpts: Failed writing the trace to .*dir\.html: ENOENT/);
  });
});
