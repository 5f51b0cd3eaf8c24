import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CLI_NODE_OPTIONS } from './node-options.js';
import { CLI_INTERRUPT_BUDGET_OPTION, TierUp, V8_INTERRUPT_BUDGET_OPTION } from './tier-up.js';

/** A TierUp of a process started with `execArgv`, and the flags it set. */
const tierUpOf = (execArgv: readonly string[]): { tierUp: TierUp; set: string[] } => {
  const set: string[] = [];
  return { tierUp: new TierUp(execArgv, (flags) => set.push(flags)), set };
};

describe('V8 tier-up by capture', () => {
  it("gives libpcap V8's own budget, once, and restores the CLI's", () => {
    const { tierUp, set } = tierUpOf(CLI_NODE_OPTIONS);
    tierUp.suit('libpcap');
    tierUp.suit('libpcap');
    expect(set).toEqual([V8_INTERRUPT_BUDGET_OPTION]);
    tierUp.restore();
    tierUp.restore();
    expect(set).toEqual([V8_INTERRUPT_BUDGET_OPTION, CLI_INTERRUPT_BUDGET_OPTION]);
  });

  it('keeps the late tier-up for the packet ring, and has nothing to restore', () => {
    const { tierUp, set } = tierUpOf(CLI_NODE_OPTIONS);
    tierUp.suit('packet-ring');
    tierUp.suit(undefined);
    tierUp.restore();
    expect(set).toEqual([]);
  });

  it('leaves a process started without the late tier-up as it is', () => {
    const { tierUp, set } = tierUpOf(['--v8-pool-size=1']);
    tierUp.suit('libpcap');
    tierUp.restore();
    expect(set).toEqual([]);
  });

  // What `restore` is for: the code cache tcpts.js writes at exit.
  it('lets a run through libpcap leave a code cache the next run takes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tcpts-tier-up-'));
    const tierUpModule = fileURLToPath(new URL('../dist/tier-up.js', import.meta.url));
    const script = (restore: boolean): string => `
      const { Script } = await import('node:vm');
      const { readFileSync, writeFileSync, existsSync } = await import('node:fs');
      const { tierUp } = await import(${JSON.stringify(tierUpModule)});
      const source = 'function twice(x) { return 2 * x } twice(21)';
      const cache = ${JSON.stringify(join(dir, 'cache'))};
      if (existsSync(cache)) {
        process.stdout.write(new Script(source, { cachedData: readFileSync(cache) }).cachedDataRejected ? 'refused' : 'taken');
      } else {
        tierUp.suit('libpcap');
        const made = new Script(source);
        made.runInThisContext();
        ${restore ? 'tierUp.restore();' : ''}
        writeFileSync(cache, made.createCachedData());
      }`;
    const twoRuns = (restore: boolean): string => {
      rmSync(join(dir, 'cache'), { force: true });
      const node = (): string =>
        execFileSync(process.execPath, [...CLI_NODE_OPTIONS, '--input-type=module', '-e', script(restore)], { encoding: 'utf8' });
      node();
      return node();
    };
    try {
      expect(twoRuns(true)).toBe('taken');
      // Without it V8 would refuse the cache: the flags differ from the next run's.
      expect(twoRuns(false)).toBe('refused');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
