#!/usr/bin/env -S node --v8-pool-size=1
/**
 * The `tcpts` command: the bundled CLI (tcpts.cjs, made by bundle.mjs from
 * main.js and everything it imports), run with V8's code cache. A `fetch`
 * that ends well leaves the cache for the next runs when it had none that
 * fitted (see code-cache.ts).
 */
import { fileURLToPath } from 'node:url';
import { loadCommonJsWithCache } from './code-cache.js';

const bundle = loadCommonJsWithCache(fileURLToPath(new URL('./tcpts.cjs', import.meta.url)));
const { main } = bundle.exports as { main: () => Promise<void> };
// A fetch compiles the data path: a cache made by `--help` would hold little of it.
if (!bundle.cacheUsed && process.argv.slice(2).includes('fetch')) {
  process.on('exit', (code) => {
    if (code === 0) bundle.saveCache();
  });
}
await main();
