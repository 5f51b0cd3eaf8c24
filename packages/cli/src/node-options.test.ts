import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLI_NODE_OPTIONS } from './node-options.js';

const repo = (path: string): string => readFileSync(new URL(`../../../${path}`, import.meta.url), 'utf8');

describe('the Node options tcpts runs with', () => {
  it('are the same in its shebang and in every package script that starts it', () => {
    const options = CLI_NODE_OPTIONS.join(' ');
    expect(repo('packages/cli/src/tcpts.ts').split('\n')[0]).toBe(`#!/usr/bin/env -S node ${options}`);
    const scripts = (JSON.parse(repo('package.json')) as { scripts: Record<string, string> }).scripts;
    for (const name of ['tcpts', 'demo', 'bench:net']) {
      expect(scripts[name], name).toMatch(new RegExp(`(^|&& )node ${options.replace(/[-=]/g, '\\$&')} packages/cli/dist/`));
    }
  });
});
