import { TcpFlag, type TcpOptions } from './tcp-types.js';

/** Flag names in the order people say them ("SYN,ACK", "FIN,ACK"). */
const FLAG_NAMES: ReadonlyArray<readonly [number, string]> = [
  [TcpFlag.SYN, 'SYN'],
  [TcpFlag.FIN, 'FIN'],
  [TcpFlag.RST, 'RST'],
  [TcpFlag.PSH, 'PSH'],
  [TcpFlag.ACK, 'ACK'],
  [TcpFlag.URG, 'URG'],
  [TcpFlag.ECE, 'ECE'],
  [TcpFlag.CWR, 'CWR'],
];

/** `SYN,ACK`, `FIN,PSH,ACK`, …; `none` for a segment without flags. */
export const formatTcpFlags = (flags: number): string => {
  const names = FLAG_NAMES.filter(([bit]) => (flags & bit) !== 0).map(([, name]) => name);
  return names.length === 0 ? 'none' : names.join(',');
};

/**
 * The options present, as ` <mss 1460,ws 7,sackOK,ts 5/0,sack 10-20>` (with a
 * leading space), or '' when there are none. `timestamps: 'presence'` writes
 * just `TS`, for summaries where the values would be noise.
 */
export const formatTcpOptions = (options: TcpOptions, timestamps: 'values' | 'presence' = 'values'): string => {
  const parts: string[] = [];
  if (options.mss !== undefined) parts.push(`mss ${options.mss}`);
  if (options.windowScale !== undefined) parts.push(`ws ${options.windowScale}`);
  if (options.sackPermitted === true) parts.push('sackOK');
  if (options.timestamps !== undefined) {
    parts.push(timestamps === 'presence' ? 'TS' : `ts ${options.timestamps.value}/${options.timestamps.echo}`);
  }
  if (options.sack !== undefined && options.sack.length > 0) {
    parts.push(`sack ${options.sack.map((block) => `${block.left}-${block.right}`).join(' ')}`);
  }
  return parts.length === 0 ? '' : ` <${parts.join(',')}>`;
};
