import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import semver from 'semver';
import { UserError } from '../common/errors.js';
import { REPO_ROOT } from '../common/paths.js';
import { packDeterministic } from './pack.js';

/**
 * The 0.9.6 bridge release: the legacy package with the cutover bundled in
 * (`cutover/cutover.cjs`, one CommonJS file, the target version written in at
 * build time). The legacy CLI's `ao update` calls its `runUpdate(argv)`.
 */
export const LEGACY_FIXTURE_DIR = join(REPO_ROOT, 'test', 'fixture-legacy');
export const CUTOVER_BUNDLE = 'cutover/cutover.cjs';

type BundleEntry = (entry: { in: string }, outFile: string, root: string, define: Record<string, string>) => Promise<unknown>;

/** installer/cutover/cli.ts with the pinned target written in, bundled the way every shipped file is. */
export async function bundleCutover(outFile: string, target: string): Promise<void> {
  const { bundleEntry } = (await import(pathToFileURL(join(REPO_ROOT, 'scripts', 'shipped.mjs')).href)) as { bundleEntry: BundleEntry };
  await bundleEntry({ in: 'installer/cutover/cli.ts' }, outFile, REPO_ROOT, { __AO_CUTOVER_TARGET__: JSON.stringify(target) });
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
export async function buildBridge(opts: { legacyDir?: string; version: string; target: string; outDir: string }): Promise<BuiltPackage> {
  // Every migrating user must land on the same tested release: an exact version, never a tag or range.
  if (!semver.valid(opts.target)) {
    throw new UserError({ what: `cannot build the bridge ${opts.version}`, why: `the cutover target ${JSON.stringify(opts.target)} is not an exact version`, fix: 'pass the exact release, e.g. 0.10.0', code: 'EBRIDGE' });
  }
  return buildLegacyPackage(opts);
}
