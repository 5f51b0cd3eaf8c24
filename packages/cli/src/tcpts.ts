#!/usr/bin/env -S node --v8-pool-size=1
/**
 * The `tcpts` command: the bundled CLI (tcpts.cjs, made by bundle.mjs from
 * main.js and everything it imports), run with V8's code cache. A `fetch`
 * that ends well leaves the cache for the next runs; the first three after a
 * build each leave a fuller one (code-cache.ts), so that both captures are in
 * it, and the later ones save themselves the 8 ms of writing it.
 */
import { fileURLToPath } from 'node:url';
import { loadCommonJsWithCache } from './code-cache.js';

const bundle = loadCommonJsWithCache(fileURLToPath(new URL('./tcpts.cjs', import.meta.url)));
const { main } = bundle.exports as { main: () => Promise<void> };
const CACHE_REFINEMENTS = 3;
// A fetch compiles the data path: a cache made by `--help` would hold little of it.
if (bundle.cacheRuns < CACHE_REFINEMENTS && process.argv.slice(2).includes('fetch')) {
  process.on('exit', (code) => {
    if (code === 0) bundle.saveCache();
  });
}
await main();
