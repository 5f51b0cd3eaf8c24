import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SimulationFailure, runWithSeed } from './run-with-seed.js';
import { EchoHost, ScriptedHost, numberedFrame } from './testing/fake-hosts.js';

const MAC_A = 0x02_00_00_00_00_01;
const MAC_B = 0x02_00_00_00_00_02;

/** Sends 20 frames over a lossy link and counts the echoes that came back. */
const echoesThroughLoss = (sim: Parameters<Parameters<typeof runWithSeed>[1]>[0]): number => {
  sim.defaultFaults = { loss: 0.2, delay: 1 };
  const script = Array.from({ length: 20 }, (_, i) => ({ at: i, frame: numberedFrame(MAC_B, MAC_A, i) }));
  const client = new ScriptedHost(MAC_A, script);
  sim.addHost(client, MAC_A, { name: 'client' });
  sim.addHost(new EchoHost(MAC_B), MAC_B, { name: 'server' });
  sim.run({ maxTime: 1000 });
  return client.received.length;
};

describe('runWithSeed', () => {
  it('returns the body’s result when it succeeds', () => {
    expect(runWithSeed(5, (sim) => sim.seed)).toBe(5);
  });

  it('names the seed and shows the trace tail when the body throws', () => {
    let caught: unknown;
    try {
      runWithSeed(
        77,
        (sim) => {
          const echoes = echoesThroughLoss(sim);
          expect(echoes).toBe(20);
        },
        { traceLines: 5 },
      );
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(SimulationFailure);
    const failure = caught as SimulationFailure;
    expect(failure.seed).toBe(77);
    expect(failure.message).toContain('seed 77');
    expect(failure.message).toContain('expected');
    expect(failure.message).toMatch(/client → server|server → client/);
    expect(failure.traceTail.split('\n')).toHaveLength(6);
    expect(failure.cause).toBeInstanceOf(Error);
  });

  it('replays a failing seed to the same outcome', () => {
    const outcome = (seed: number) => runWithSeed(seed, (sim) => [echoesThroughLoss(sim), sim.formatTrace()] as const);
    expect(outcome(123)).toEqual(outcome(123));
  });

  it('wraps rejections of async bodies too', async () => {
    await expect(
      runWithSeed(9, async () => {
        await Promise.resolve();
        throw new Error('late failure');
      }),
    ).rejects.toThrow(/late failure[\s\S]*seed 9/);
  });

  it('works inside fast-check: the reported failure carries the seed to replay', () => {
    let message = '';
    let cause: unknown;
    try {
      fc.assert(
        fc.property(fc.nat(), (seed) =>
          runWithSeed(seed, (sim) => {
            expect(echoesThroughLoss(sim)).toBe(20);
          }),
        ),
        { seed: 1, numRuns: 50 },
      );
    } catch (error) {
      message = error instanceof Error ? error.message : String(error);
      cause = error instanceof Error ? error.cause : undefined;
    }
    const counterexample = /Counterexample: \[(\d+)\]/.exec(message);
    expect(counterexample).not.toBeNull();
    // fast-check reports the body's error as the cause of its own.
    expect(cause).toBeInstanceOf(SimulationFailure);
    expect((cause as SimulationFailure).seed).toBe(Number(counterexample![1]));
    expect((cause as SimulationFailure).message).toContain(`seed ${counterexample![1]}`);
  });
});
