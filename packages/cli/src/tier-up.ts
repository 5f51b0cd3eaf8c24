import { setFlagsFromString } from 'node:v8';

/**
 * V8's interrupt budget in Node 20 (V8 11.3): how much bytecode a function
 * runs between V8's checks whether to optimize it with TurboFan.
 */
export const V8_INTERRUPT_BUDGET = 67_584;

/** The budget of a fetch over the packet ring: sixteen times V8's. */
export const RING_INTERRUPT_BUDGET = 16 * V8_INTERRUPT_BUDGET;

/**
 * How soon V8 optimizes hot code during a fetch, by capture.
 *
 * A download over the packet ring runs its JavaScript once per merged frame
 * (about 25 segments) and once per ACK, the bytes themselves being summed by
 * the addon and copied by typed arrays: little of that code gains from
 * TurboFan, and compiling it takes a core the sender needs. During a fresh
 * 100 MB download TurboFan optimized 47 functions in 190 ms with V8's budget,
 * 2 in 6 ms with the ring's. Medians in rotating order on 2 cores, V8's
 * budget first: 100 MB 331 → 362 MB/s, the whole machine's CPU 710 → 665 ms
 * (eight pairs); through 1% loss 274 → 276 MB/s and 840 → 760 ms. 10 MB
 * downloads do not change (170 → 171, and 183 → 176 through loss, in twelve
 * and fourteen pairs).
 *
 * The budget is raised only once the stack is open, and only for the ring.
 * Start-up needs TurboFan early: with the ring's budget from the start, a
 * fetch of 1 KB took 23–30 ms longer (medians of twenty pairs, of 270–340
 * ms); raised here, it takes no longer. Code that runs for every segment
 * needs it too: with the ring's budget, 100 MB through libpcap fell from 180
 * to 134 MB/s, and our sender's uploads over the ring from 260 to 215.
 *
 * V8 refuses a code cache made under other flags than the run that reads it
 * starts with, so `restore` must come before the cache is written. The budget
 * is left alone where this knowledge does not hold: on another V8, or where
 * Node was given a budget of its own.
 */
export class TierUp {
  private raised = false;

  constructor(
    private readonly v8Version: string = process.versions.v8,
    /** The Node options this process started with. */
    private readonly execArgv: readonly string[] = process.execArgv,
    private readonly setFlags: (flags: string) => void = setFlagsFromString,
  ) {}

  /** Sets the budget for the capture a fetch goes through (what `auto` chose). */
  suit(capture: string | undefined): void {
    if (capture !== 'packet-ring' || this.raised || !this.knowsV8Budget()) return;
    this.setFlags(`--interrupt-budget=${RING_INTERRUPT_BUDGET}`);
    this.raised = true;
  }

  /** V8's budget again, as the process started with it. */
  restore(): void {
    if (!this.raised) return;
    this.setFlags(`--interrupt-budget=${V8_INTERRUPT_BUDGET}`);
    this.raised = false;
  }

  private knowsV8Budget(): boolean {
    return this.v8Version.startsWith('11.3.') && !this.execArgv.some((option) => /^--interrupt[-_]budget=/.test(option));
  }
}

/** The process's own. */
export const tierUp = new TierUp();
