// The code that ships inside npm packages, each entry bundled into one
// CommonJS file with no runtime dependencies (CommonJS starts faster than ESM,
// which matters for the launcher). Sources are ESM and use import.meta.url;
// the banner provides it.
import { build } from 'esbuild';

export const SHIPPED = [
  { in: 'postinstall/launcher.ts', out: 'launcher.cjs', shebang: true },
  { in: 'postinstall/postinstall.ts', out: 'postinstall.cjs' },
  // Loaded by the postinstall only when the platform package is missing: pacote stays off every other path.
  { in: 'postinstall/fetch-platform.ts', out: 'fetch-platform.cjs', minify: true, quiet: ['require-resolve-not-external'] },
  // The desktop app fetcher (ao-app), run on demand, never by install scripts.
  { in: 'installer/app/cli.ts', out: 'app-fetcher.cjs', shebang: true, minify: true },
  // For users who reached 0.10.0 without the bridge, and to finish an interrupted cutover.
  { in: 'installer/cutover/legacy-import-cli.ts', out: 'ao-legacy-import.cjs', shebang: true, minify: true },
];

const importMetaUrl = "var __import_meta_url = require('node:url').pathToFileURL(__filename).href;";

/**
 * Bundles one entry into one CommonJS file (Node built-ins only at run time).
 * `define` writes build-time constants in (the bridge pins its cutover target this way).
 */
export function bundleEntry(entry, outFile, root = process.cwd(), define = {}) {
  return build({
    absWorkingDir: root,
    entryPoints: [entry.in],
    outfile: outFile,
    bundle: true,
    platform: 'node',
    target: 'node20.17',
    format: 'cjs',
    define: { 'import.meta.url': '__import_meta_url', ...define },
    banner: { js: `${entry.shebang ? '#!/usr/bin/env node\n' : ''}${importMetaUrl}` },
    legalComments: 'none',
    minify: entry.minify ?? false,
    logOverride: Object.fromEntries((entry.quiet ?? []).map((id) => [id, 'silent'])),
    logLevel: 'warning',
  });
}

export async function bundleShipped(outDir, root = process.cwd()) {
  await Promise.all(SHIPPED.map((entry) => bundleEntry(entry, `${outDir}/${entry.out}`, root)));
}
