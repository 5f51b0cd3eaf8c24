import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { HostEvent } from '@tcpts/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, type Lab, run } from './lab.js';
import { PcapStack } from './realtime-driver.js';

/*
 * Path MTU discovery (RFC 1191) against the Linux kernel as a router. The lab's
 * server namespace routes to a third namespace over a veth pair whose router
 * end has an MTU of 1280; the far end keeps 1500, so the far host announces an
 * MSS of 1460 and our first segments are too big for the hop. The kernel drops
 * them (we set DF) and answers "fragmentation needed" with the next hop's MTU.
 */
const SUBNET = 16;
const FAR_NET = 17;
const FAR_NS = 'tcpd-pmtu-far';
const FAR_IP = `198.18.${FAR_NET}.2`;
const ROUTER_FAR_IP = `198.18.${FAR_NET}.1`;
const HOP_MTU = 1280;
const SINK_PORT = 9000;
const OFFLOADS_OFF = ['tso', 'off', 'gso', 'off', 'gro', 'off', 'tx', 'off', 'rx', 'off'];

const must = async (argv: readonly string[]): Promise<void> => {
  const result = await run(argv[0]!, argv.slice(1));
  if (result.code !== 0) throw new Error(`${argv.join(' ')} failed: ${result.stderr}`);
};

describe('path MTU discovery through a kernel router (RFC 1191)', () => {
  let lab: Lab;

  beforeAll(async () => {
    lab = await createLab({ name: 'tcpd-pmtu', subnet: SUBNET });
    await run('ip', ['netns', 'del', FAR_NS]); // a leftover of an interrupted run
    await must(['ip', 'netns', 'add', FAR_NS]);
    await must(['ip', '-n', lab.serverNs, 'link', 'add', 'pmtu0', 'mtu', String(HOP_MTU), 'type', 'veth', 'peer', 'name', 'pmtu1', 'netns', FAR_NS]);
    await must(['ip', 'netns', 'exec', lab.serverNs, 'ethtool', '-K', 'pmtu0', ...OFFLOADS_OFF]);
    await must(['ip', 'netns', 'exec', FAR_NS, 'ethtool', '-K', 'pmtu1', ...OFFLOADS_OFF]);
    await must(['ip', '-n', lab.serverNs, 'addr', 'add', `${ROUTER_FAR_IP}/24`, 'dev', 'pmtu0']);
    await must(['ip', '-n', lab.serverNs, 'link', 'set', 'pmtu0', 'up']);
    await must(['ip', 'netns', 'exec', lab.serverNs, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    await must(['ip', '-n', FAR_NS, 'link', 'set', 'lo', 'up']);
    await must(['ip', '-n', FAR_NS, 'addr', 'add', `${FAR_IP}/24`, 'dev', 'pmtu1']);
    await must(['ip', '-n', FAR_NS, 'link', 'set', 'pmtu1', 'up']);
    await must(['ip', '-n', FAR_NS, 'route', 'add', 'default', 'via', ROUTER_FAR_IP]);
  }, 60_000);

  afterAll(async () => {
    await run('ip', ['netns', 'del', FAR_NS]);
    await lab?.destroy();
  });

  it('uploads through a hop of MTU 1280: the router says how big, and the segments shrink to fit', async () => {
    const sink = [
      'import hashlib, socket',
      's = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)',
      `s.bind(('${FAR_IP}', ${SINK_PORT})); s.listen(1); print('ready', flush=True)`,
      'c, _ = s.accept(); h = hashlib.sha256(); n = 0',
      'while True:',
      '    b = c.recv(1 << 20)',
      '    if not b: break',
      '    h.update(b); n += len(b)',
      'print(n, h.hexdigest(), flush=True)',
    ].join('\n');
    const receiver = spawn('ip', ['netns', 'exec', FAR_NS, 'python3', '-c', sink], { stdio: ['ignore', 'pipe', 'inherit'] });
    const events: HostEvent[] = [];
    const stack = await PcapStack.open({
      iface: lab.clientIface,
      ip: lab.stackIp,
      prefixLength: lab.prefixLength,
      gateway: lab.serverIp,
      capture: 'packet-ring',
      traceSegments: true,
      onEvent: (event) => events.push(event),
    });
    try {
      let output = '';
      receiver.stdout.setEncoding('utf8').on('data', (text: string) => (output += text));
      const until = async (predicate: () => boolean, what: string) => {
        for (let waited = 0; !predicate(); waited += 20) {
          if (waited > 15_000) throw new Error(`${what}; the receiver said ${JSON.stringify(output)}`);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      };
      await until(() => output.startsWith('ready\n'), 'the receiver did not start');
      const content = randomBytes(600_000);
      const socket = await stack.connect(FAR_IP, SINK_PORT, { timeoutMs: 5_000 });
      for (let at = 0; at < content.length; at += 100_000) {
        if (!socket.write(content.subarray(at, at + 100_000))) await once(socket, 'drain');
      }
      socket.end();
      await until(() => output.split('\n').length > 2, 'the upload did not arrive: a black hole without path MTU discovery');
      expect(output.split('\n')[1]).toBe(`${content.length} ${createHash('sha256').update(content).digest('hex')}`);

      const report = events.findIndex((event) => event.type === 'icmp-error' && event.icmpType === 3 && event.code === 4);
      expect(report).toBeGreaterThanOrEqual(0);
      const sentData = (from: number, to: number) =>
        events
          .slice(from, to)
          .flatMap((event) => (event.type === 'segment' && event.direction === 'out' ? [event.segment.payload.length] : []))
          .filter((length) => length > 0);
      // Before the report: full-sized segments for a 1500 link. After it: 1280 less 40 of headers
      // and 12 of timestamps, never more.
      expect(Math.max(...sentData(0, report))).toBe(1448);
      expect(Math.max(...sentData(report, events.length))).toBe(HOP_MTU - 40 - 12);
      socket.destroy();
    } finally {
      receiver.kill();
      await stack.close();
    }
  });
});
