// Builds the toolkit: type-checks and compiles the TypeScript to dist/, then
// bundles the code that ships inside npm packages (no runtime dependencies
// there) into dist/shipped/.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

rmSync('dist', { recursive: true, force: true });
execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });

/**
 * Entry points that ship to users, each bundled into one CommonJS file (it
 * starts faster than ESM, which matters for the launcher). Sources are ESM and
 * use import.meta.url; the banner provides it.
 */
const shipped = [
  { in: 'postinstall/launcher.ts', out: 'launcher.cjs', shebang: true },
];
const importMetaUrl = "var __import_meta_url = require('node:url').pathToFileURL(__filename).href;";

for (const entry of shipped) {
  await build({
    entryPoints: [entry.in],
    outfile: `dist/shipped/${entry.out}`,
    bundle: true,
    platform: 'node',
    target: 'node20.17',
    format: 'cjs',
    define: { 'import.meta.url': '__import_meta_url' },
    banner: { js: `${entry.shebang ? '#!/usr/bin/env node\n' : ''}${importMetaUrl}` },
    legalComments: 'none',
    logLevel: 'warning',
  });
}
