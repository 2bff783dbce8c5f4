import { chmod, copyFile, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../common/errors.js';
import { writeJsonAtomic } from '../common/fs-atomic.js';
import { digestFile } from '../common/integrity.js';
import { binaryFormatFor, releaseMatrix, type Matrix } from '../common/matrix.js';
import type { ReleaseConfig } from '../common/release-config.js';
import { REPO_ROOT } from '../common/paths.js';
import { binaryPathInPackage, licenseText, writePlatformPackage } from '../platforms/platform-package.js';
import { MAIN_PACKAGE_FILES, mainPackageJson } from '../postinstall/main-package.js';
import { MANIFEST_FILE, type AoManifest } from '../postinstall/manifest.js';
import { locateBinaries } from './binaries-dir.js';
import { checkGoBinary, type BinaryFacts } from './binary-checks.js';
import { describeOverride, reportedVersion, runnerFor, UNSTAMPED_FLAG } from './binary-version.js';
import { packDeterministic } from './pack.js';

export const STAGE_FILE = 'stage.json';

export interface StagedPackage {
  name: string;
  version: string;
  role: 'platform' | 'main';
  target?: string;
  dir: string;
  tarball: string;
  integrity: string;
  size: number;
  /** Platform packages: the binary's own size, for the tarball/binary ratio. */
  binarySize?: number;
}

/** Recorded when a release is staged with `--allow-unstamped <reports>`. */
export interface UnstampedOverride {
  flag: typeof UNSTAMPED_FLAG;
  reports: string;
  /** Per target: what it reports, and whether stage saw it run (`ran`) or took the flag's word (`declared`). */
  targets: Record<string, { reports: string; seen: 'ran' | 'declared' }>;
}

export interface StageResult {
  version: string;
  override?: UnstampedOverride;
  /** The release config stage was given, for verify and publish to check against. */
  config?: ReleaseConfig;
  /** Per target, read from each binary: Go version, main package, vcs.revision and vcs.modified, stripped size. */
  binaries?: Record<string, BinaryFacts>;
  /** Platform packages first, the main package last: the publish order. */
  packages: StagedPackage[];
  manifest: AoManifest;
}

export interface StageOptions {
  matrix: Matrix;
  version: string;
  binariesDir: string;
  outDir: string;
  /** The desktop app manifest to pin inside the main package. */
  app?: unknown;
  /** Bundled launcher/postinstall code (dist/shipped by default). */
  shippedDir?: string;
  /**
   * The release config (release.json): its package metadata goes into every package.json,
   * and it is recorded in stage.json for verify's build-info checks.
   */
  config?: ReleaseConfig;
  /**
   * The version string binaries may report instead of `version` (`dev` for an unstamped
   * build). Without it, a binary this host can run must report the release version.
   */
  allowUnstamped?: string;
}

/**
 * Turns a folder of binaries into the platform packages and the main package,
 * each packed into a deterministic tarball, and records the result in stage.json.
 */
export async function stage(options: StageOptions): Promise<StageResult> {
  const { version } = options;
  const matrix = releaseMatrix(options.matrix);
  const { found, missing } = locateBinaries(options.binariesDir, matrix.targets);
  if (missing.length > 0) {
    throw new UserError({
      what: `cannot stage ${version}: binaries are missing`,
      why: `no binary for ${missing.map((t) => `${t.id} (${t.id}/${t.executable})`).join(', ')} in ${options.binariesDir}`,
      fix: 'build every target in matrix.json first (layout <target>/<executable> or GoReleaser dist/)',
      code: 'ESTAGE',
    });
  }
  const override = await checkReportedVersions(options, matrix, found);
  await rm(options.outDir, { recursive: true, force: true });
  await mkdir(join(options.outDir, 'tarballs'), { recursive: true });
  const packages: StagedPackage[] = [];
  const manifest: AoManifest = { schema: 1, name: matrix.mainPackage, version, binaries: {} };
  const facts: Record<string, BinaryFacts> = {};

  for (const target of matrix.targets) {
    const dir = join(options.outDir, 'packages', target.package);
    const binaryPath = found.get(target.id)!;
    await writePlatformPackage({ target, version, binaryPath, dir, mainPackage: matrix.mainPackage, ...(options.config ? { metadata: options.config.package } : {}) });
    const binary = await digestFile(binaryPath);
    facts[target.id] = (await checkGoBinary(binaryPath, target, options.config)).facts;
    manifest.binaries[target.id] = {
      package: target.package,
      version,
      os: target.os,
      cpu: target.cpu,
      path: binaryPathInPackage(target),
      format: binaryFormatFor(target),
      integrity: binary.integrity,
      size: binary.size,
      ...(override?.targets[target.id] ? { reportsVersion: override.targets[target.id].reports } : {}),
    };
    packages.push(await packInto(options.outDir, dir, target.package, version, 'platform', target.id, binary.size));
  }

  if (options.app !== undefined) manifest.app = options.app;
  if (override) manifest.override = { allowUnstamped: override.reports };
  const mainDir = join(options.outDir, 'packages', matrix.mainPackage);
  await rm(mainDir, { recursive: true, force: true });
  await mkdir(mainDir, { recursive: true });
  const shippedDir = options.shippedDir ?? join(REPO_ROOT, 'dist', 'shipped');
  for (const file of MAIN_PACKAGE_FILES) {
    const dest = join(mainDir, file.to);
    await mkdir(join(dest, '..'), { recursive: true });
    try {
      await copyFile(join(shippedDir, file.from), dest);
    } catch (cause) {
      throw new UserError({ what: `cannot stage ${matrix.mainPackage}`, why: `${join(shippedDir, file.from)} is missing`, fix: 'npm run build', cause });
    }
    await chmod(dest, file.executable ? 0o755 : 0o644);
  }
  await writeJsonAtomic(join(mainDir, MANIFEST_FILE), manifest);
  await writeJsonAtomic(join(mainDir, 'package.json'), mainPackageJson(manifest, options.config?.package));
  await writeFile(join(mainDir, 'LICENSE'), licenseText(options.config?.package.license ?? 'MIT'));
  await writeFile(join(mainDir, 'README.md'), `# ${matrix.mainPackage}\n\n\`npm install -g ${matrix.mainPackage}\` installs the \`ao\` CLI and daemon for your platform.\n`);
  packages.push(await packInto(options.outDir, mainDir, matrix.mainPackage, version, 'main'));

  const result: StageResult = { version, ...(override ? { override } : {}), ...(options.config ? { config: options.config } : {}), binaries: facts, packages, manifest };
  await writeJsonAtomic(join(options.outDir, STAGE_FILE), result);
  return result;
}

async function packInto(outDir: string, dir: string, name: string, version: string, role: StagedPackage['role'], target?: string, binarySize?: number): Promise<StagedPackage> {
  const tarball = join(outDir, 'tarballs', `${name.replace(/^@/, '').replace('/', '-')}-${version}.tgz`);
  const digest = await packDeterministic(dir, tarball);
  return { name, version, role, ...(target ? { target } : {}), dir, tarball, integrity: digest.integrity, size: (await stat(tarball)).size, ...(binarySize ? { binarySize } : {}) };
}

/**
 * Runs every binary this host can run (natively, or under qemu-user-static) and requires `--version` to name the release
 * version; a mismatch is accepted only when it is exactly what `--allow-unstamped` names,
 * and is then recorded. Binaries this host cannot run are recorded as declared by the flag.
 */
async function checkReportedVersions(options: StageOptions, matrix: Matrix, found: Map<string, string>): Promise<UnstampedOverride | undefined> {
  const { version, allowUnstamped } = options;
  if (allowUnstamped === version) {
    throw new UserError({ what: `${UNSTAMPED_FLAG} ${allowUnstamped} is the release version itself`, why: 'the override names what an unstamped binary reports instead (for example dev)', fix: `stage without ${UNSTAMPED_FLAG}`, code: 'EUSAGE' });
  }
  const targets: UnstampedOverride['targets'] = {};
  const refused: string[] = [];
  for (const target of matrix.targets) {
    const binary = found.get(target.id)!;
    const runner = runnerFor(target);
    if (!runner) {
      // Not runnable here: the build info's recorded -ldflags (builds without -trimpath) still tell.
      const stamped = (await checkGoBinary(binary, target, options.config)).facts.stampedVersion;
      if (stamped === version) continue;
      if (typeof stamped === 'string' && stamped !== allowUnstamped) refused.push(`${target.package}: ${binary} is stamped ${stamped} (build info -ldflags), not ${version}`);
      else if (allowUnstamped !== undefined) targets[target.id] = { reports: allowUnstamped, seen: 'declared' };
      continue;
    }
    let reported: string | undefined;
    try {
      reported = (await reportedVersion(binary, runner)).version;
    } catch (cause) {
      refused.push(`${target.package}: \`${binary} --version\` failed (${String((cause as Error).message).split('\n')[0]})`);
      continue;
    }
    if (reported === version) continue;
    if (allowUnstamped !== undefined && reported === allowUnstamped) targets[target.id] = { reports: reported, seen: 'ran' };
    else refused.push(`${target.package}: ${binary} reports version ${reported === undefined ? '(unreadable)' : `"${reported}"`}, not ${version}`);
  }
  if (refused.length > 0) {
    throw new UserError({
      what: `cannot stage ${version}: a binary does not report the release version (unstamped?)`,
      why: refused.join('; '),
      fix: `rebuild with the version stamped (go build -ldflags "-X <module>/internal/cli.Version=${version}"); to release these bytes as they are, stage again with ${UNSTAMPED_FLAG} <what they report> (recorded in the release and shown in every report)`,
      code: 'EUNSTAMPED',
    });
  }
  if (Object.keys(targets).length === 0) return undefined;
  return { flag: UNSTAMPED_FLAG, reports: allowUnstamped!, targets };
}

/** The override line of a stage record, for reports; undefined when there is none. */
export function overrideLine(staged: Pick<StageResult, 'override' | 'version'>): string | undefined {
  if (!staged.override) return undefined;
  return describeOverride(staged.version, staged.override.targets);
}
