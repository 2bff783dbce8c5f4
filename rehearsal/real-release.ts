import { execFile } from 'node:child_process';
import { copyFile, link, mkdir, mkdtemp, open, realpath } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadMatrix, type Matrix, type Target } from '../common/matrix.js';
import { loadReleaseConfig, type ReleaseConfig } from '../common/release-config.js';
import { publish, type PublishRecord } from '../release/publish.js';
import type { RegistryTarget } from '../release/registry-client.js';
import { isUserError } from '../common/errors.js';
import { UNSTAMPED_FLAG } from '../release/binary-version.js';
import { stage, type StageResult } from '../release/stage.js';
import { REAL_REWRITE, realRewriteBinary } from './real-rewrite.js';

const run = promisify(execFile);

/**
 * release.json as the real 0.10.3 needs it: its binary was built from a modified tree
 * (vcs.modified=true), which the release checks refuse unless the config allows it.
 */
export function realRewriteConfig(config: ReleaseConfig = loadReleaseConfig()): ReleaseConfig {
  return { ...config, checks: { ...config.checks, allowModifiedTree: true } };
}

/** The one target the rewrite published a binary for. */
export const REAL_REWRITE_TARGET = 'linux-x64';

/** matrix.json restricted to the target the real binary exists for. */
export function realRewriteMatrix(matrix: Matrix = loadMatrix()): Matrix {
  return { ...matrix, targets: matrix.targets.filter((t) => t.id === REAL_REWRITE_TARGET) };
}

/** The matrix target the real binary goes under; a matrix.json without it gets a clear error, not a TypeError later. */
export function realRewriteTarget(matrix: Matrix): Target {
  const target = matrix.targets.find((t) => t.id === REAL_REWRITE_TARGET);
  if (!target)
    throw new Error(
      `matrix.json has no ${REAL_REWRITE_TARGET} target to put the real binary under (the rewrite published its binary for ${REAL_REWRITE_TARGET} only): put the ${REAL_REWRITE_TARGET} target back into matrix.json`,
    );
  return target;
}

/**
 * Runs the release tools on the real binary as a release engineer would, without the override:
 * stage must refuse it as unstamped. Returns the refusal (what and why); throws if it was accepted.
 */
export async function expectUnstampedRefusal(options: { workDir?: string; shippedDir?: string } = {}): Promise<string> {
  const workDir = options.workDir ?? (await mkdtemp(join(tmpdir(), 'ao-real-refusal-')));
  const matrix = realRewriteMatrix();
  const binariesDir = await binariesFolder(workDir, matrix);
  const outcome = await stage({
    matrix,
    version: REAL_REWRITE.version,
    binariesDir,
    outDir: join(workDir, 'stage-refused'),
    config: realRewriteConfig(),
    ...(options.shippedDir ? { shippedDir: options.shippedDir } : {}),
  }).then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!isUserError(outcome) || outcome.code !== 'EUNSTAMPED') {
    throw new Error(
      `stage of the real ${REAL_REWRITE.version} binary without ${UNSTAMPED_FLAG} was expected to be refused as unstamped, got ${outcome === undefined ? 'success' : String(outcome)}`,
    );
  }
  return outcome.why;
}

/** `<workDir>/binaries/<target>/<exe>`: the real binary in the layout stage reads. */
async function binariesFolder(workDir: string, matrix: Matrix): Promise<string> {
  const target = realRewriteTarget(matrix);
  const binariesDir = join(workDir, 'binaries');
  const dest = join(binariesDir, target.id, target.executable);
  await mkdir(join(binariesDir, target.id), { recursive: true });
  const source = await realRewriteBinary();
  // A hard link costs nothing for 23 MB; stage copies it into the package anyway.
  await link(source, dest).catch((err: NodeJS.ErrnoException) => (err.code === 'EEXIST' ? undefined : copyFile(source, dest)));
  return binariesDir;
}

export interface RealReleaseOptions {
  registry: RegistryTarget;
  /** Where the binaries folder and the stage go (a fresh temp folder by default). */
  workDir?: string;
  /** Bundled launcher/postinstall code (dist/shipped by default; tests pass their own bundle). */
  shippedDir?: string;
  log?: (line: string) => void;
}

export interface RealRelease {
  matrix: Matrix;
  stageDir: string;
  staged: StageResult;
  record: PublishRecord;
  /** `npm install -g <spec>` installs it from the registry. */
  spec: string;
}

