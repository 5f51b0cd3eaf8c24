/** Readable one-line renderings of stack events for `-v`, in the spirit of `curl -v` and tcpdump. */
import { TcpFlag, type HostEvent, type TcpOptions, type TcpSegment } from '@tcpts/core';

/** Flag names in the order people say them ("SYN,ACK", "FIN,ACK"). */
const flagOrder: ReadonlyArray<readonly [number, string]> = [
  [TcpFlag.SYN, 'SYN'],
  [TcpFlag.FIN, 'FIN'],
  [TcpFlag.RST, 'RST'],
  [TcpFlag.PSH, 'PSH'],
  [TcpFlag.ACK, 'ACK'],
  [TcpFlag.URG, 'URG'],
  [TcpFlag.ECE, 'ECE'],
  [TcpFlag.CWR, 'CWR'],
];

export const formatFlags = (flags: number): string => {
  const names = flagOrder.filter(([bit]) => (flags & bit) !== 0).map(([, name]) => name);
  return names.length === 0 ? 'none' : names.join(',');
};

export const formatOptions = (options: TcpOptions): string => {
  const parts: string[] = [];
  if (options.mss !== undefined) parts.push(`mss ${options.mss}`);
  if (options.sackPermitted === true) parts.push('sackOK');
  if (options.timestamps !== undefined) parts.push(`ts ${options.timestamps.value} ${options.timestamps.echo}`);
  if (options.windowScale !== undefined) parts.push(`ws ${options.windowScale}`);
  if (options.sack !== undefined && options.sack.length > 0) {
    parts.push(`sack ${options.sack.map((b) => `${b.left}-${b.right}`).join(' ')}`);
  }
  return parts.length === 0 ? '' : ` <${parts.join(',')}>`;
};

/** `> SYN seq=… win=… <mss 1460,ws 7>`: `>` for what we send, `<` for what we receive. */
export const formatSegment = (direction: 'in' | 'out', segment: TcpSegment): string => {
  const fields = [`seq=${segment.seq}`];
  if ((segment.flags & TcpFlag.ACK) !== 0) fields.push(`ack=${segment.ack}`);
  fields.push(`win=${segment.window}`);
  if (segment.payload.length > 0) fields.push(`len=${segment.payload.length}`);
  if ((segment.flags & TcpFlag.URG) !== 0) fields.push(`urg=${segment.urgent}`);
  return `${direction === 'out' ? '>' : '<'} ${formatFlags(segment.flags)} ${fields.join(' ')}${formatOptions(segment.options)}`;
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
    case 'congestion': {
      const ssthresh = Number.isFinite(event.ssthresh) && event.ssthresh < 2 ** 30 ? String(event.ssthresh) : 'inf';
      const srtt = event.srtt === undefined ? '-' : `${event.srtt.toFixed(1)} ms`;
      return `* cwnd ${event.cwnd} ssthresh ${ssthresh} srtt ${srtt} rto ${Math.round(event.rto)} ms`;
    }
    default:
      return undefined;
  }
};
