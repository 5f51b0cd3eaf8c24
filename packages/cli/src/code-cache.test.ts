import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadCommonJsWithCache } from './code-cache.js';

/**
 * Loads `file` in a process of its own, as `tcpts` does: within one process
 * V8 finds a script it compiled before in memory and never reads the cache.
 */
const inFreshProcess = (
  file: string,
  options: { cacheFile?: string; save?: boolean } = {},
): { cacheUsed: boolean; cacheRuns: number; answer: number; saved?: boolean } => {
  const module = fileURLToPath(new URL('../dist/code-cache.js', import.meta.url));
  const script = `
import { loadCommonJsWithCache } from ${JSON.stringify(module)};
const loaded = loadCommonJsWithCache(${JSON.stringify(file)}${options.cacheFile === undefined ? '' : `, ${JSON.stringify(options.cacheFile)}`});
const answer = loaded.exports.answer();
console.log(JSON.stringify({ cacheUsed: loaded.cacheUsed, cacheRuns: loaded.cacheRuns, answer, saved: ${options.save === true ? 'loaded.saveCache()' : 'undefined'} }));`;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 10_000 })) as {
    cacheUsed: boolean;
    cacheRuns: number;
    answer: number;
    saved?: boolean;
  };
};

interface Exports {
  readonly answer: () => number;
  readonly file: string;
  readonly joined: string;
  readonly fail: () => never;
}

const program = (answer: number): string =>
  [
    '#!/usr/bin/env node',
    `exports.answer = () => ${answer};`,
    'exports.file = __filename;',
    "exports.joined = require('node:path').join('a', 'b');",
    "exports.fail = () => { throw new Error('line six'); };",
    '',
  ].join('\n');

describe('a CommonJS file run with a code cache', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tcpts-code-cache-'));
    file = join(dir, 'program.cjs');
    writeFileSync(file, program(41));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('runs as a CommonJS module, its shebang skipped and its lines its own', () => {
    const loaded = loadCommonJsWithCache(file);
    const exports = loaded.exports as Exports;
    expect(exports.answer()).toBe(41);
    expect(exports.file).toBe(file);
    expect(exports.joined).toBe(join('a', 'b'));
    expect(() => exports.fail()).toThrow('line six');
    try {
      exports.fail();
    } catch (error) {
      expect((error as Error).stack).toContain(`${file}:5`); // exports.fail is the fifth line
    }
    expect(loaded.cacheUsed).toBe(false);
  });

  it('keeps what V8 compiled beside the file, and the next run takes it', () => {
    expect(inFreshProcess(file, { save: true })).toEqual({ cacheUsed: false, cacheRuns: 0, answer: 41, saved: true });
    expect(readFileSync(`${file}.cache`, 'latin1').startsWith(`tcpts-code-cache ${readFileSync(file).length} `)).toBe(true);
    expect(inFreshProcess(file)).toEqual({ cacheUsed: true, cacheRuns: 1, answer: 41 });
  });

  it('counts the runs that made the cache', () => {
    inFreshProcess(file, { save: true });
    expect(inFreshProcess(file, { save: true })).toEqual({ cacheUsed: true, cacheRuns: 1, answer: 41, saved: true });
    expect(inFreshProcess(file)).toEqual({ cacheUsed: true, cacheRuns: 2, answer: 41 });
  });

  it('ignores the cache of a file that changed, even to the same length', () => {
    inFreshProcess(file, { save: true });
    writeFileSync(file, program(42)); // same length: V8's own check would take the old cache
    utimesSync(file, new Date(), new Date(Date.now() + 5_000));
    expect(inFreshProcess(file)).toEqual({ cacheUsed: false, cacheRuns: 0, answer: 42 });
  });

  it('runs without a cache V8 refuses, or one it cannot write', () => {
    inFreshProcess(file, { save: true });
    const cache = readFileSync(`${file}.cache`, 'latin1');
    const header = cache.slice(0, cache.indexOf('\n') + 1);
    writeFileSync(`${file}.cache`, Buffer.concat([Buffer.from(header, 'latin1'), Buffer.alloc(64, 7)]));
    expect(inFreshProcess(file)).toEqual({ cacheUsed: false, cacheRuns: 0, answer: 41 });

    const nowhere = join(dir, 'missing', 'program.cjs.cache');
    expect(inFreshProcess(file, { cacheFile: nowhere, save: true })).toEqual({ cacheUsed: false, cacheRuns: 0, answer: 41, saved: false });
    expect(existsSync(join(dir, 'missing'))).toBe(false);
  });
});
