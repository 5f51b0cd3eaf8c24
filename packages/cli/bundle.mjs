/**
 * Bundles the compiled CLI into one CommonJS file, dist/tcpts.cjs, which the
 * `tcpts` command (dist/tcpts.js) runs with V8's code cache (src/code-cache.ts;
 * run after `tsc -b`; part of `pnpm build`).
 *
 * From separate files, Node resolves and compiles some 170 modules at
 * start-up, and scans every CommonJS dependency (xstate, fp-ts, commander, …)
 * for its exports before an ES module may import it: a tenth of a second here.
 * One file, made of xstate's and fp-ts's own ESM builds, needs none of that.
 * It is CommonJS because Node 20 keeps a code cache only for what it compiles
 * as a script (`vm.Script`), not for ES modules.
 *
 * Native addons are not bundled: io-pcap loads them from its own package at
 * run time (src/package-require.ts).
 */
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));

await build({
  entryPoints: [here('./dist/main.js')],
  outfile: here('./dist/tcpts.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // The ES module builds of dependencies that ship both (xstate, fp-ts).
  mainFields: ['module', 'main'],
  conditions: ['module'],
  // Our modules ask for their own URL (io-pcap to find its addons, the demo its CLI).
  define: { 'import.meta.url': 'bundleUrl' },
  banner: { js: "const bundleUrl = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'warning',
});
// A cache of the previous build would be refused anyway (it names the file's size and time).
rmSync(here('./dist/tcpts.cjs.cache'), { force: true });
