import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { closeCapturesOn } from './pcap-device.js';

/**
 * Throw-away networks of Linux namespaces for tests and demos.
 *
 * Layout (s = `subnet`):
 *
 *   root namespace            <name>-srv                     <name>-cli
 *   ┌──────────────┐    ┌───────────────────────────┐    ┌──────────────────┐
 *   │ <name>-stk ──┼────┼─ stk ─┐                   │    │                  │
 *   │ (no address) │    │       br0 198.18.s.1/24   │    │                  │
 *   └──────────────┘    │ cli ──┘  (kernel server)  ├────┼─ eth0            │
 *                       └───────────────────────────┘    │  198.18.s.3/24   │
 *                                                        └──────────────────┘
 *
 * `<name>-srv` is both the server and the switch. Our stack opens
 * `<name>-stk`, which stays in the root namespace, so the process that runs it
 * (a test worker, the CLI) needs no `ip netns exec` and can be written in
 * TypeScript run by vitest. The stack uses 198.18.s.2 with its own MAC; neither
 * appears in any kernel configuration, so no kernel answers for it (no RSTs,
 * no ARP replies). The kernel in `<name>-cli` (198.18.s.3) is the reference
 * client for comparisons (curl). Offloads are off on every veth end so that
 * frames on the wire are real Ethernet frames with finished checksums.
 */
export interface LabOptions {
  /** Short prefix, unique per test file: [a-z][a-z0-9-]{0,10}. */
  name: string;
  /** Third octet: the lab uses 198.18.<subnet>.0/24. */
  subnet: number;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** Exit status; `null` when a signal (or the timeout) ended the command. */
  code: number | null;
}

export interface HttpServerHandle {
  pid: number;
  stop(): Promise<void>;
}

export interface HttpServerOptions {
  /** A Linux TCP congestion control module (`/proc/sys/net/ipv4/tcp_available_congestion_control`). */
  readonly congestionControl?: string;
}

/**
 * http.server's own server and handler, with TCP_CONGESTION set on the listening socket, which
 * every accepted connection inherits (root may pick any available algorithm, not only those the
 * namespace allows). Arguments: address, port, directory, algorithm.
 */
const HTTP_SERVER_WITH_CONGESTION_CONTROL = `
import functools, http.server, socket, sys
address, port, directory, algorithm = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
class Server(http.server.ThreadingHTTPServer):
    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, algorithm.encode())
        super().server_bind()
Server((address, port), functools.partial(http.server.SimpleHTTPRequestHandler, directory=directory)).serve_forever()
`;

export interface Lab {
  readonly serverNs: string;
  readonly clientNs: string;
  /** The interface our stack opens; it lives in the root namespace. */
  readonly clientIface: string;
  readonly serverIp: string;
  /** The address our stack takes: no kernel owns it. */
  readonly stackIp: string;
  /** The kernel's own address in `clientNs`, for reference clients. */
  readonly clientKernelIp: string;
  readonly prefixLength: number;
  /**
   * `python3 -m http.server` serving `dir` on serverIp:port in serverNs; resolves once it accepts
   * connections. With `congestionControl` (`cubic`, `reno`, …) its connections use that algorithm
   * instead of the namespace's default.
   */
  startHttpServer(dir: string, port: number, options?: HttpServerOptions): Promise<HttpServerHandle>;
  /**
   * One ICMP echo from the kernel of `ns` to `target` (Python raw socket: iputils
   * `ping` is not always installed); true when the matching reply came back in time.
   */
  ping(ns: string, target: string, timeoutMs?: number, dataBytes?: number): Promise<boolean>;
  /** Runs `argv` inside namespace `ns`; never rejects for a non-zero exit. */
  exec(ns: string, argv: readonly string[], options?: { timeoutMs?: number; input?: string }): Promise<ExecResult>;
  /** Stops what the lab started and deletes its namespaces; safe to call twice. */
  destroy(): Promise<void>;
}

