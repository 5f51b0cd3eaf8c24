import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { HostEvent } from '@tcpts/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseIpv4 } from './addresses.js';
import { createLab, type Lab, run } from './lab.js';
import { PcapStack } from './realtime-driver.js';
import { sha256Summary, startSha256Sink } from './testing/sink.js';

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

  /** Our stack beyond the router, every segment and event it reports kept. */
  const openTracedStack = async (): Promise<{ stack: PcapStack; events: HostEvent[] }> => {
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
    return { stack, events };
  };

  /** Data lengths of the segments we sent, in order, of `events[from..to)`. */
  const sentDataLengths = (events: readonly HostEvent[], from = 0, to = events.length): number[] =>
    events
      .slice(from, to)
      .flatMap((event) => (event.type === 'segment' && event.direction === 'out' ? [event.segment.payload.length] : []))
      .filter((length) => length > 0);

  it('uploads through a hop of MTU 1280: the router says how big, and the segments shrink to fit', async () => {
    const sink = await startSha256Sink(FAR_NS, FAR_IP, SINK_PORT);
    const { stack, events } = await openTracedStack();
    try {
      const content = randomBytes(600_000);
      const socket = await stack.connect(FAR_IP, SINK_PORT, { timeoutMs: 5_000 });
      for (let at = 0; at < content.length; at += 100_000) {
        if (!socket.write(content.subarray(at, at + 100_000))) await once(socket, 'drain');
      }
      socket.end();
      expect(await sink.received(15_000, 'the upload did not arrive: a black hole without path MTU discovery')).toBe(
        sha256Summary(content),
      );

      const report = events.findIndex((event) => event.type === 'icmp-error' && event.icmpType === 3 && event.code === 4);
      expect(report).toBeGreaterThanOrEqual(0);
      expect(events[report]).toMatchObject({ from: parseIpv4(lab.serverIp), mtu: HOP_MTU });
      // Before the report: full-sized segments for a 1500 link. After it: 1280 less 40 of headers
      // and 12 of timestamps, never more.
      expect(Math.max(...sentDataLengths(events, 0, report))).toBe(1448);
      expect(Math.max(...sentDataLengths(events, report))).toBe(HOP_MTU - 40 - 12);
      socket.destroy();
    } finally {
      sink.stop();
      await stack.close();
    }
  });

  it('uploads through the same hop when the router\'s ICMP is filtered: timeouts in a row reveal the black hole (RFC 4821 §7.7)', async () => {
    // The router's own "fragmentation needed" leave through its output hook: dropped there, as a
    // firewall that filters ICMP would.
    const filter = [
      'table inet tcpts_pmtu_filter {',
      '  chain out { type filter hook output priority 0; policy accept;',
      '    icmp type destination-unreachable icmp code frag-needed counter drop',
      '  }',
      '}',
    ].join('\n');
    const loaded = await run('ip', ['netns', 'exec', lab.serverNs, 'nft', '-f', '-'], { input: filter });
    if (loaded.code !== 0) throw new Error(`nft refused the filter: ${loaded.stderr}`);
    const sink = await startSha256Sink(FAR_NS, FAR_IP, SINK_PORT + 1);
    const { stack, events } = await openTracedStack();
    try {
      const content = randomBytes(300_000);
      const socket = await stack.connect(FAR_IP, SINK_PORT + 1, { timeoutMs: 5_000 });
      socket.end(content);
      expect(await sink.received(20_000, 'the upload did not arrive: the black hole was not found')).toBe(sha256Summary(content));

      expect(events.some((event) => event.type === 'icmp-error')).toBe(false);
      expect(events.filter((event) => event.type === 'black-hole')).toMatchObject([{ pathMtu: 1024 }]);
      const dropped = await run('ip', ['netns', 'exec', lab.serverNs, 'nft', 'list', 'table', 'inet', 'tcpts_pmtu_filter']);
      expect(Number(/packets (\d+)/.exec(dropped.stdout)?.[1] ?? 0)).toBeGreaterThan(0);
      const sentData = sentDataLengths(events);
      // Full-sized segments until the third timeout in a row, then ones for a 1024-byte path
      // (less 40 of headers and 12 of timestamps), which the hop carries.
      const fallback = 1024 - 40 - 12;
      const shrunk = sentData.indexOf(fallback);
      expect(shrunk).toBeGreaterThan(0);
      expect(Math.max(...sentData.slice(0, shrunk))).toBe(1448);
      expect(Math.max(...sentData.slice(shrunk))).toBe(fallback);
      socket.destroy();
    } finally {
      sink.stop();
      await stack.close();
      await run('ip', ['netns', 'exec', lab.serverNs, 'nft', 'delete', 'table', 'inet', 'tcpts_pmtu_filter']);
    }
  });
});
