import { Simulation } from './simulation.js';
import type { SimulationOptions } from './simulation.js';

/** A failure inside a simulated run, carrying what is needed to replay and read it. */
export class SimulationFailure extends Error {
  constructor(
    readonly seed: number,
    /** Virtual time at the failure. */
    readonly time: number,
    /** The formatted tail of the trace. */
    readonly traceTail: string,
    message: string,
    options: { readonly cause: unknown },
  ) {
    super(message, options);
    this.name = 'SimulationFailure';
  }
}

export interface RunWithSeedOptions extends Omit<SimulationOptions, 'seed'> {
  /** Trace lines in the failure message; default 40. */
  readonly traceLines?: number;
}

/** Wraps `error` with the seed, the virtual time and the trace tail of `sim`. */
export const annotateFailure = (sim: Simulation, error: unknown, traceLines = 40): SimulationFailure => {
  if (error instanceof SimulationFailure) return error;
  const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const message = `${reason}\n--- simulation ---\n${sim.describe(traceLines)}`;
  return new SimulationFailure(sim.seed, sim.now, sim.formatTrace(traceLines), message, { cause: error });
};

const isPromiseLike = (value: unknown): value is PromiseLike<unknown> =>
  typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';

/**
 * Runs `body` on a fresh simulation built from `seed`. If it throws (or its
 * promise rejects), the error comes back as a `SimulationFailure` whose message
 * names the seed and ends with the trace, so the failing run can be replayed:
 *
 *   fc.assert(fc.property(fc.nat(), (seed) => runWithSeed(seed, (sim) => { … })));
 */
export const runWithSeed = <T>(seed: number, body: (sim: Simulation) => T, options: RunWithSeedOptions = {}): T => {
  const { traceLines, ...simulationOptions } = options;
  const sim = new Simulation({ ...simulationOptions, seed });
  let result: T;
  try {
    result = body(sim);
  } catch (error) {
    throw annotateFailure(sim, error, traceLines);
  }
  if (isPromiseLike(result)) {
    return Promise.resolve(result).catch((error: unknown) => {
      throw annotateFailure(sim, error, traceLines);
    }) as T;
  }
  return result;
};
