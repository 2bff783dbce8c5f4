import { beforeAll, describe, expect, it } from 'vitest';
import { chmod, copyFile, readFile, writeFile, appendFile, cp, mkdtemp, truncate, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspectExecutable } from '../../common/binary-format.js';
import { buildGoBinaries } from '../../release/go-build.js';
import { checkGoBinary } from '../../release/binary-checks.js';
import { loadMatrix } from '../../common/matrix.js';
import { FIXTURE_RELEASE_CONFIG_PATH } from '../../common/paths.js';
import { loadReleaseConfig } from '../../common/release-config.js';
import { stage, STAGE_FILE, type StageResult } from '../../release/stage.js';
import { FIXTURE_MAIN_PACKAGE, FIXTURE_SOURCE, FIXTURE_VERSION_VARIABLE, fixtureBinaries } from '../../rehearsal/fixture-binaries.js';
import { realRewriteBinary } from '../support/real-rewrite.js';
import { verify } from '../../release/verify.js';
import { shippedForTests, stageFixtureRelease } from '../../rehearsal/release-fixture.js';
import { ESBUILD, esbuildBinary } from '../support/third-party-go.js';
import { corruptedCopy, stageDirOf } from './staged-copy.js';

const ESBUILD_PACKAGES = Object.keys(ESBUILD.current.packages);

async function refusal(stageDir: string): Promise<string> {
  const err = await verify({ stageDir }).then(
    () => undefined,
    (e: Error) => e,
  );
  expect(err, 'verify should refuse').toBeDefined();
  return err!.message;
}

const binOf = (dir: string, exe = 'ao') => join(dir, 'bin', exe);

