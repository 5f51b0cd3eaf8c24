/**
 * Bundles the compiled CLI into one ES module, dist/tcpts.js: the `tcpts`
 * command (run after `tsc -b`; part of `pnpm build`).
 *
 * From separate files, Node resolves and compiles some 170 modules at
 * start-up, and scans every CommonJS dependency (xstate, fp-ts, commander, …)
 * for its exports before an ES module may import it. V8 then optimizes that
 * scanner on its one compile thread just as the first connection starts, while
 * the transfer's own hot code waits to be compiled. One file of ES modules
 * (xstate's and fp-ts's own ESM builds) needs none of that.
 *
 * Native addons are not bundled: io-pcap loads them from its own package at
 * run time (src/package-require.ts).
 */
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));

await build({
  entryPoints: [here('./dist/main.js')],
  outfile: here('./dist/tcpts.js'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // The ES module builds of dependencies that ship both (xstate, fp-ts).
  mainFields: ['module', 'main'],
  conditions: ['module'],
  // CommonJS dependencies bundled into an ES module still call require() for Node's built-ins.
  banner: { js: "import { createRequire as createRequireOfBundle } from 'node:module';\nconst require = createRequireOfBundle(import.meta.url);" },
  logLevel: 'warning',
});
