import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';
import { REPO_ROOT } from '../common/paths.js';
import { packDeterministic } from './pack.js';

/**
 * The 0.9.6 bridge release: the legacy package with the cutover bundled in
 * (`cutover/cutover.cjs`, one CommonJS file, the target version written in at
 * build time). The legacy CLI's `ao update` calls its `runUpdate(argv)`.
 */
export const LEGACY_FIXTURE_DIR = join(REPO_ROOT, 'test', 'fixture-legacy');
export const CUTOVER_BUNDLE = 'cutover/cutover.cjs';

const importMetaUrl = "var __import_meta_url = require('node:url').pathToFileURL(__filename).href;";

/** Bundles installer/cutover/cli.ts with the pinned target; Node built-ins only at run time. */
export async function bundleCutover(outFile: string, target: string): Promise<void> {
  await build({
    absWorkingDir: REPO_ROOT,
    entryPoints: ['installer/cutover/cli.ts'],
    outfile: outFile,
    bundle: true,
    platform: 'node',
    target: 'node20.17',
    format: 'cjs',
    define: { 'import.meta.url': '__import_meta_url', __AO_CUTOVER_TARGET__: JSON.stringify(target) },
    banner: { js: importMetaUrl },
    legalComments: 'none',
    logLevel: 'warning',
  });
}

export interface BuiltPackage {
  version: string;
  dir: string;
  tarball: string;
  integrity: string;
}

/**
 * Copies a legacy package folder at `version`; with `target` it becomes the
 * bridge (cutover bundled in). Packed deterministically into `outDir`.
 */
export async function buildLegacyPackage(opts: { legacyDir?: string; version: string; target?: string; outDir: string }): Promise<BuiltPackage> {
  const dir = join(opts.outDir, `ao-${opts.version}`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await cp(opts.legacyDir ?? LEGACY_FIXTURE_DIR, dir, { recursive: true });
  const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
  pkg.version = opts.version;
  if (opts.target) {
    await bundleCutover(join(dir, CUTOVER_BUNDLE), opts.target);
    pkg.aoCutoverTarget = opts.target;
    if (Array.isArray(pkg.files)) pkg.files = [...(pkg.files as string[]), 'cutover/'];
  }
  await writeFile(join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  const tarball = join(opts.outDir, `aoagents-ao-${opts.version}.tgz`);
  const packed = await packDeterministic(dir, tarball);
  return { version: opts.version, dir, tarball, integrity: packed.integrity };
}

/** The bridge release: `legacyDir` (the real legacy package, or the test stand-in) at `version`, pinned to `target`. */
export function buildBridge(opts: { legacyDir?: string; version: string; target: string; outDir: string }): Promise<BuiltPackage> {
  return buildLegacyPackage(opts);
}
