import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CongestionAlgorithm, createCongestionControl } from './congestion.js';
import { MAX_CONGESTION_WINDOW } from './newreno.js';

type CongestionEvent =
  | { readonly kind: 'ack'; readonly bytes: number; readonly gap: number; readonly srtt: number | undefined }
  | { readonly kind: 'enter-recovery'; readonly flight: number }
  | { readonly kind: 'duplicate-ack' }
  | { readonly kind: 'partial-ack'; readonly bytes: number }
  | { readonly kind: 'exit-recovery'; readonly flight: number }
  | { readonly kind: 'timeout'; readonly flight: number; readonly repeated: boolean }
  | { readonly kind: 'idle'; readonly gap: number };

const bytes = fc.integer({ min: 0, max: 4_000_000 });
const event: fc.Arbitrary<CongestionEvent> = fc.oneof(
  fc.record({
    kind: fc.constant('ack' as const),
    bytes,
    gap: fc.integer({ min: 0, max: 5_000 }),
    srtt: fc.option(fc.integer({ min: 0, max: 2_000 }), { nil: undefined }),
  }),
  fc.record({ kind: fc.constant('enter-recovery' as const), flight: bytes }),
  fc.constant({ kind: 'duplicate-ack' as const }),
  fc.record({ kind: fc.constant('partial-ack' as const), bytes }),
  fc.record({ kind: fc.constant('exit-recovery' as const), flight: bytes }),
  fc.record({ kind: fc.constant('timeout' as const), flight: bytes, repeated: fc.boolean() }),
  fc.record({ kind: fc.constant('idle' as const), gap: fc.integer({ min: 0, max: 100_000 }) }),
);

const algorithms: readonly CongestionAlgorithm[] = ['newreno', 'cubic'];

describe('createCongestionControl', () => {
  it('builds the requested algorithm with the RFC 6928 initial window', () => {
    for (const algorithm of algorithms) {
      const cc = createCongestionControl(algorithm, 1460, 0);
      expect(cc.name).toBe(algorithm);
      expect(cc.cwnd).toBe(14_600);
      expect(cc.ssthresh).toBeGreaterThanOrEqual(MAX_CONGESTION_WINDOW);
    }
    expect(createCongestionControl('newreno', 536, 0).cwnd).toBe(5_360);
  });

  it('cuts by 1/2 (NewReno) and by 0.7 (CUBIC) on the same loss', () => {
    const newReno = createCongestionControl('newreno', 1000, 0);
    const cubic = createCongestionControl('cubic', 1000, 0);
    for (const cc of [newReno, cubic]) {
      cc.onEnterRecovery(100_000, 0);
      cc.onExitRecovery(100_000, 0);
    }
    expect(newReno.ssthresh).toBe(50_000);
    expect(newReno.cwnd).toBe(50_000);
    expect(cubic.ssthresh).toBe(70_000);
    expect(cubic.cwnd).toBe(70_000);
  });

  for (const algorithm of algorithms) {
    it(`${algorithm}: cwnd ≥ 1 SMSS always, ssthresh ≥ 2 SMSS after any loss, for any sequence of events`, () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 9000 }), fc.array(event, { maxLength: 120 }), (smss, events) => {
          const cc = createCongestionControl(algorithm, smss, 0);
          let now = 0;
          let lossSeen = false;
          for (const e of events) {
            switch (e.kind) {
              case 'ack':
                now += e.gap;
                cc.onAck(e.bytes, now, e.srtt);
                break;
              case 'enter-recovery':
                cc.onEnterRecovery(e.flight, now);
                lossSeen = true;
                break;
              case 'duplicate-ack':
                cc.onRecoveryDuplicateAck();
                break;
              case 'partial-ack':
                cc.onPartialAck(e.bytes);
                break;
              case 'exit-recovery':
                cc.onExitRecovery(e.flight, now);
                break;
              case 'timeout':
                cc.onRetransmissionTimeout(e.flight, now, e.repeated);
                expect(cc.cwnd).toBe(smss);
                lossSeen = true;
                break;
              case 'idle':
                now += e.gap;
                cc.onIdleRestart(now);
                expect(cc.cwnd).toBeLessThanOrEqual(Math.max(Math.min(10 * smss, Math.max(2 * smss, 14_600)), smss));
                break;
            }
            expect(Number.isFinite(cc.cwnd)).toBe(true);
            expect(cc.cwnd).toBeGreaterThanOrEqual(smss);
            expect(cc.cwnd).toBeLessThanOrEqual(MAX_CONGESTION_WINDOW);
            if (lossSeen) {
              expect(Number.isFinite(cc.ssthresh)).toBe(true);
              expect(cc.ssthresh).toBeGreaterThanOrEqual(2 * smss);
            }
          }
        }),
      );
    });
  }
});
