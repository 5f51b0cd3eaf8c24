import { TcpFlag, type TcpSegment } from '@tcpts/core';
import { describe, expect, it } from 'vitest';
import { formatFlags, formatHostEvent, formatSegment, formatStackSummary } from './trace.js';

const segment = (fields: Partial<TcpSegment>): TcpSegment => ({
  srcPort: 49152,
  dstPort: 80,
  seq: 0,
  ack: 0,
  flags: 0,
  window: 0,
  urgent: 0,
  options: {},
  payload: new Uint8Array(0),
  ...fields,
});

describe('trace', () => {
  it('writes a SYN with its options', () => {
    const syn = segment({ flags: TcpFlag.SYN, seq: 1234, window: 65535, options: { mss: 1460, windowScale: 7 } });
    expect(formatSegment('out', syn)).toBe('> SYN seq=1234 win=65535 <mss 1460,ws 7>');
  });

  it('writes a SYN,ACK with ack, SACK permission and timestamps', () => {
    const synAck = segment({
      flags: TcpFlag.SYN | TcpFlag.ACK,
      seq: 9,
      ack: 1235,
      window: 65160,
      options: { mss: 1460, sackPermitted: true, timestamps: { value: 5, echo: 7 }, windowScale: 7 },
    });
    expect(formatSegment('in', synAck)).toBe('< SYN,ACK seq=9 ack=1235 win=65160 <mss 1460,ws 7,sackOK,ts 5/7>');
  });

  it('shows the payload length and SACK blocks', () => {
    const data = segment({
      flags: TcpFlag.ACK | TcpFlag.PSH,
      seq: 1,
      ack: 2,
      window: 501,
      payload: new Uint8Array(1448),
      options: { sack: [{ left: 10, right: 20 }] },
    });
    expect(formatSegment('in', data)).toBe('< PSH,ACK seq=1 ack=2 win=501 len=1448 <sack 10-20>');
  });

  it('names every flag in order', () => {
    expect(formatFlags(0xff)).toBe('SYN,FIN,RST,PSH,ACK,URG,ECE,CWR');
    expect(formatFlags(TcpFlag.FIN | TcpFlag.ACK)).toBe('FIN,ACK');
    expect(formatFlags(0)).toBe('none');
  });

  it('writes state changes like curl -v does its notes', () => {
    expect(formatHostEvent({ type: 'state', socket: 1, from: 'SYN-SENT', to: 'ESTABLISHED', at: 0 })).toBe(
      '* SYN-SENT -> ESTABLISHED',
    );
    expect(formatHostEvent({ type: 'data', socket: 1, data: new Uint8Array(1) })).toBeUndefined();
  });

  it('names an ICMP error and who sent it', () => {
    expect(formatHostEvent({ type: 'icmp-error', socket: 1, from: 0xc6120101, icmpType: 3, code: 1 })).toBe(
      '* ICMP from 198.18.1.1: host unreachable',
    );
    expect(formatHostEvent({ type: 'icmp-error', socket: 1, from: 0xc6120101, icmpType: 11, code: 0 })).toBe(
      '* ICMP from 198.18.1.1: time to live exceeded in transit',
    );
    expect(formatHostEvent({ type: 'icmp-error', socket: 1, from: 0xc6120101, icmpType: 3, code: 4, mtu: 1280 })).toBe(
      '* ICMP from 198.18.1.1: fragmentation needed and DF set, next hop MTU 1280',
    );
  });

  it('sums up what the stack counted: frames, drops by reason (most first), and frames the device could not send', () => {
    const dropped = new Map([
      ['ipv4.checksum: mismatch', 2],
      ['tcp: no connection', 5],
    ]);
    expect(formatStackSummary({ framesIn: 100, framesOut: 40, dropped })).toEqual([
      '* Stack: 100 frames in, 40 out',
      '* Dropped: 5 × tcp: no connection; 2 × ipv4.checksum: mismatch',
    ]);
    expect(formatStackSummary({ framesIn: 1, framesOut: 2, dropped: new Map(), device: { sendErrors: 0, transmitStalls: 0 } })).toEqual([
      '* Stack: 1 frame in, 2 out',
    ]);
    expect(formatStackSummary({ framesIn: 1, framesOut: 2, dropped: new Map(), device: { sendErrors: 9, transmitStalls: 1 } })).toEqual([
      '* Stack: 1 frame in, 2 out',
      '* Not sent (TCP sends them again): 9 frames; transmit ring stalled once',
    ]);
    const coalescing = { sendErrors: 0, transmitStalls: 0, framesCoalesced: 700 };
    expect(formatStackSummary({ framesIn: 30, framesOut: 200, dropped: new Map(), device: coalescing })).toEqual([
      '* Stack: 30 frames in, 200 out',
      '* Receive coalescing: 700 frames merged into the one before them',
    ]);
  });

  it('says when timeouts made the segments smaller, for a black hole no ICMP reports', () => {
    expect(formatHostEvent({ type: 'black-hole', socket: 1, pathMtu: 1024 })).toBe(
      '* No ACK for full-sized segments after three timeouts: fitting a path MTU of 1024 (black-hole detection)',
    );
    expect(formatHostEvent({ type: 'path-mtu-raised', socket: 1, pathMtu: 1500 })).toBe(
      '* Ten minutes at a smaller size: trying a path MTU of 1500 again (RFC 1191 §6.3)',
    );
  });
});
