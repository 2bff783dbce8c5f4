import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFile, mkdtemp, readFile } from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadMatrix } from '../../common/matrix.js';
import type { AoManifest } from '../../common/ao-manifest.js';
import { startEmbeddedRegistry, type EmbeddedRegistry } from '../../release/embedded-registry.js';
import { stage, STAGE_FILE, type StageResult } from '../../release/stage.js';
import { verify } from '../../release/verify.js';
import { foreignRunner } from '../../common/foreign-runner.js';
import { fixtureBinaries } from '../../rehearsal/fixture-binaries.js';
import { publishPlain, shippedForTests, stageFixtureRelease } from '../../rehearsal/release-fixture.js';
import { createSandbox } from '../../rehearsal/sandbox.js';
import { isElf, mustRun } from '../postinstall/install-support.js';
import { corruptedCopy, stageDirOf } from './staged-copy.js';

/**
 * A release whose binaries were built without the version stamped (they say `dev`, as the
 * real 0.10.3 does): refused by default, releasable only with the recorded override.
 */
const hostTarget = loadMatrix().targets.find((t) => t.os === process.platform && t.cpu === process.arch)!;

describe('binaries that report "dev" instead of the release version', () => {
  let devBinaries: string;
  let shipped: string;
  beforeAll(async () => {
    devBinaries = await fixtureBinaries('dev');
    shipped = await shippedForTests();
  });
  const stageDev = async (allowUnstamped?: string) =>
    stage({
      matrix: loadMatrix(),
      version: '0.10.0',
      binariesDir: devBinaries,
      outDir: await mkdtemp(join(tmpdir(), 'ao-stage-dev-')),
      shippedDir: shipped,
      ...(allowUnstamped ? { allowUnstamped } : {}),
    });

  it('stage refuses them without the override, naming the package and what it reports', async () => {
    const err = await stageDev().then(
      () => undefined,
      (e: Error & { code?: string }) => e,
    );
    expect(err?.code).toBe('EUNSTAMPED');
    expect(err?.message).toContain(`${hostTarget.package}: ${join(devBinaries, hostTarget.id, hostTarget.executable)} reports version "dev", not 0.10.0`);
  });

  it('with --allow-unstamped dev, stage records the override in stage.json and in the main package manifest', async () => {
    const staged = await stageDev('dev');
    const record = JSON.parse(await readFile(join(stageDirOf(staged), STAGE_FILE), 'utf8')) as StageResult;
    expect(record.override?.targets[hostTarget.id]).toEqual({ reports: 'dev', seen: 'ran' });
    expect(record.override?.flag).toBe('--allow-unstamped');
    const main = staged.packages.at(-1)!;
    const manifest = JSON.parse(await readFile(join(main.dir, 'ao-manifest.json'), 'utf8')) as AoManifest;
    expect(manifest.override).toEqual({ allowUnstamped: 'dev' });
    expect(manifest.binaries[hostTarget.id]!.reportsVersion).toBe('dev');
    await expect(verify({ stageDir: stageDirOf(staged) })).resolves.toMatchObject({ override: { reports: 'dev' } });
  });

  it('the override must name exactly what the binary reports', async () => {
    const err = await stageDev('devel').then(
      () => undefined,
      (e: Error & { code?: string }) => e,
    );
    expect(err?.message).toContain('reports version "dev", not 0.10.0');
  });

  it('verify refuses a stamped release whose host binary was swapped for an unstamped one', async () => {
    const staged = await stageFixtureRelease('0.10.0');
    const bad = await corruptedCopy(staged, hostTarget.package, (dir) =>
      copyFile(join(devBinaries, hostTarget.id, hostTarget.executable), join(dir, 'bin', hostTarget.executable)),
    );
    const err = await verify({ stageDir: bad }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toContain(`${hostTarget.package}: bin/${hostTarget.executable} --version reports "dev", not the release version 0.10.0`);
  });

  it.runIf(foreignRunner({ os: 'linux', cpu: 'arm64' })?.length === 1)(
    'runs the linux-arm64 binary under qemu-user-static too: stage sees it say "dev", verify refuses it in a stamped release',
    async () => {
      const staged = await stageDev('dev');
      expect(staged.override?.targets['linux-arm64']).toEqual({ reports: 'dev', seen: 'ran' });
      expect(staged.override?.targets['darwin-arm64']).toEqual({ reports: 'dev', seen: 'declared' });
      const stamped = await stageFixtureRelease('0.10.0');
      const bad = await corruptedCopy(stamped, '@aoagents/ao-linux-arm64', (dir) => copyFile(join(devBinaries, 'linux-arm64', 'ao'), join(dir, 'bin', 'ao')));
      const err = await verify({ stageDir: bad }).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err?.message).toContain('@aoagents/ao-linux-arm64: bin/ao --version reports "dev", not the release version 0.10.0');
    },
  );

  describe('installed from a registry', () => {
    let registry: EmbeddedRegistry;
    beforeAll(async () => {
      registry = await startEmbeddedRegistry();
      await publishPlain(registry, await stageDev('dev'));
    });
    afterAll(async () => registry?.stop());

    it('the postinstall accepts the recorded "dev" and swaps the verified binary in', async () => {
      const sb = createSandbox({ registry: registry.url, name: 'unstamped' });
      try {
        const install = await mustRun('npm', ['install', '-g', '@aoagents/ao@0.10.0'], sb.env);
        expect(install.stderr).not.toContain('reports version');
        const ao = join(sb.binDir, 'ao');
        // Swapped in: the postinstall verified the binary fully (hash and version) before replacing the launcher.
        expect(isElf(realpathSync(ao))).toBe(true);
        expect((await mustRun(ao, ['--version'], sb.env)).stdout).toBe('ao version dev\n');
      } finally {
        sb.cleanup();
      }
    });
  });
});
