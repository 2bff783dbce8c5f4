import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Arborist from '@npmcli/arborist';
import semver from 'semver';
import * as tar from 'tar';
import { executableMismatch } from '../common/binary-format.js';
import { machoProblems } from '../common/macho.js';
import { UserError } from '../common/errors.js';
import { digestFile } from '../common/integrity.js';
import { loadMatrix, releaseMatrix, type Matrix, type Target } from '../common/matrix.js';
import { binaryPathInPackage } from './platform-package.js';
import { MANIFEST_FILE, type AoManifest } from '../common/ao-manifest.js';
import { packageMetadataFields, type ReleaseConfig } from '../common/release-config.js';
import { checkGoBinary, type BinaryFacts } from './binary-checks.js';
import { reportedVersion, UNSTAMPED_FLAG } from './binary-version.js';
import { STAGE_FILE, type StagedPackage, type StageResult, type UnstampedOverride } from './stage.js';
import { foreignRunner } from '../common/foreign-runner.js';

/** One reason a package may not be published. */
export interface Problem {
  package: string;
  reason: string;
}

export interface VerifyOptions {
  stageDir: string;
  matrix?: Matrix;
  /**
   * When given, the staged release must already be in this registry: for each target's
   * os/cpu, npm's resolver (Arborist) must pick exactly that target's platform package.
   */
  registry?: string;
  /** Extra npm options for the registry check (auth token lines, cache). */
  npmOptions?: Record<string, unknown>;
  /** The release config to check binaries against; default: the one stage recorded. */
  config?: ReleaseConfig;
}

export interface VerifyReport {
  version: string;
  packages: number;
  /** Per target: the platform packages Arborist would install there (registry check only). */
  resolution?: Record<string, string[]>;
  /** The release was staged with `--allow-unstamped`: every report must show it. */
  override?: UnstampedOverride;
  /** Per target: what the binary's build info and headers say (Go version, vcs revision, stripped size). */
  binaries: Record<string, BinaryFacts>;
  /** Not fatal, shown in every report: unstripped binaries, a modified tree the config allows. */
  warnings: Problem[];
}

const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall', 'prepare'];

export async function readStage(stageDir: string): Promise<StageResult> {
  const file = join(stageDir, STAGE_FILE);
  try {
    return JSON.parse(await readFile(file, 'utf8')) as StageResult;
  } catch (cause) {
    throw new UserError({
      what: `cannot read ${file}`,
      why: (cause as Error).message,
      fix: 'ao-release stage --version <v> --binaries <dir> (or pass --stage <the folder stage wrote>)',
      code: 'EVERIFY',
      cause,
    });
  }
}

/**
 * Checks the staged tarballs (the bytes that get published, not the folders they came from)
 * and throws one UserError listing every problem, each with the package it concerns.
 */
export async function verify(options: VerifyOptions): Promise<VerifyReport> {
  // Targets marked "released": false are not part of any release: neither required nor allowed.
  const matrix = releaseMatrix(options.matrix ?? loadMatrix());
  const staged = await readStage(options.stageDir);
  const findings: Findings = { problems: [], warnings: [], binaries: {} };
  await staticChecks(staged, matrix, options.config ?? staged.config, findings);
  const { problems } = findings;
  let resolution: Record<string, string[]> | undefined;
  if (problems.length === 0 && options.registry) {
    resolution = await resolveEachTarget(matrix, staged.version, options.registry, options.npmOptions);
    for (const target of matrix.targets) {
      const got = resolution[target.id]!; // resolveEachTarget answers for every target
      if (got.length !== 1 || got[0] !== target.package) {
        problems.push({
          package: matrix.mainPackage,
          reason: `on ${target.id} npm would install [${got.join(', ') || 'nothing'}], expected exactly ${target.package}`,
        });
      }
    }
  }
  if (problems.length > 0) {
    throw new UserError({
      what: `release ${staged.version} failed verification (${problems.length} problem${problems.length > 1 ? 's' : ''})`,
      why: problems.map((p) => `${p.package}: ${p.reason}`).join('; '),
      fix: 'rebuild the binaries for the named targets and run stage again; do not edit staged tarballs by hand',
      code: 'EVERIFY',
    });
  }
  return {
    version: staged.version,
    packages: staged.packages.length,
    ...(resolution ? { resolution } : {}),
    ...(staged.override ? { override: staged.override } : {}),
    binaries: findings.binaries,
    warnings: findings.warnings,
  };
}