describe('verify refuses a broken release before it is published', () => {
  let staged: StageResult;
  const esbuild: Record<string, string> = {};
  beforeAll(async () => {
    staged = await stageFixtureRelease('0.10.0');
    for (const t of ESBUILD_PACKAGES) esbuild[t] = await esbuildBinary(t);
  });
  const dirOf = (name: string) => staged.packages.find((p) => p.name === name)!.dir;

  it('accepts the fixture release for all six targets, reading the tarballs', async () => {
    await expect(verify({ stageDir: stageDirOf(staged) })).resolves.toMatchObject({ version: '0.10.0', packages: 7 });
  });

  it('refuses a binary built for another CPU (swapped arm64 into the x64 slot)', async () => {
    const bad = await corruptedCopy(staged, '@aoagents/ao-linux-x64', (dir) => copyFile(binOf(dirOf('@aoagents/ao-linux-arm64')), binOf(dir)));
    const message = await refusal(bad);
    expect(message).toContain('@aoagents/ao-linux-x64: bin/ao is an ELF binary for arm64, expected CPU x64');
  });

  it('refuses a binary of the wrong format (PE in a darwin package)', async () => {
    const bad = await corruptedCopy(staged, '@aoagents/ao-darwin-x64', (dir) => copyFile(join(dirOf('@aoagents/ao-win32-x64'), 'bin', 'ao.exe'), binOf(dir)));
    expect(await refusal(bad)).toContain('@aoagents/ao-darwin-x64: bin/ao is a PE binary for x64, expected macho');
  });

  it('refuses a binary without the executable bit', async () => {
    const bad = await corruptedCopy(staged, '@aoagents/ao-darwin-arm64', (dir) => chmod(binOf(dir), 0o644));
    expect(await refusal(bad)).toContain('@aoagents/ao-darwin-arm64: bin/ao is not executable');
  });

  it('refuses a binary whose bytes differ from ao-manifest.json', async () => {
    const bad = await corruptedCopy(staged, '@aoagents/ao-win32-x64', (dir) => appendFile(binOf(dir, 'ao.exe'), 'x'));
    const message = await refusal(bad);
    expect(message).toMatch(/@aoagents\/ao-win32-x64: binary is \d+ bytes, ao-manifest.json says \d+/);
    expect(message).toContain('@aoagents/ao-win32-x64: binary hash does not match ao-manifest.json');
  });

  it('refuses a loose pin in the main package', async () => {
    const bad = await corruptedCopy(staged, '@aoagents/ao', async (dir) => {
      const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8'));
      pkg.optionalDependencies['@aoagents/ao-linux-arm64'] = '^0.10.0';
      await writeFile(join(dir, 'package.json'), JSON.stringify(pkg));
    });
    expect(await refusal(bad)).toContain('@aoagents/ao: optionalDependencies pins @aoagents/ao-linux-arm64 loosely ("^0.10.0")');
  });

  it('refuses install scripts, a wrong os/cpu, a missing preferUnplugged and a version mismatch', async () => {
    const bad = await corruptedCopy(staged, '@aoagents/ao-win32-arm64', async (dir) => {
      const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8'));
      Object.assign(pkg, { version: '0.10.1', os: ['linux'], cpu: ['arm64', 'x64'], scripts: { postinstall: 'node x.js' } });
      delete pkg.preferUnplugged;
      await writeFile(join(dir, 'package.json'), JSON.stringify(pkg));
    });
    const message = await refusal(bad);
    for (const reason of [
      'version 0.10.1 does not match the release version 0.10.0',
      '"os" is ["linux"], expected ["win32"]',
      '"cpu" is ["arm64","x64"], expected ["arm64"]',
      '"preferUnplugged" must be true',
      'has install scripts (postinstall)',
    ]) {
      expect(message).toContain(`@aoagents/ao-win32-arm64: ${reason}`);
    }
  });

  it('refuses a release missing a matrix target', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ao-stage-missing-'));
    await cp(stageDirOf(staged), dir, { recursive: true });
    const result = JSON.parse(await readFile(join(dir, STAGE_FILE), 'utf8')) as StageResult;
    result.packages = result.packages.filter((p) => p.target !== 'darwin-x64');
    await writeFile(join(dir, STAGE_FILE), JSON.stringify(result));
    expect(await refusal(dir)).toContain('@aoagents/ao-darwin-x64: target darwin-x64 from matrix.json is missing from the release');
  });

  it('refuses a tarball that changed after staging', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ao-stage-tampered-'));
    await cp(stageDirOf(staged), dir, { recursive: true });
    const result = JSON.parse((await readFile(join(dir, STAGE_FILE), 'utf8')).split(stageDirOf(staged)).join(dir)) as StageResult;
    await writeFile(join(dir, STAGE_FILE), JSON.stringify(result));
    const [first, second] = [result.packages[0]!, result.packages[1]!];
    await copyFile(first.tarball, second.tarball);
    expect(await refusal(dir)).toContain(`${second.name}: tarball ${second.tarball} changed after staging`);
  });

  it('classifies real esbuild binaries (third-party Go builds) by format and CPU', () => {
    expect(inspectExecutable(esbuild['linux-x64']!)).toEqual({ format: 'elf', cpus: ['x64'] });
    expect(inspectExecutable(esbuild['linux-arm64']!)).toEqual({ format: 'elf', cpus: ['arm64'] });
    expect(inspectExecutable(esbuild['darwin-arm64']!)).toEqual({ format: 'macho', cpus: ['arm64'] });
    expect(inspectExecutable(esbuild['win32-x64']!)).toEqual({ format: 'pe', cpus: ['x64'] });
  });

  it("refuses esbuild's linux-arm64 binary placed in the linux-x64 slot", async () => {
    const bad = await corruptedCopy(staged, '@aoagents/ao-linux-x64', (dir) => copyFile(esbuild['linux-arm64']!, binOf(dir)));
    expect(await refusal(bad)).toContain('@aoagents/ao-linux-x64: bin/ao is an ELF binary for arm64, expected CPU x64');
  });

  it('refuses a truncated binary: shorter than its headers declare', async () => {
    const bad = await corruptedCopy(staged, '@aoagents/ao-win32-x64', async (dir) =>
      truncate(binOf(dir, 'ao.exe'), (await stat(binOf(dir, 'ao.exe'))).size - 100_000),
    );
    expect(await refusal(bad)).toMatch(/@aoagents\/ao-win32-x64: bin\/ao\.exe is truncated: the file has \d+ bytes, its headers declare \d+/);
  });

  it('refuses the real 0.10.3 binary: unstamped, from a modified tree, another main package, not stripped', async () => {
    const bad = await corruptedCopy(staged, '@aoagents/ao-linux-x64', async (dir) => copyFile(await realRewriteBinary(), binOf(dir)));
    const message = await refusal(bad);
    for (const reason of [
      'bin/ao --version reports "dev", not the release version 0.10.0',
      'bin/ao was built from a modified tree (vcs.modified=true at c89414ddb8cf)',
      'bin/ao build info names main package github.com/aoagents/agent-orchestrator/backend/cmd/ao, the release config says example.invalid/ao-fixture/cmd/ao',
      'bin/ao is not stripped: 23.1 MB (23,078,286 bytes), about',
    ])
      expect(message).toContain(`@aoagents/ao-linux-x64: ${reason}`);
  }, 120_000);

  it("refuses esbuild's own linux-x64 binary: a Go program with another main package that reports another version", async () => {
    const bad = await corruptedCopy(staged, '@aoagents/ao-linux-x64', (dir) => copyFile(esbuild['linux-x64']!, binOf(dir)));
    const message = await refusal(bad);
    expect(message).toContain('@aoagents/ao-linux-x64: bin/ao build info names main package github.com/evanw/esbuild/cmd/esbuild');
    expect(message).toContain('@aoagents/ao-linux-x64: bin/ao --version reports "0.25.9", not the release version 0.10.0');
  });

  it('refuses a binary built with a Go older than the configured floor (esbuild 0.13.15, go1.17)', async () => {
    const old = await esbuildBinary('darwin-arm64', 'go117');
    const bad = await corruptedCopy(staged, '@aoagents/ao-darwin-arm64', (dir) => copyFile(old, binOf(dir)));
    expect(await refusal(bad)).toContain('@aoagents/ao-darwin-arm64: bin/ao was built with go1.17.2, older than the configured floor go1.19');
  });

  it('reads the version stamp of a build that records its -ldflags (no -trimpath), without running it', async () => {
    const target = loadMatrix().targets.find((t) => t.id === 'darwin-arm64')!;
    const build = async (version: string) => {
      const out = await mkdtemp(join(tmpdir(), 'ao-notrim-'));
      await buildGoBinaries({
        sourceDir: FIXTURE_SOURCE,
        mainPackage: FIXTURE_MAIN_PACKAGE,
        versionVariable: FIXTURE_VERSION_VARIABLE,
        version,
        targets: [target],
        outDir: out,
        vcs: false,
        trimpath: false,
      });
      return join(out, target.id, target.executable);
    };
    const config = loadReleaseConfig(FIXTURE_RELEASE_CONFIG_PATH);
    expect((await checkGoBinary(await build('0.10.0'), target, config)).facts.stampedVersion).toBe('0.10.0');
    const wrong = await build('0.10.9');
    const bad = await corruptedCopy(staged, '@aoagents/ao-darwin-arm64', (dir) => copyFile(wrong, binOf(dir)));
    expect(await refusal(bad)).toContain(
      '@aoagents/ao-darwin-arm64: bin/ao build info records -ldflags stamping example.invalid/ao-fixture/internal/cli.Version=0.10.9, the release expects 0.10.0',
    );
    // stage already refuses it, though this host cannot run a darwin binary
    const binaries = await mkdtemp(join(tmpdir(), 'ao-bins-'));
    await cp(await fixtureBinaries('0.10.0'), binaries, { recursive: true });
    await copyFile(wrong, join(binaries, 'darwin-arm64', 'ao'));
    const err = await stage({
      matrix: loadMatrix(),
      version: '0.10.0',
      binariesDir: binaries,
      outDir: await mkdtemp(join(tmpdir(), 'ao-stage-')),
      shippedDir: await shippedForTests(),
      config,
    }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toContain(`@aoagents/ao-darwin-arm64: ${join(binaries, 'darwin-arm64', 'ao')} is stamped 0.10.9 (build info -ldflags), not 0.10.0`);
  }, 120_000);

  describe('an unstripped build', () => {
    let unstripped: string;
    beforeAll(async () => {
      const target = loadMatrix().targets.find((t) => t.id === 'linux-x64')!;
      const out = await mkdtemp(join(tmpdir(), 'ao-unstripped-'));
      await buildGoBinaries({
        sourceDir: FIXTURE_SOURCE,
        mainPackage: FIXTURE_MAIN_PACKAGE,
        versionVariable: FIXTURE_VERSION_VARIABLE,
        version: '0.10.0',
        targets: [target],
        outDir: out,
        vcs: false,
        strip: false,
      });
      unstripped = join(out, 'linux-x64', 'ao');
    });

    it('is refused where the release config says unstripped: error, with the size stripping would give', async () => {
      const bad = await corruptedCopy(staged, '@aoagents/ao-linux-x64', (dir) => copyFile(unstripped, binOf(dir)));
      expect(await refusal(bad)).toMatch(
        /@aoagents\/ao-linux-x64: bin\/ao is not stripped: [\d.]+ MB \([\d,]+ bytes\), about [\d.]+ MB \([\d,]+ bytes\) with go build -ldflags "-s -w" \(the release config makes this an error\)/,
      );
    });

    it('is a warning in the report by default', async () => {
      const binaries = await mkdtemp(join(tmpdir(), 'ao-bins-'));
      await cp(await fixtureBinaries('0.10.0'), binaries, { recursive: true });
      await copyFile(unstripped, join(binaries, 'linux-x64', 'ao'));
      const config = loadReleaseConfig(FIXTURE_RELEASE_CONFIG_PATH);
      const warnOnly = { ...config, checks: { ...config.checks, unstripped: 'warn' as const } };
      const again = await stage({
        matrix: loadMatrix(),
        version: '0.10.0',
        binariesDir: binaries,
        outDir: await mkdtemp(join(tmpdir(), 'ao-stage-')),
        shippedDir: await shippedForTests(),
        config: warnOnly,
      });
      const report = await verify({ stageDir: stageDirOf(again) });
      expect(report.warnings).toEqual([{ package: '@aoagents/ao-linux-x64', reason: expect.stringMatching(/^bin\/ao is not stripped: /) }]);
      expect(report.binaries['linux-x64']!.strippedSize).toBeLessThan(report.binaries['linux-x64']!.size);
    });
  });
});
