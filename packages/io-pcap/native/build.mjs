#!/usr/bin/env node
/**
 * Compiles the packet-ring addon (packet-ring.c) against the running Node's
 * own headers. It is one C file using only N-API and libuv, so a C compiler is
 * all it needs; it is rebuilt only when the source is newer than the addon.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const source = join(here, 'packet-ring.c');
const output = join(here, 'build', 'packet-ring.node');
const nodeDir = process.env.npm_config_nodedir || dirname(dirname(process.execPath));
const headers = join(nodeDir, 'include', 'node');

const upToDate = existsSync(output) && statSync(output).mtimeMs >= statSync(source).mtimeMs;
if (!upToDate) {
  if (!existsSync(join(headers, 'node_api.h'))) {
    console.error(`packet-ring: no Node headers in ${headers}; set npm_config_nodedir to Node's install prefix`);
    process.exit(1);
  }
  mkdirSync(dirname(output), { recursive: true });
  const compiler = process.env.CC || 'cc';
  try {
    execFileSync(compiler, ['-O2', '-Wall', '-Wextra', '-fPIC', '-pthread', '-shared', `-I${headers}`, '-o', output, source], {
      stdio: 'inherit',
    });
  } catch (error) {
    console.error(`packet-ring: ${compiler} failed (${error.message}); install a C compiler (apt install build-essential)`);
    process.exit(1);
  }
}
