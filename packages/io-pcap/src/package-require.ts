import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

let packageRequire: NodeJS.Require | undefined;

/** The directory of this package (the one holding its package.json). */
function packageRoot(): string {
  // From this package, the name resolves to itself (package.json "exports");
  // from the CLI's bundle, to the dependency it was built from.
  const entry = createRequire(import.meta.url).resolve('@tcpts/io-pcap');
  return dirname(dirname(entry));
}

/**
 * `require` as this package's own modules see it, wherever they run: from
 * this package's dist, or bundled into the CLI's single file, where
 * `import.meta.url` is the bundle's. Native addons (npm `cap`, `raw-socket`,
 * our packet ring) are not bundled; they are found from here.
 */
export function requireFromPackage(id: string): unknown {
  packageRequire ??= createRequire(join(packageRoot(), 'package.json'));
  return packageRequire(id);
}
