import { describe, expect, it } from 'vitest';
import { formatHostEvent } from './trace.js';

describe('congestion lines in -v', () => {
  it('shows cwnd, ssthresh (inf before the first loss), smoothed RTT and RTO', () => {
    expect(formatHostEvent({ type: 'congestion', socket: 1, cwnd: 14480, ssthresh: Infinity, srtt: undefined, rto: 1000, at: 0 })).toBe(
      '* cwnd 14480 ssthresh inf srtt - rto 1000 ms',
    );
    expect(formatHostEvent({ type: 'congestion', socket: 1, cwnd: 2896, ssthresh: 7240, srtt: 20.25, rto: 220.4, at: 5 })).toBe(
      '* cwnd 2896 ssthresh 7240 srtt 20.3 ms rto 220 ms',
    );
  });
});
