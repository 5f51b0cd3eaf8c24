import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLI_NODE_OPTIONS, STACK_NODE_OPTIONS } from './node-options.js';

const repo = (path: string): string => readFileSync(new URL(`../../../${path}`, import.meta.url), 'utf8');

describe('the Node options tcpts runs with', () => {
  const scripts = (JSON.parse(repo('package.json')) as { scripts: Record<string, string> }).scripts;
  const startsWith = (options: readonly string[]): RegExp =>
    new RegExp(`(^|&& )node ${options.join(' ').replace(/[-=]/g, '\\$&')} packages/cli/dist/`);

  it('are the same in its shebang and in every package script that starts it', () => {
    expect(repo('packages/cli/src/tcpts.ts').split('\n')[0]).toBe(`#!/usr/bin/env -S node ${CLI_NODE_OPTIONS.join(' ')}`);
    for (const name of ['tcpts', 'demo']) expect(scripts[name], name).toMatch(startsWith(CLI_NODE_OPTIONS));
  });

  it("leave V8's tier-up alone in bench:net, whose uploads run our sender in its own process", () => {
    expect(scripts['bench:net']).toMatch(startsWith(STACK_NODE_OPTIONS));
    expect(CLI_NODE_OPTIONS.slice(0, STACK_NODE_OPTIONS.length)).toEqual(STACK_NODE_OPTIONS);
  });
});