const COMMAND_TIMEOUT_MS = 10_000;
/** The distribution's interpreter starts in milliseconds; version-manager shims take seconds. */
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

/** argv: target, timeout seconds. Exit 0 on an echo reply with our identifier from the target. */
const PING_SCRIPT = `
import os, socket, struct, sys, time
target, limit, size = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
def checksum(data):
    total = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while total > 0xffff:
        total = (total & 0xffff) + (total >> 16)
    return 0xffff - total
ident = os.getpid() & 0xffff
body = (b'tcpts-lab-ping!!' * (size // 16 + 1))[:size]
request = struct.pack('!BBHHH', 8, 0, 0, ident, 1) + body
request = request[:2] + struct.pack('!H', checksum(request)) + request[4:]
sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
sock.sendto(request, (target, 0))
deadline = time.monotonic() + limit
while time.monotonic() < deadline:
    sock.settimeout(max(0.01, deadline - time.monotonic()))
    try:
        packet, source = sock.recvfrom(65536)
    except socket.timeout:
        break
    icmp = packet[(packet[0] & 0x0f) * 4:]
    if source[0] == target and icmp[0] == 0 and struct.unpack('!H', icmp[4:6])[0] == ident and icmp[8:] == body:
        sys.exit(0)
sys.exit(1)
`;
const OFFLOAD_FEATURES = ['tso', 'off', 'gso', 'off', 'gro', 'off', 'tx', 'off', 'rx', 'off'];
const NAME_PATTERN = /^[a-z][a-z0-9-]{0,10}$/;