/**
 * Stages and publishes `@aoagents/ao@0.10.3` wrapping the real rewrite binary, with the
 * `--allow-unstamped dev` override recorded (it was released unstamped), and its one
 * platform package, under the staging tag of `registry`. Used by the rehearsal and by tests
 * that need the real binary installed through our packages.
 */
export async function publishRealRewriteRelease(options: RealReleaseOptions): Promise<RealRelease> {
  const workDir = options.workDir ?? (await mkdtemp(join(tmpdir(), 'ao-real-release-')));
  const matrix = realRewriteMatrix();
  const binariesDir = await binariesFolder(workDir, matrix);
  const stageDir = join(workDir, 'stage');
  const staged = await stage({
    matrix,
    version: REAL_REWRITE.version,
    binariesDir,
    outDir: stageDir,
    allowUnstamped: REAL_REWRITE.reportedVersion,
    config: realRewriteConfig(),
    ...(options.shippedDir ? { shippedDir: options.shippedDir } : {}),
  });
  const { record } = await publish({ stageDir, registry: options.registry, matrix, ...(options.log ? { log: options.log } : {}) });
  return { matrix, stageDir, staged, record: record!, spec: `${matrix.mainPackage}@${REAL_REWRITE.version}` };
}

/** One command run through an installed `@aoagents/ao`, and which file answered it. */
export interface InstalledRun {
  command: string;
  /** `launcher`: our Node launcher ran and spawned the verified binary; `native binary`: the binary itself, swapped in. */
  via: 'launcher' | 'native binary';
  file: string;
  status: number | null;
  stdout: string;
}

export interface InstallFacts {
  /** How it was installed. */
  install: 'npm install -g' | 'npm install -g --ignore-scripts';
  runs: InstalledRun[];
}

/** The three commands a user would try first. */
export const FIRST_COMMANDS = [['version'], ['--version'], ['doctor', '--json']];

/**
 * `npm install -g <spec>` into the given sandboxed prefix, then the first commands through what
 * npm linked. With scripts, the postinstall has swapped the native binary in; with
 * --ignore-scripts, bin/ao is our launcher, kept (a copy beside it) for every command, since its
 * first verified run swaps bin/ao itself.
 */
export async function installAndRunFirstCommands(
  spec: string,
  sandbox: { env: NodeJS.ProcessEnv; prefix: string; binDir: string },
  scripts: boolean,
): Promise<InstallFacts> {
  const args = ['install', '-g', spec, ...(scripts ? [] : ['--ignore-scripts'])];
  await run('npm', args, { env: sandbox.env });
  const packageDir = join(sandbox.prefix, 'lib', 'node_modules', ...spec.slice(0, spec.lastIndexOf('@')).split('/'));
  let entry = join(sandbox.binDir, 'ao');
  if (!scripts) {
    entry = join(packageDir, 'bin', 'ao-launcher');
    await copyFile(join(packageDir, 'bin', 'ao'), entry);
  }
  const runs: InstalledRun[] = [];
  for (const command of FIRST_COMMANDS) {
    const file = await realpath(entry);
    const via = (await isNodeScript(file)) ? 'launcher' : 'native binary';
    const result = await run(entry, command, { env: sandbox.env }).then(
      (r) => ({ status: 0, stdout: r.stdout }),
      (err: { code?: number; stdout?: string }) => ({ status: typeof err.code === 'number' ? err.code : null, stdout: err.stdout ?? '' }),
    );
    runs.push({ command: `ao ${command.join(' ')}`, via, file, ...result });
  }
  return { install: scripts ? 'npm install -g' : 'npm install -g --ignore-scripts', runs };
}

async function isNodeScript(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const { buffer } = await handle.read(Buffer.alloc(2), 0, 2, 0);
    return buffer.toString('latin1') === '#!';
  } finally {
    await handle.close();
  }
}

/** One line per install for a report: which file answered each command, and what it said. */
export function describeInstall(facts: InstallFacts): string {
  const said = facts.runs.map((r) => {
    if (r.command.startsWith('ao doctor')) {
      try {
        const doctor = JSON.parse(r.stdout) as { ok: boolean; failures: number; checks: unknown[] };
        return `${r.command} -> ok=${doctor.ok}, ${doctor.failures} failures in ${doctor.checks.length} checks`;
      } catch {
        return `${r.command} -> exit ${r.status}, not JSON`;
      }
    }
    return `${r.command} -> ${JSON.stringify(r.stdout.trim())}`;
  });
  const via = [...new Set(facts.runs.map((r) => `${r.via} ${r.file}`))].join(', ');
  return `${facts.install}: ran by ${via}; ${said.join('; ')}`;
}
