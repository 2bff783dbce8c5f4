import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadMatrix } from '../common/matrix.js';
import { FIXTURE_RELEASE_CONFIG_PATH, OUT_DIR, REPO_ROOT } from '../common/paths.js';
import { loadReleaseConfig } from '../common/release-config.js';
import { startEmbeddedRegistry, type EmbeddedRegistry } from '../release/embedded-registry.js';
import { stage, type StageResult } from '../release/stage.js';
import { fixtureBinaries } from './fixture-binaries.js';

const run = promisify(execFile);

/** Bundles the shipped launcher/postinstall code from source, so tests never depend on a prior `npm run build`. */
export async function shippedForTests(): Promise<string> {
  const dir = join(OUT_DIR, 'shipped-test', String(process.pid));
  const { bundleShipped } = (await import(join(REPO_ROOT, 'scripts', 'shipped.mjs'))) as {
    bundleShipped: (o: string, r: string, options: { testHooks: boolean }) => Promise<void>;
  };
  // The release's own bundler, with the test hooks in (tests crash and park what they install).
  await bundleShipped(dir, REPO_ROOT, { testHooks: true });
  return dir;
}

/** Stages the fixture binaries at `version` into `outDir` (the caller removes it), or a temp folder (tests: their temp root goes). */
export async function stageFixtureRelease(version: string, options: { app?: unknown; outDir?: string } = {}): Promise<StageResult> {
  const matrix = loadMatrix();
  const binariesDir = await fixtureBinaries(version, matrix.targets);
  const { outDir = await mkdtemp(join(tmpdir(), `ao-stage-${version}-`)), app } = options;
  return stage({
    matrix,
    version,
    binariesDir,
    outDir,
    shippedDir: await shippedForTests(),
    config: loadReleaseConfig(FIXTURE_RELEASE_CONFIG_PATH),
    app,
  });
}

/**
 * Publishes staged tarballs with plain `npm publish`, platform packages first.
 * For tests of what users install; the release tool's own publish is tested in test/release.
 */
export async function publishPlain(registry: EmbeddedRegistry, staged: StageResult, tag = 'latest'): Promise<void> {
  const host = registry.url.replace(/^https?:/, '');
  for (const p of staged.packages) {
    await run('npm', ['publish', p.tarball, '--tag', tag, '--registry', registry.url, `--${host}:_authToken=${registry.authToken}`, '--loglevel=error'], {
      env: { ...process.env, npm_config_cache: join(registry.storageDir, 'publish-cache') },
    });
  }
}

/** A registry holding the fixture release at `version`, tagged `latest`; the staged packages live in its folder, removed when it stops. */
export async function registryWithRelease(version = '0.10.0'): Promise<{ registry: EmbeddedRegistry; staged: StageResult }> {
  const registry = await startEmbeddedRegistry();
  const staged = await stageFixtureRelease(version, { outDir: join(registry.storageDir, 'stage') });
  await publishPlain(registry, staged);
  return { registry, staged };
}
