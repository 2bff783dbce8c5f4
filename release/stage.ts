import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { chmod, copyFile, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import semver from 'semver';
import { isUserError, UserError } from '../common/errors.js';
import { writeJsonAtomic } from '../common/fs-atomic.js';
import { digestFile } from '../common/integrity.js';
import { executableFormatFor } from '../common/binary-format.js';
import { releaseMatrix, type Matrix } from '../common/matrix.js';
import type { ReleaseConfig } from '../common/release-config.js';
import { validateAppManifest, type AppManifest } from '../common/app-manifest.js';
import { REPO_ROOT } from '../common/paths.js';
import { binaryPathInPackage, licenseText, writePlatformPackage } from './platform-package.js';
import { MAIN_PACKAGE_FILES, mainPackageJson } from './main-package.js';
import { MANIFEST_FILE, type AoManifest } from '../common/ao-manifest.js';
import { locateBinaries } from './binaries-dir.js';
import { checkGoBinary, type BinaryFacts } from './binary-checks.js';
import { describeOverride, reportedVersion, UNSTAMPED_FLAG } from './binary-version.js';
import { packDeterministic } from './pack.js';
import { foreignRunner } from '../common/foreign-runner.js';

export const STAGE_FILE = 'stage.json';
/** What stage writes into its folder; a restage replaces these and nothing else. */
const STAGE_ENTRIES = ['packages', 'tarballs', 'placeholders', STAGE_FILE, 'publish.json'];

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
  if (releaseVersion(version).version !== version)
    throw versionError(version, `it is not in the exact form npm publishes (${releaseVersion(version).version})`);
  checkOutDir(options.outDir, options.binariesDir);
  if (options.app !== undefined) checkAppManifest(options.app, version);
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
  for (const entry of STAGE_ENTRIES) await rm(join(options.outDir, entry), { recursive: true, force: true });
  await mkdir(join(options.outDir, 'tarballs'), { recursive: true });
  const packages: StagedPackage[] = [];
  const manifest: AoManifest = { schema: 1, name: matrix.mainPackage, version, binaries: {} };
  const facts: Record<string, BinaryFacts> = {};

  for (const target of matrix.targets) {
    const dir = join(options.outDir, 'packages', target.package);
    const binaryPath = found.get(target.id)!;
    await writePlatformPackage({
      target,
      version,
      binaryPath,
      dir,
      mainPackage: matrix.mainPackage,
      ...(options.config ? { metadata: options.config.package } : {}),
    });
    const binary = await digestFile(binaryPath);
    facts[target.id] = (await checkGoBinary(binaryPath, target, options.config)).facts;
    manifest.binaries[target.id] = {
      package: target.package,
      version,
      os: target.os,
      cpu: target.cpu,
      path: binaryPathInPackage(target),
      format: executableFormatFor(target.os),
      integrity: binary.integrity,
      size: binary.size,
      ...(override?.targets[target.id] ? { reportsVersion: override.targets[target.id]!.reports } : {}),
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
  await writeFile(
    join(mainDir, 'README.md'),
    `# ${matrix.mainPackage}\n\n\`npm install -g ${matrix.mainPackage}\` installs the \`ao\` CLI and daemon for your platform.\n`,
  );
  packages.push(await packInto(options.outDir, mainDir, matrix.mainPackage, version, 'main'));

  const result: StageResult = {
    version,
    ...(override ? { override } : {}),
    ...(options.config ? { config: options.config } : {}),
    binaries: facts,
    packages,
    manifest,
  };
  await writeJsonAtomic(join(options.outDir, STAGE_FILE), result);
  return result;
}

async function packInto(
  outDir: string,
  dir: string,
  name: string,
  version: string,
  role: StagedPackage['role'],
  target?: string,
  binarySize?: number,
): Promise<StagedPackage> {
  const tarball = join(outDir, 'tarballs', `${name.replace(/^@/, '').replace('/', '-')}-${version}.tgz`);
  const digest = await packDeterministic(dir, tarball);
  return {
    name,
    version,
    role,
    ...(target ? { target } : {}),
    dir,
    tarball,
    integrity: digest.integrity,
    size: (await stat(tarball)).size,
    ...(binarySize ? { binarySize } : {}),
  };
}

/**
 * Runs every binary this host can run (natively, or under qemu-user-static) and requires `--version` to name the release
 * version; a mismatch is accepted only when it is exactly what `--allow-unstamped` names,
 * and is then recorded. Binaries this host cannot run are recorded as declared by the flag.
 */
async function checkReportedVersions(options: StageOptions, matrix: Matrix, found: Map<string, string>): Promise<UnstampedOverride | undefined> {
  const { version, allowUnstamped } = options;
  if (allowUnstamped === version) {
    throw new UserError({
      what: `${UNSTAMPED_FLAG} ${allowUnstamped} is the release version itself`,
      why: 'the override names what an unstamped binary reports instead (for example dev)',
      fix: `stage without ${UNSTAMPED_FLAG}`,
      code: 'EUSAGE',
    });
  }
  const targets: UnstampedOverride['targets'] = {};
  const refused: string[] = [];
  for (const target of matrix.targets) {
    const binary = found.get(target.id)!;
    const runner = foreignRunner(target);
    if (!runner) {
      // Not runnable here: the build info's recorded -ldflags (builds without -trimpath) still tell.
      const stamped = (await checkGoBinary(binary, target, options.config)).facts.stampedVersion;
      if (stamped === version) continue;
      if (typeof stamped === 'string' && stamped !== allowUnstamped)
        refused.push(`${target.package}: ${binary} is stamped ${stamped} (build info -ldflags), not ${version}`);
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

function versionError(input: string, why: string): UserError {
  const guess = semver.coerce(input)?.version ?? '0.10.0';
  return new UserError({
    what: `cannot stage version ${JSON.stringify(input)}`,
    why,
    fix: `ao-release stage --version ${guess} --binaries <dir> (an exact version: 1.2.3 or 1.2.3-rc.1)`,
    code: 'EVERSION',
  });
}

/**
 * The one exact version a release is staged, published and promoted under. `v1.2.3` (a git
 * tag) is read as 1.2.3 once, with a notice; anything npm would not publish as written
 * (banana, a path, 1.2, build metadata that npm drops) is refused.
 */
export function releaseVersion(input: string): { version: string; notice?: string } {
  const bare = /^v\d/.test(input) ? input.slice(1) : input;
  if (semver.valid(bare) !== bare) {
    throw versionError(
      input,
      /\+/.test(bare) && semver.valid(bare) ? 'npm drops build metadata ("+..."), so it would publish as another version' : 'it is not an exact semver version',
    );
  }
  return bare === input ? { version: bare } : { version: bare, notice: `version "${input}" read as ${bare} (npm versions carry no "v")` };
}

/** A folder stage may write into: absent, empty, or one it staged before; never the binaries' folder. */
function checkOutDir(outDir: string, binariesDir: string): void {
  const real = (p: string) => {
    let at = resolve(p);
    const rest: string[] = [];
    while (!existsSync(at) && dirname(at) !== at) {
      rest.unshift(at.slice(dirname(at).length + 1));
      at = dirname(at);
    }
    return join(realpathSync(at), ...rest);
  };
  const out = real(outDir);
  const bins = real(binariesDir);
  /** a is b or inside it. */
  const within = (a: string, b: string) => {
    const r = relative(b, a);
    return r === '' || (!r.startsWith(`..${sep}`) && r !== '..' && !isAbsolute(r));
  };
  const refuse = (why: string) =>
    new UserError({
      what: `refusing to stage into ${outDir}`,
      why,
      fix: `ao-release stage ... --out <a new or empty folder> (out/stage by default)`,
      code: 'ESTAGEOUT',
    });
  if (within(out, bins) || within(bins, out))
    throw refuse(`it ${out === bins ? 'is' : within(out, bins) ? 'is inside' : 'holds'} the binaries folder ${binariesDir}`);
  if (!existsSync(out)) return;
  if (!statSync(out).isDirectory()) throw refuse('it is a file, not a folder');
  const entries = readdirSync(out);
  if (entries.length > 0 && !entries.includes(STAGE_FILE))
    throw refuse(
      `it holds files that are not a stage (${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', ...' : ''}); stage replaces only a folder holding its own ${STAGE_FILE}`,
    );
}

function checkAppManifest(app: unknown, version: string): AppManifest {
  let manifest: AppManifest;
  try {
    manifest = validateAppManifest(app, 'the app manifest');
  } catch (err) {
    throw isUserError(err) ? appError(version, err.why) : err;
  }
  if (manifest.version !== version) throw appError(version, `it is for version ${manifest.version}, the release is ${version}`);
  return manifest;
}

function appError(version: string, why: string): UserError {
  return new UserError({
    what: `the desktop app manifest does not fit release ${version}`,
    why,
    fix: `ao-release app-manifest --version ${version} --artifacts <dir> --base-url <url> --key <file> --out app.json, then stage with --app app.json`,
    code: 'EAPPMANIFEST',
  });
}

/**
 * The app manifest `stage --app` takes: valid for users' ao-app, for this version, and naming
 * every matrix target with the file name and format matrix.json gives it.
 */
export function checkReleaseApp(app: unknown, matrix: Matrix, version: string): AppManifest {
  const manifest = checkAppManifest(app, version);
  // A matrix may leave a target without a desktop app.
  const appOf = (t: Matrix['targets'][number]) => (t as { app?: { file: string; format: string } }).app;
  for (const [id, entry] of Object.entries(manifest.targets)) {
    const target = matrix.targets.find((t) => t.id === id);
    if (!target) throw appError(version, `targets.${id} is not a target in matrix.json`);
    const expected = appOf(target);
    if (!expected) throw appError(version, `targets.${id}: matrix.json gives ${id} no desktop app`);
    if (entry.file !== expected.file) throw appError(version, `targets.${id}.file is "${entry.file}", matrix.json says "${expected.file}"`);
    if (entry.format !== expected.format) throw appError(version, `targets.${id}.format is "${entry.format}", matrix.json says "${expected.format}"`);
  }
  const missing = matrix.targets.filter((t) => appOf(t) && !manifest.targets[t.id]).map((t) => t.id);
  if (missing.length > 0) throw appError(version, `no artifact for ${missing.join(', ')} (every matrix target with an app needs one)`);
  return manifest;
}
