import { describe, expect, it } from 'vitest';
import { Rack } from './rack.js';
import type { SendRecord } from './send-times.js';

const sent = (start: number, end: number, at: number, retransmitted = false): SendRecord => ({ start, end, at, retransmitted });

describe('RACK (RFC 8985 §6.2)', () => {
  it('finds a transmission lost once one sent after it was delivered, an RTT plus the reordering window after it was sent', () => {
    const rack = new Rack();
    const first = sent(0, 100, 10);
    const second = sent(100, 200, 12);
    expect(rack.lostAt(first, 0)).toBeUndefined(); // nothing delivered yet
    rack.onDelivered(second, 52); // RTT 40
    expect(rack.lostAt(first, 5)).toBe(10 + 40 + 5);
    // Sent after the delivered one, or the delivered one itself: not lost.
    expect(rack.lostAt(sent(200, 300, 13), 0)).toBeUndefined();
    expect(rack.lostAt(second, 0)).toBeUndefined();
    // Sent at the same time but earlier in sequence: before it.
    expect(rack.lostAt(sent(50, 100, 12), 0)).toBe(12 + 40);
  });

  it('takes no RTT from an ACK of a retransmission that came sooner than any RTT could (step 2)', () => {
    const rack = new Rack();
    rack.onDelivered(sent(0, 100, 0), 40); // min RTT 40
    rack.onDelivered(sent(100, 200, 100, true), 110); // 10 ms: the original's ACK
    expect(rack.lostAt(sent(200, 300, 50), 0)).toBeUndefined(); // still the first delivery: sent at 0
    expect(rack.lostAt(sent(50, 60, 0), 0)).toBe(0 + 40);
  });

  it('has no reordering window for a plain loss until reordering is seen, then a quarter of the minimum RTT (steps 3, 4)', () => {
    const rack = new Rack();
    rack.onDelivered(sent(100, 200, 0), 40);
    expect(rack.reorderWindow(true, 0, 50)).toBe(0);
    expect(rack.reorderWindow(false, 3, 50)).toBe(0);
    expect(rack.reorderWindow(false, 1, 50)).toBe(10);
    // An original delivered below what was already delivered: it came out of order.
    rack.onDelivered(sent(0, 100, 0), 41);
    expect(rack.reorderWindow(true, 0, 50)).toBe(10);
    // Never above SRTT.
    expect(rack.reorderWindow(true, 0, 5)).toBe(5);
  });

  it('widens the window by a quarter RTT per D-SACK, once per round trip, for 16 recoveries (step 4)', () => {
    const rack = new Rack();
    rack.onDelivered(sent(100, 200, 0), 40);
    rack.onDelivered(sent(0, 100, 0), 40); // reordering seen
    rack.onDuplicateReported(100, 40);
    rack.onDuplicateReported(120, 40); // the same round trip
    expect(rack.reorderMultiplier).toBe(2);
    expect(rack.reorderWindow(true, 0, 100)).toBe(20);
    rack.onDuplicateReported(140, 40);
    expect(rack.reorderMultiplier).toBe(3);
    for (let i = 0; i < 15; i++) rack.onRecoveryEnd();
    expect(rack.reorderMultiplier).toBe(3);
    rack.onRecoveryEnd();
    expect(rack.reorderMultiplier).toBe(1);
  });
});