interface Findings {
  problems: Problem[];
  warnings: Problem[];
  binaries: Record<string, BinaryFacts>;
}

async function staticChecks(staged: StageResult, matrix: Matrix, config: ReleaseConfig | undefined, findings: Findings): Promise<void> {
  const { problems } = findings;
  const work = await mkdtemp(join(tmpdir(), 'ao-verify-'));
  try {
    const main = staged.packages.find((p) => p.role === 'main');
    if (!main) return void problems.push({ package: matrix.mainPackage, reason: `not in ${STAGE_FILE}` });
    if (staged.packages.at(-1) !== main) problems.push({ package: main.name, reason: 'must be the last package in the publish order' });
    const mainRoot = await extract(main, work, problems);
    const manifest = mainRoot ? await readJson<AoManifest>(join(mainRoot, MANIFEST_FILE), main.name, problems) : undefined;
    const mainPkg = mainRoot ? await readJson<PackageJson>(join(mainRoot, 'package.json'), main.name, problems) : undefined;
    if (mainPkg) checkMain(mainPkg, staged.version, matrix, problems);
    if (mainPkg && config) checkMetadata(mainPkg, config, main.name, problems);
    if (manifest && mainPkg && manifest.version !== staged.version)
      problems.push({ package: main.name, reason: `${MANIFEST_FILE} says version ${manifest.version}, release is ${staged.version}` });
    if (manifest) checkOverrideRecorded(manifest, staged, main.name, problems);

    for (const target of matrix.targets) {
      const pkg = staged.packages.find((p) => p.role === 'platform' && p.target === target.id);
      if (!pkg) {
        problems.push({ package: target.package, reason: `target ${target.id} from matrix.json is missing from the release` });
        continue;
      }
      const root = await extract(pkg, work, problems);
      if (root) await checkPlatform(root, target, staged.version, manifest, config, findings);
    }
    for (const pkg of staged.packages) {
      if (pkg.role === 'platform' && !matrix.targets.some((t) => t.id === pkg.target))
        problems.push({ package: pkg.name, reason: `target ${pkg.target} is not a released target of matrix.json` });
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The package.json fields verify reads; anything else stays unknown. */
interface PackageJson {
  name?: string;
  version?: string;
  os?: unknown;
  cpu?: unknown;
  preferUnplugged?: unknown;
  optionalDependencies?: Record<string, string>;
  scripts?: Record<string, string>;
  [field: string]: unknown;
}

/** Extracts one tarball (after checking it is the one stage recorded) and returns its package root. */
async function extract(pkg: StagedPackage, work: string, problems: Problem[]): Promise<string | undefined> {
  if (!existsSync(pkg.tarball)) {
    problems.push({ package: pkg.name, reason: `tarball ${pkg.tarball} is missing` });
    return undefined;
  }
  const digest = await digestFile(pkg.tarball);
  if (digest.integrity !== pkg.integrity)
    problems.push({ package: pkg.name, reason: `tarball ${pkg.tarball} changed after staging (integrity differs from ${STAGE_FILE})` });
  const dest = join(work, pkg.name.replace(/[@/]/g, '_'));
  await mkdir(dest, { recursive: true });
  await tar.x({ file: pkg.tarball, cwd: dest, strict: true });
  return join(dest, 'package');
}

async function readJson<T>(path: string, name: string, problems: Problem[]): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (err) {
    problems.push({ package: name, reason: `cannot read ${path.split('/package/').pop()} from its tarball (${(err as Error).message})` });
    return undefined;
  }
}

function checkMain(pkg: PackageJson, version: string, matrix: Matrix, problems: Problem[]): void {
  const name = matrix.mainPackage;
  if (pkg.name !== name) problems.push({ package: name, reason: `package.json name is ${pkg.name}` });
  if (pkg.version !== version) problems.push({ package: name, reason: `version ${pkg.version} does not match the release version ${version}` });
  const pins: Record<string, string> = pkg.optionalDependencies ?? {};
  for (const target of matrix.targets) {
    const pin = pins[target.package];
    if (pin === undefined) problems.push({ package: name, reason: `optionalDependencies lacks ${target.package}` });
    else if (semver.valid(pin) === null)
      problems.push({ package: name, reason: `optionalDependencies pins ${target.package} loosely ("${pin}"), it must be the exact version ${version}` });
    else if (pin !== version) problems.push({ package: name, reason: `optionalDependencies pins ${target.package}@${pin}, the release is ${version}` });
  }
}

async function checkPlatform(
  root: string,
  target: Target,
  version: string,
  manifest: AoManifest | undefined,
  config: ReleaseConfig | undefined,
  findings: Findings,
): Promise<void> {
  const { problems } = findings;
  const report = (reason: string): void => void problems.push({ package: target.package, reason });
  const pkg = await readJson<PackageJson>(join(root, 'package.json'), target.package, problems);
  if (!pkg) return;
  if (pkg.name !== target.package) report(`package.json name is ${pkg.name}, matrix.json says ${target.package}`);
  if (pkg.version !== version) report(`version ${pkg.version} does not match the release version ${version}`);
  if (JSON.stringify(pkg.os) !== JSON.stringify([target.os])) report(`"os" is ${JSON.stringify(pkg.os)}, expected ["${target.os}"]`);
  if (JSON.stringify(pkg.cpu) !== JSON.stringify([target.cpu])) report(`"cpu" is ${JSON.stringify(pkg.cpu)}, expected ["${target.cpu}"]`);
  if (pkg.preferUnplugged !== true) report('"preferUnplugged" must be true (Yarn PnP needs the binary on disk)');
  const scripts = INSTALL_SCRIPTS.filter((s) => pkg.scripts?.[s] !== undefined);
  if (scripts.length > 0) report(`has install scripts (${scripts.join(', ')}); platform packages must work with scripts blocked`);
  if (existsSync(join(root, 'binding.gyp'))) report('has binding.gyp, which makes npm run node-gyp at install');
  if (config) checkMetadata(pkg, config, target.package, problems);

  const binary = join(root, binaryPathInPackage(target));
  if (!existsSync(binary)) return report(`${binaryPathInPackage(target)} is missing from the tarball`);
  const executable = ((await stat(binary)).mode & 0o111) !== 0;
  if (!executable) report(`${binaryPathInPackage(target)} is not executable in the tarball (mode lacks +x)`);
  const mismatch = executableMismatch(binary, target.os, target.cpu);
  if (mismatch) report(mismatch.replace(binary, binaryPathInPackage(target)));
  if (!mismatch && target.os === 'darwin') for (const p of machoProblems(binary, target.cpu)) report(p.replaceAll(binary, binaryPathInPackage(target)));
  const checked = await checkGoBinary(binary, target, config);
  findings.binaries[target.id] = checked.facts;
  for (const reason of checked.problems) report(`${binaryPathInPackage(target)} ${reason}`);
  for (const reason of checked.warnings) findings.warnings.push({ package: target.package, reason: `${binaryPathInPackage(target)} ${reason}` });
  // A truncated, foreign or non-executable file is not run (its problem is already reported).
  const runnable = executable && checked.problems.every((p) => !p.startsWith('is truncated') && !p.startsWith('cannot read'));
  const entry = manifest?.binaries[target.id];
  if (!entry) return report(`${MANIFEST_FILE} has no entry for ${target.id}`);
  const digest = await digestFile(binary);
  if (digest.size !== entry.size) report(`binary is ${digest.size} bytes, ${MANIFEST_FILE} says ${entry.size}`);
  if (digest.integrity !== entry.integrity) report(`binary hash does not match ${MANIFEST_FILE}`);
  if (entry.version !== version || entry.package !== target.package) report(`${MANIFEST_FILE} entry names ${entry.package}@${entry.version}`);
  // Read without running (any target): what the recorded -ldflags stamped, when Go recorded them.
  const expectedVersion = entry.reportsVersion ?? version;
  const stamped = checked.facts.stampedVersion;
  const stampFits = entry.reportsVersion ? stamped === null || stamped === entry.reportsVersion : stamped === version;
  if (stamped !== undefined && !stampFits) {
    report(
      `${binaryPathInPackage(target)} build info records -ldflags ${stamped === null ? `without -X ${config?.go.stamp.version}=` : `stamping ${config?.go.stamp.version}=${stamped}`}, the release expects ${expectedVersion === version ? version : `an unstamped build ("${expectedVersion}")`}`,
    );
  }
  const runner = foreignRunner(target);
  if (runnable && !mismatch && runner) {
    const expected = expectedVersion;
    const reported = await reportedVersion(binary, runner).then(
      (r) => (r.version === undefined ? `unreadable output ${JSON.stringify(r.output)}` : `"${r.version}"`),
      (err: Error) => `nothing: --version failed (${err.message.split('\n')[0]})`,
    );
    if (reported !== `"${expected}"`) {
      report(
        `${binaryPathInPackage(target)} --version reports ${reported}, not ${expected === version ? `the release version ${version} (unstamped build? stamp the version with -X, or stage with ${UNSTAMPED_FLAG} <reported>)` : `"${expected}" as ${UNSTAMPED_FLAG} recorded`}`,
      );
    }
  }
}

/** repository (npm provenance refuses a publish without it), homepage, bugs and license, as the release config says. */
function checkMetadata(pkg: Record<string, unknown>, config: ReleaseConfig, name: string, problems: Problem[]): void {
  for (const [field, want] of Object.entries(packageMetadataFields(config.package))) {
    if (JSON.stringify(pkg[field]) !== JSON.stringify(want))
      problems.push({
        package: name,
        reason: `package.json "${field}" is ${JSON.stringify(pkg[field] ?? null)}, the release config says ${JSON.stringify(want)}`,
      });
  }
}

/** The manifest users get must carry exactly the override the stage record shows, no more. */
function checkOverrideRecorded(manifest: AoManifest, staged: StageResult, name: string, problems: Problem[]): void {
  const recorded = staged.override;
  if ((manifest.override?.allowUnstamped ?? null) !== (recorded?.reports ?? null)) {
    problems.push({
      package: name,
      reason: `${MANIFEST_FILE} override ${JSON.stringify(manifest.override ?? null)} differs from ${STAGE_FILE} (${JSON.stringify(recorded?.reports ?? null)})`,
    });
  }
  for (const [id, entry] of Object.entries(manifest.binaries)) {
    const want = recorded?.targets[id]?.reports;
    if (entry.reportsVersion !== want)
      problems.push({
        package: name,
        reason: `${MANIFEST_FILE} says ${id} reports ${JSON.stringify(entry.reportsVersion ?? null)}, ${STAGE_FILE} recorded ${JSON.stringify(want ?? null)}`,
      });
  }
}

/**
 * For each target, builds npm's ideal tree for `main@version` as if on that os/cpu
 * (Arborist's `os`/`cpu` options, what `npm install --os --cpu` passes) and lists the
 * platform packages that would be installed, i.e. not marked inert.
 */
export async function resolveEachTarget(
  matrix: Matrix,
  version: string,
  registry: string,
  npmOptions: Record<string, unknown> = {},
): Promise<Record<string, string[]>> {
  const platformNames = new Set(matrix.targets.map((t) => t.package));
  const result: Record<string, string[]> = {};
  const work = await mkdtemp(join(tmpdir(), 'ao-resolve-'));
  try {
    for (const target of matrix.targets) {
      const arb = new Arborist({ path: work, registry, cache: join(work, '.cache'), os: target.os, cpu: target.cpu, ...npmOptions } as ConstructorParameters<
        typeof Arborist
      >[0]);
      const tree = await arb.buildIdealTree({ add: [`${matrix.mainPackage}@${version}`] } as Parameters<typeof arb.buildIdealTree>[0]);
      result[target.id] = [...tree.inventory.values()]
        .filter((node) => platformNames.has(node.name) && !(node as unknown as { inert?: boolean }).inert)
        .map((node) => node.name)
        .sort();
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return result;
}
