/** Readable one-line renderings of stack events for `-v`, in the spirit of `curl -v` and tcpdump. */
import {
  describeIcmpError,
  formatIpv4,
  formatTcpFlags,
  formatTcpOptions,
  TcpFlag,
  type HostEvent,
  type TcpOptions,
  type TcpSegment,
} from '@tcpts/core';
import type { StackSummary } from './stack.js';

/** `SYN,ACK`, `FIN,ACK`, …; `none` without flags. */
export const formatFlags = formatTcpFlags;

/** The options present as ` <mss 1460,ws 7,sackOK,ts 5/0>`, or '' without options. */
export const formatOptions = (options: TcpOptions): string => formatTcpOptions(options);

/** `> SYN seq=… win=… <mss 1460,ws 7>`: `>` for what we send, `<` for what we receive. */
export const formatSegment = (direction: 'in' | 'out', segment: TcpSegment): string => {
  const fields = [`seq=${segment.seq}`];
  if ((segment.flags & TcpFlag.ACK) !== 0) fields.push(`ack=${segment.ack}`);
  fields.push(`win=${segment.window}`);
  if (segment.payload.length > 0) fields.push(`len=${segment.payload.length}`);
  if ((segment.flags & TcpFlag.URG) !== 0) fields.push(`urg=${segment.urgent}`);
  return `${direction === 'out' ? '>' : '<'} ${formatFlags(segment.flags)} ${fields.join(' ')}${formatOptions(segment.options)}`;
};

/** `-v`'s last lines: the frames the stack counted, why it dropped some, and what the device could not send. */
export const formatStackSummary = (stats: StackSummary): string[] => {
  const frames = (count: number): string => `${count} frame${count === 1 ? '' : 's'}`;
  const lines = [`* Stack: ${frames(stats.framesIn)} in, ${stats.framesOut} out`];
  const coalesced = stats.device?.framesCoalesced ?? 0;
  if (coalesced > 0) lines.push(`* Receive coalescing: ${frames(coalesced)} merged into the one before them`);
  const dropped = [...stats.dropped].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  if (dropped.length > 0) lines.push(`* Dropped: ${dropped.map(([reason, count]) => `${count} × ${reason}`).join('; ')}`);
  const device = stats.device;
  if (device !== undefined && (device.sendErrors > 0 || device.transmitStalls > 0)) {
    const stalls = device.transmitStalls === 1 ? 'once' : `${device.transmitStalls} times`;
    lines.push(`* Not sent (TCP sends them again): ${frames(device.sendErrors)}; transmit ring stalled ${stalls}`);
  }
  return lines;
};

/** The trace line for an event, or undefined for events `-v` does not show. */
export const formatHostEvent = (event: HostEvent): string | undefined => {
  switch (event.type) {
    case 'state':
      return `* ${event.from} -> ${event.to}`;
    case 'segment':
      return formatSegment(event.direction, event.segment);
    case 'error':
      return `* connection error: ${event.error}`;
    case 'icmp-error':
      return `* ICMP from ${formatIpv4(event.from)}: ${describeIcmpError(event.icmpType, event.code)}${event.mtu === undefined ? '' : `, next hop MTU ${event.mtu}`}`;
    case 'black-hole':
      return `* No ACK for full-sized segments after three timeouts: fitting a path MTU of ${event.pathMtu} (black-hole detection)`;
    case 'path-mtu-raised':
      return `* Ten minutes at a smaller size: trying a path MTU of ${event.pathMtu} again (RFC 1191 §6.3)`;
    case 'congestion': {
      const ssthresh = Number.isFinite(event.ssthresh) && event.ssthresh < 2 ** 30 ? String(event.ssthresh) : 'inf';
      const srtt = event.srtt === undefined ? '-' : `${event.srtt.toFixed(1)} ms`;
      return `* cwnd ${event.cwnd} ssthresh ${ssthresh} srtt ${srtt} rto ${Math.round(event.rto)} ms`;
    }
    default:
      return undefined;
  }
};
