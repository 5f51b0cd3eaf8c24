import { setFlagsFromString } from 'node:v8';
import { CLI_NODE_OPTIONS } from './node-options.js';

/** V8's own interrupt budget in Node 20 (V8 11.3). */
export const V8_INTERRUPT_BUDGET_OPTION = '--interrupt-budget=67584';

/** The budget `tcpts` starts with (see node-options.ts). */
export const CLI_INTERRUPT_BUDGET_OPTION = CLI_NODE_OPTIONS.find((option) => option.startsWith('--interrupt-budget='))!;

/**
 * How soon V8 optimizes hot code, once the capture is known. The CLI starts
 * with a late tier-up, right for the packet ring; through libpcap every
 * segment is a JavaScript call and its checksum a JavaScript loop, and that
 * capture gets V8's budget back: 100 MB downloads through it made 134 MB/s
 * with the late tier-up, 216 with V8's budget from the start, 204 with V8's
 * budget set when the capture opened (medians of six, rotating).
 *
 * V8 refuses a code cache made under other flags than the run that reads it
 * starts with, so `restore` must come before the cache is written.
 */
export class TierUp {
  private lowered = false;

  constructor(
    /** The Node options this process started with. */
    private readonly execArgv: readonly string[] = process.execArgv,
    private readonly setFlags: (flags: string) => void = setFlagsFromString,
  ) {}

  /** Sets the budget for `capture` (what `auto` chose); left alone when Node was started without the CLI's budget. */
  suit(capture: string | undefined): void {
    if (capture !== 'libpcap' || this.lowered || !this.execArgv.includes(CLI_INTERRUPT_BUDGET_OPTION)) return;
    this.setFlags(V8_INTERRUPT_BUDGET_OPTION);
    this.lowered = true;
  }

  /** The budget the process started with again. */
  restore(): void {
    if (!this.lowered) return;
    this.setFlags(CLI_INTERRUPT_BUDGET_OPTION);
    this.lowered = false;
  }
}

/** The process's own. */
export const tierUp = new TierUp();
