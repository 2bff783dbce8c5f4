import { mkdir, mkdtemp, link, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadMatrix, type Matrix } from '../common/matrix.js';
import { publish, type PublishRecord } from '../release/publish.js';
import type { RegistryTarget } from '../release/registry-client.js';
import { stage, type StageResult } from '../release/stage.js';
import { REAL_REWRITE, realRewriteBinary } from './real-rewrite.js';

/** The one target the rewrite published a binary for. */
export const REAL_REWRITE_TARGET = 'linux-x64';

/** matrix.json restricted to the target the real binary exists for. */
export function realRewriteMatrix(matrix: Matrix = loadMatrix()): Matrix {
  return { ...matrix, targets: matrix.targets.filter((t) => t.id === REAL_REWRITE_TARGET) };
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
  const [target] = matrix.targets;
  const binariesDir = join(workDir, 'binaries');
  await mkdir(join(binariesDir, target.id), { recursive: true });
  const source = await realRewriteBinary();
  // A hard link costs nothing for 23 MB; stage copies it into the package anyway.
  await link(source, join(binariesDir, target.id, target.executable)).catch(() => copyFile(source, join(binariesDir, target.id, target.executable)));
  const stageDir = join(workDir, 'stage');
  const staged = await stage({
    matrix,
    version: REAL_REWRITE.version,
    binariesDir,
    outDir: stageDir,
    allowUnstamped: REAL_REWRITE.reportedVersion,
    ...(options.shippedDir ? { shippedDir: options.shippedDir } : {}),
  });
  const { record } = await publish({ stageDir, registry: options.registry, matrix, ...(options.log ? { log: options.log } : {}) });
  return { matrix, stageDir, staged, record: record!, spec: `${matrix.mainPackage}@${REAL_REWRITE.version}` };
}