/** Runs a program without a shell; resolves with its outcome whatever the exit status. */
export function run(
  file: string,
  args: readonly string[],
  options: { timeoutMs?: number; input?: string } = {},
): Promise<ExecResult> {
  return new Promise((resolve) => {
    const child = execFile(
      file,
      args,
      { timeout: options.timeoutMs ?? COMMAND_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => {
        let code: number | null = 0;
        if (error !== null) {
          const status = (error as NodeJS.ErrnoException & { code?: unknown }).code;
          code = typeof status === 'number' ? status : null;
          if (typeof status === 'string') stderr = `${stderr}${error.message}\n`;
        }
        resolve({ stdout, stderr, code });
      },
    );
    // A command that exits without reading its input closes the pipe: that is not an error here.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(options.input);
  });
}

/** Like `run`, but a failure is an exception naming the command. */
async function must(file: string, args: readonly string[]): Promise<string> {
  const result = await run(file, args);
  if (result.code !== 0) {
    throw new Error(`${file} ${args.join(' ')} failed (${String(result.code)}): ${result.stderr.trim()}`);
  }
  return result.stdout;
}

const ip = (...args: string[]): Promise<string> => must('ip', args);

async function namespaceExists(ns: string): Promise<boolean> {
  const listing = await run('ip', ['netns', 'list']);
  return listing.stdout.split('\n').some((line) => line.split(' ')[0] === ns);
}

/**
 * Removes a namespace left by an earlier run that died before cleaning up.
 * Processes still inside it would keep it alive after `ip netns del`; a
 * namespace with this name can only hold what an earlier lab started there.
 */
async function removeStaleNamespace(ns: string): Promise<void> {
  if (!(await namespaceExists(ns))) return;
  const pids = await run('ip', ['netns', 'pids', ns]);
  for (const pid of pids.stdout.split(/\s+/).filter((text) => /^\d+$/.test(text))) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  await run('ip', ['netns', 'del', ns]);
}

async function linkExists(iface: string, ns?: string): Promise<boolean> {
  const args = ns === undefined ? ['link', 'show', 'dev', iface] : ['-n', ns, 'link', 'show', 'dev', iface];
  return (await run('ip', args)).code === 0;
}

/** Turns offloads off and checks that the ones that change what we capture really are. */
async function disableOffloads(iface: string, ns?: string): Promise<void> {
  const prefix = ns === undefined ? [] : ['netns', 'exec', ns];
  const ethtool = (args: string[]): Promise<ExecResult> =>
    ns === undefined ? run('ethtool', args) : run('ip', [...prefix, 'ethtool', ...args]);
  const change = await ethtool(['-K', iface, ...OFFLOAD_FEATURES]);
  const features = await ethtool(['-k', iface]);
  const stillOn = [
    'tcp-segmentation-offload',
    'generic-segmentation-offload',
    'generic-receive-offload',
    'tx-checksumming',
  ].filter((feature) => new RegExp(`^${feature}: on`, 'm').test(features.stdout));
  if (features.code !== 0 || stillOn.length > 0) {
    throw new Error(
      `could not turn offloads off on ${iface}${ns === undefined ? '' : ` in ${ns}`}: ` +
        `${stillOn.join(', ') || features.stderr.trim()} ${change.stderr.trim()}`,
    );
  }
}

/** Keeps the kernel from sending IPv6 autoconfiguration chatter on a link (not needed, only noise). */
async function disableIpv6(ns: string | undefined, iface: string): Promise<void> {
  const path = `/proc/sys/net/ipv6/conf/${iface}/disable_ipv6`;
  if (ns === undefined) {
    await writeFile(path, '1').catch(() => undefined);
  } else {
    await run('ip', ['netns', 'exec', ns, 'sh', '-c', `test -e ${path} && echo 1 > ${path}`]);
  }
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    // The server was started as the leader of its own process group: this reaches it and nothing else.
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

export async function createLab(options: LabOptions): Promise<Lab> {
  const { name, subnet } = options;
  if (!NAME_PATTERN.test(name)) {
    throw new Error(`lab name "${name}" must match ${String(NAME_PATTERN)} (interface names are at most 15 characters)`);
  }
  if (!Number.isInteger(subnet) || subnet < 0 || subnet > 255) {
    throw new Error(`lab subnet ${subnet} must be an integer 0–255 (198.18.<subnet>.0/24)`);
  }
  const serverNs = `${name}-srv`;
  const clientNs = `${name}-cli`;
  const clientIface = `${name}-stk`;
  const prefixLength = 24;
  const address = (host: number): string => `198.18.${subnet}.${host}`;
  const servers = new Map<number, ChildProcess>();
  let destroyed = false;

  const exec: Lab['exec'] = (ns, argv, execOptions) => run('ip', ['netns', 'exec', ns, ...argv], execOptions);

  const ping: Lab['ping'] = async (ns, target, timeoutMs = 2_000, dataBytes = 16) => {
    const result = await exec(ns, [PYTHON, '-c', PING_SCRIPT, target, String(timeoutMs / 1000), String(dataBytes)], {
      timeoutMs: timeoutMs + 5_000,
    });
    return result.code === 0;
  };

  const stopServer = async (child: ChildProcess): Promise<void> => {
    const pid = child.pid;
    if (pid === undefined) return;
    servers.delete(pid);
    signalGroup(pid, 'SIGTERM');
    if (!(await waitForExit(child, 3_000))) {
      signalGroup(pid, 'SIGKILL');
      await waitForExit(child, 3_000);
    }
  };

  const destroy = async (): Promise<void> => {
    destroyed = true;
    // The capture addon would abort this process when the interface goes away under it.
    closeCapturesOn(clientIface, `lab ${name} is being destroyed`);
    await Promise.all([...servers.values()].map(stopServer));
    for (const ns of [serverNs, clientNs]) {
      if (await namespaceExists(ns)) await run('ip', ['netns', 'del', ns]);
    }
    // Deleting the server namespace deletes the veth pair; this only matters after a failed setup.
    if (await linkExists(clientIface)) await run('ip', ['link', 'del', 'dev', clientIface]);
  };

  const startHttpServer = async (dir: string, port: number, options: HttpServerOptions = {}): Promise<HttpServerHandle> => {
    if (destroyed) throw new Error(`lab ${name} is destroyed`);
    const { congestionControl } = options;
    const server =
      congestionControl === undefined
        ? ['-m', 'http.server', '--bind', address(1), '--directory', dir, String(port)]
        : ['-c', HTTP_SERVER_WITH_CONGESTION_CONTROL, address(1), String(port), dir, congestionControl];
    const child = spawn('ip', ['netns', 'exec', serverNs, PYTHON, ...server], {
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const pid = child.pid;
    if (pid === undefined) throw new Error('could not start python3 -m http.server');
    servers.set(pid, child);
    // The server logs every request: keep draining, keep only the tail for error messages.
    let stderrTail = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderrTail = (stderrTail + chunk.toString('utf8')).slice(-4_000);
    });
    const probe = [
      PYTHON,
      '-c',
      `import socket; socket.create_connection(("${address(1)}", ${port}), timeout=1).close()`,
    ];
    for (let attempt = 0; attempt < 100; attempt++) {
      if (child.exitCode !== null || child.signalCode !== null) break;
      if ((await exec(serverNs, probe, { timeoutMs: 5_000 })).code === 0) {
        return { pid, stop: () => stopServer(child) };
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await stopServer(child);
    throw new Error(`http.server on ${address(1)}:${port} did not start: ${stderrTail.trim()}`);
  };

  closeCapturesOn(clientIface, `lab ${name} is being recreated`);
  for (const ns of [serverNs, clientNs]) await removeStaleNamespace(ns);
  if (await linkExists(clientIface)) await run('ip', ['link', 'del', 'dev', clientIface]);

  try {
    await ip('netns', 'add', serverNs);
    await ip('netns', 'add', clientNs);
    await ip('-n', serverNs, 'link', 'add', 'br0', 'type', 'bridge');
    await ip('link', 'add', clientIface, 'type', 'veth', 'peer', 'name', 'stk', 'netns', serverNs);
    await ip('-n', clientNs, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'cli', 'netns', serverNs);
    await ip('-n', serverNs, 'link', 'set', 'stk', 'master', 'br0');
    await ip('-n', serverNs, 'link', 'set', 'cli', 'master', 'br0');
    await disableIpv6(undefined, clientIface);
    for (const iface of ['br0', 'stk', 'cli']) await disableIpv6(serverNs, iface);
    await disableIpv6(clientNs, 'eth0');
    await disableOffloads(clientIface);
    for (const iface of ['br0', 'stk', 'cli']) await disableOffloads(iface, serverNs);
    await disableOffloads('eth0', clientNs);
    await ip('-n', serverNs, 'addr', 'add', `${address(1)}/${prefixLength}`, 'dev', 'br0');
    await ip('-n', clientNs, 'addr', 'add', `${address(3)}/${prefixLength}`, 'dev', 'eth0');
    for (const iface of ['lo', 'br0', 'stk', 'cli']) await ip('-n', serverNs, 'link', 'set', iface, 'up');
    for (const iface of ['lo', 'eth0']) await ip('-n', clientNs, 'link', 'set', iface, 'up');
    // libpcap warns on stderr ("no IPv4 address assigned") when it opens an interface without one.
    // A /32 the kernel may keep, far from the addresses in use (.254), silences it; the kernel
    // owns neither our .2 nor our MAC, so it still never answers our connections.
    await ip('addr', 'add', `${address(254)}/32`, 'dev', clientIface);
    await ip('link', 'set', clientIface, 'up');
  } catch (error) {
    await destroy();
    throw error;
  }

  return {
    serverNs,
    clientNs,
    clientIface,
    serverIp: address(1),
    stackIp: address(2),
    clientKernelIp: address(3),
    prefixLength,
    startHttpServer,
    ping,
    exec,
    destroy,
  };
}
