import { existsSync, statSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import semver from 'semver';
import { UserError } from '../common/errors.js';
import pacote from 'pacote';
import { loadMatrix } from '../common/matrix.js';
import { REPO_ROOT } from '../common/paths.js';
import { packDeterministic } from './pack.js';
import { npmConfigOptions, registryError, registryOptions, type RegistryTarget } from './registry-client.js';

/**
 * The 0.9.6 bridge release: the legacy package with the cutover bundled in
 * (`cutover/cutover.cjs`, one CommonJS file, the target version written in at
 * build time). The legacy CLI's `ao update` calls its `runUpdate(argv)`.
 */
export const LEGACY_FIXTURE_DIR = join(REPO_ROOT, 'test', 'fixture-legacy');
export const CUTOVER_BUNDLE = 'cutover/cutover.cjs';

type BundleEntry = (entry: { in: string }, outFile: string, root: string, define: Record<string, string>, options: { testHooks?: boolean }) => Promise<unknown>;

/**
 * installer/cutover/cli.ts with the pinned target written in, bundled the way every shipped file is.
 * `testHooks` (tests only) keeps the crash points in.
 */
export async function bundleCutover(outFile: string, target: string, testHooks = false): Promise<void> {
  const { bundleEntry } = (await import(pathToFileURL(join(REPO_ROOT, 'scripts', 'shipped.mjs')).href)) as { bundleEntry: BundleEntry };
  await bundleEntry({ in: 'installer/cutover/cli.ts' }, outFile, REPO_ROOT, { __AO_CUTOVER_TARGET__: JSON.stringify(target) }, { testHooks });
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
export async function buildLegacyPackage(opts: {
  legacyDir?: string;
  version: string;
  target?: string;
  outDir: string;
  testHooks?: boolean;
}): Promise<BuiltPackage> {
  const dir = join(opts.outDir, `ao-${opts.version}`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await cp(opts.legacyDir ?? LEGACY_FIXTURE_DIR, dir, { recursive: true });
  const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
  pkg.version = opts.version;
  if (opts.target) {
    await bundleCutover(join(dir, CUTOVER_BUNDLE), opts.target, opts.testHooks);
    pkg.aoCutoverTarget = opts.target;
    if (Array.isArray(pkg.files)) pkg.files = [...(pkg.files as string[]), 'cutover/'];
  }
  await writeFile(join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  const tarball = join(opts.outDir, `aoagents-ao-${opts.version}.tgz`);
  const packed = await packDeterministic(dir, tarball);
  return { version: opts.version, dir, tarball, integrity: packed.integrity };
}

/** The bridge release: `legacyDir` (the real legacy package, or the test stand-in) at `version`, pinned to `target`. */
export async function buildBridge(opts: { legacyDir?: string; version: string; target: string; outDir: string; testHooks?: boolean }): Promise<BuiltPackage> {
  // Every migrating user must land on the same tested release: an exact version, never a tag or range.
  if (!semver.valid(opts.target)) {
    throw new UserError({
      what: `cannot build the bridge ${opts.version}`,
      why: `the cutover target ${JSON.stringify(opts.target)} is not an exact version`,
      fix: 'pass the exact release, e.g. 0.10.0',
      code: 'EBRIDGE',
    });
  }
  return buildLegacyPackage(opts);
}

export interface BridgeRequest {
  /** A legacy package folder, a .tgz, or a registry spec (`@aoagents/ao@0.9.5`). */
  legacy: string;
  version: string;
  target: string;
  /** The legacy line the source must be on (release/policy.json's legacyRange). */
  legacyRange: string;
  outDir: string;
  registry?: RegistryTarget;
}

/**
 * `ao-release bridge`: the bridge from a real legacy package. A folder is used as it is; anything
 * else is fetched with pacote (npm's fetcher, npm's config). The source must be the legacy main
 * package on the legacy line, and not already a bridge.
 */
export async function buildBridgeFrom(request: BridgeRequest): Promise<BuiltPackage & { target: string; from: string }> {
  const fail = (why: string, fix: string) =>
    new UserError({ what: `cannot build the bridge ${request.version} from ${request.legacy}`, why, fix, code: 'EBRIDGE' });
  if (!semver.valid(request.version) || !semver.satisfies(request.version, request.legacyRange, { includePrerelease: true })) {
    throw fail(
      `the bridge version ${JSON.stringify(request.version)} is not an exact version on the legacy line ${request.legacyRange}`,
      'pass --version 0.9.6 (the bridgeVersion of release/policy.json)',
    );
  }
  const asFolder = existsSync(request.legacy) && statSync(request.legacy).isDirectory();
  const work = asFolder ? undefined : await mkdtemp(join(tmpdir(), 'ao-bridge-legacy-'));
  try {
    let legacyDir = resolve(request.legacy);
    if (work) {
      legacyDir = join(work, 'package');
      const spec = existsSync(request.legacy) ? resolve(request.legacy) : request.legacy;
      const opts = request.registry ? await registryOptions(request.registry) : await npmConfigOptions();
      try {
        await pacote.extract(spec, legacyDir, { ...opts, cache: join(work, 'cache') } as pacote.Options);
      } catch (err) {
        const registry = String(opts.registry ?? 'the registry');
        throw (err as { code?: string }).code === 'E404' || (err as { code?: string }).code === 'ETARGET'
          ? fail(`${request.legacy} is not in ${registry}`, `check the spec, or pass --registry <url> of the registry that holds the legacy releases`)
          : registryError(err, registry, `fetching ${request.legacy}`);
      }
    }
    const pkg = JSON.parse(await readFile(join(legacyDir, 'package.json'), 'utf8').catch(() => 'null')) as {
      name?: string;
      version?: string;
      aoCutoverTarget?: string;
    } | null;
    const mainName = loadMatrix().mainPackage;
    if (!pkg)
      throw fail('it has no package.json', 'pass the legacy package folder (the one holding its package.json), a .tgz, or a spec like @aoagents/ao@0.9.5');
    if (pkg.name !== mainName) throw fail(`it is ${pkg.name ?? 'a package without a name'}, not ${mainName}`, `pass the legacy ${mainName} package`);
    if (!pkg.version || !semver.satisfies(pkg.version, request.legacyRange, { includePrerelease: true }))
      throw fail(`its version ${pkg.version} is not on the legacy line ${request.legacyRange}`, `pass the last legacy release, e.g. ${mainName}@0.9.5`);
    if (pkg.aoCutoverTarget)
      throw fail(`it is already a bridge (cutover to ${pkg.aoCutoverTarget})`, 'build the bridge from the last legacy release without the cutover');
    const built = await buildBridge({ legacyDir, version: request.version, target: request.target, outDir: request.outDir });
    return { ...built, target: request.target, from: `${pkg.name}@${pkg.version}` };
  } finally {
    if (work) await rm(work, { recursive: true, force: true });
  }
}
