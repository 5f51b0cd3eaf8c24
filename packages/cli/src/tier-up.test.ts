import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CLI_NODE_OPTIONS } from './node-options.js';
import { RING_INTERRUPT_BUDGET, TierUp, V8_INTERRUPT_BUDGET } from './tier-up.js';

const NODE_20_V8 = '11.3.244.8-node.33';

/** A TierUp of a process on `v8Version` started with `execArgv`, and the flags it set. */
const tierUpOf = (execArgv: readonly string[], v8Version = NODE_20_V8): { tierUp: TierUp; set: string[] } => {
  const set: string[] = [];
  return { tierUp: new TierUp(v8Version, execArgv, (flags) => set.push(flags)), set };
};

describe('V8 tier-up by capture', () => {
  it("raises the budget for the packet ring, once, and restores V8's", () => {
    const { tierUp, set } = tierUpOf(CLI_NODE_OPTIONS);
    tierUp.suit('packet-ring');
    tierUp.suit('packet-ring');
    expect(set).toEqual([`--interrupt-budget=${RING_INTERRUPT_BUDGET}`]);
    tierUp.restore();
    tierUp.restore();
    expect(set).toEqual([`--interrupt-budget=${RING_INTERRUPT_BUDGET}`, `--interrupt-budget=${V8_INTERRUPT_BUDGET}`]);
  });

  it("keeps V8's budget for libpcap and an unknown capture, with nothing to restore", () => {
    const { tierUp, set } = tierUpOf(CLI_NODE_OPTIONS);
    tierUp.suit('libpcap');
    tierUp.suit(undefined);
    tierUp.restore();
    expect(set).toEqual([]);
  });

  it('leaves the budget alone on another V8, or where Node was given one', () => {
    for (const { tierUp, set } of [
      tierUpOf(CLI_NODE_OPTIONS, '12.4.254.21-node.33'),
      tierUpOf([...CLI_NODE_OPTIONS, '--interrupt-budget=1000']),
      tierUpOf(['--interrupt_budget=1000']),
    ]) {
      tierUp.suit('packet-ring');
      tierUp.restore();
      expect(set).toEqual([]);
    }
  });

  it("raises it only on a V8 whose default it names: what the restore sets, and a code cache is made under", () => {
    const options = execFileSync(process.execPath, ['--v8-options'], { encoding: 'utf8' });
    const v8Default = Number(/\s--interrupt-budget \(.*\)\n\s+type: int\s+default: --interrupt-budget=(\d+)/.exec(options)?.[1]);
    const { tierUp, set } = tierUpOf([], process.versions.v8);
    tierUp.suit('packet-ring');
    if (v8Default === V8_INTERRUPT_BUDGET) expect(set).toEqual([`--interrupt-budget=${RING_INTERRUPT_BUDGET}`]);
    else expect(set).toEqual([]);
  });

  // What `restore` is for: the code cache tcpts.js writes at exit.
  it('lets a fetch over the ring leave a code cache the next run takes', () => {
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
        tierUp.suit('packet-ring');
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
      // Without it V8 refuses the cache where the budget was raised: the flags differ from the next run's.
      expect(twoRuns(false)).toBe(process.versions.v8.startsWith('11.3.') ? 'refused' : 'taken');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
