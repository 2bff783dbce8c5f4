import { describe, expect, it } from 'vitest';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appTargets, loadMatrix, releaseMatrix, validateMatrix, type Matrix } from '../../common/matrix.js';
import { FIXTURE_RELEASE_CONFIG_PATH } from '../../common/paths.js';
import { loadReleaseConfig } from '../../common/release-config.js';
import { buildAppManifest } from '../../release/app-manifest.js';
import { stage } from '../../release/stage.js';
import { verify } from '../../release/verify.js';
import { releaseWorkflow } from '../../release/workflow.js';
import { parse } from 'yaml';
import { buildReleaseApps } from '../../rehearsal/app-fixtures.js';
import { fixtureBinaries } from '../../rehearsal/fixture-binaries.js';
import { shippedForTests } from '../../rehearsal/release-fixture.js';
import { stageDirOf } from './staged-copy.js';

/**
 * The real release's shape, said in matrix.json alone: linux-arm64 ships a CLI but no
 * desktop app, win32-arm64 is left out of the release (and has no app either).
 */
function realShapedMatrix(): Matrix {
  const m = JSON.parse(JSON.stringify(loadMatrix())) as Matrix;
  for (const t of m.targets) {
    if (t.id === 'linux-arm64' || t.id === 'win32-arm64') delete t.app;
    if (t.id === 'win32-arm64') t.released = false;
  }
  return validateMatrix(m, 'real-shaped matrix');
}

describe('a matrix where a target has no desktop app or is left out of the release', () => {
  it('validates, and an empty release is refused', () => {
    const m = realShapedMatrix();
    expect(releaseMatrix(m).targets.map((t) => t.id)).toEqual(['darwin-arm64', 'darwin-x64', 'linux-x64', 'linux-arm64', 'win32-x64']);
    expect(appTargets(m).map((t) => t.id)).toEqual(['darwin-arm64', 'darwin-x64', 'linux-x64', 'win32-x64']);
    for (const t of m.targets) t.released = false;
    expect(() => validateMatrix(m)).toThrow('every target says "released": false');
  });

  it('stage, verify, the app manifest and the workflow follow it without code changes', async () => {
    const matrix = realShapedMatrix();
    const apps = await mkdtemp(join(tmpdir(), 'ao-apps-'));
    await buildReleaseApps(appTargets(matrix), apps, 0);
    const app = await buildAppManifest({ matrix, version: '0.10.0', artifactsDir: apps, baseUrls: ['http://127.0.0.1:1/ao'] });
    expect(Object.keys(app.targets).sort()).toEqual(['darwin-arm64', 'darwin-x64', 'linux-x64', 'win32-x64']);

    const staged = await stage({
      matrix,
      version: '0.10.0',
      binariesDir: await fixtureBinaries('0.10.0'),
      outDir: await mkdtemp(join(tmpdir(), 'ao-stage-partial-')),
      shippedDir: await shippedForTests(),
      config: loadReleaseConfig(FIXTURE_RELEASE_CONFIG_PATH),
      app,
    });
    expect(staged.packages.map((p) => p.name)).not.toContain('@aoagents/ao-win32-arm64');
    expect(staged.packages).toHaveLength(6);
    const main = JSON.parse(await readFile(join(staged.packages.at(-1)!.dir, 'package.json'), 'utf8'));
    expect(Object.keys(main.optionalDependencies).sort()).toEqual([
      '@aoagents/ao-darwin-arm64',
      '@aoagents/ao-darwin-x64',
      '@aoagents/ao-linux-arm64',
      '@aoagents/ao-linux-x64',
      '@aoagents/ao-win32-x64',
    ]);
    await expect(verify({ stageDir: stageDirOf(staged), matrix })).resolves.toMatchObject({ packages: 6 });
    // The full matrix still requires win32-arm64: leaving it out is a matrix decision, not an accident.
    await expect(verify({ stageDir: stageDirOf(staged) })).rejects.toThrow(
      '@aoagents/ao-win32-arm64: target win32-arm64 from matrix.json is missing from the release',
    );

    const workflow = parse(releaseWorkflow(matrix, loadReleaseConfig()));
    expect(workflow.jobs.build.strategy.matrix.include.map((e: { target: string }) => e.target)).toEqual([
      'darwin-arm64',
      'darwin-x64',
      'linux-x64',
      'linux-arm64',
      'win32-x64',
    ]);
  }, 180_000);
});
