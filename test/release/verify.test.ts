import { beforeAll, describe, expect, it } from 'vitest';
import { chmod, copyFile, readFile, writeFile, appendFile, cp, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspectExecutable } from '../../common/binary-format.js';
import { STAGE_FILE, type StageResult } from '../../release/stage.js';
import { verify } from '../../release/verify.js';
import { stageFixtureRelease } from '../support/release-fixture.js';
import { ESBUILD, esbuildBinary } from '../support/third-party-go.js';
import { corruptedCopy, stageDirOf } from './staged-copy.js';

const ESBUILD_PACKAGES = Object.keys(ESBUILD.current.packages);

async function refusal(stageDir: string): Promise<string> {
  const err = await verify({ stageDir }).then(() => undefined, (e: Error) => e);
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
    for (const reason of ['version 0.10.1 does not match the release version 0.10.0', '"os" is ["linux"], expected ["win32"]', '"cpu" is ["arm64","x64"], expected ["arm64"]', '"preferUnplugged" must be true', 'has install scripts (postinstall)']) {
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
    await copyFile(result.packages[0].tarball, result.packages[1].tarball);
    expect(await refusal(dir)).toContain(`${result.packages[1].name}: tarball ${result.packages[1].tarball} changed after staging`);
  });

  it('classifies real esbuild binaries (third-party Go builds) by format and CPU', () => {
    expect(inspectExecutable(esbuild['linux-x64'])).toEqual({ format: 'elf', cpus: ['x64'] });
    expect(inspectExecutable(esbuild['linux-arm64'])).toEqual({ format: 'elf', cpus: ['arm64'] });
    expect(inspectExecutable(esbuild['darwin-arm64'])).toEqual({ format: 'macho', cpus: ['arm64'] });
    expect(inspectExecutable(esbuild['win32-x64'])).toEqual({ format: 'pe', cpus: ['x64'] });
  });

  it("refuses esbuild's linux-arm64 binary placed in the linux-x64 slot", async () => {
    const bad = await corruptedCopy(staged, '@aoagents/ao-linux-x64', (dir) => copyFile(esbuild['linux-arm64'], binOf(dir)));
    expect(await refusal(bad)).toContain('@aoagents/ao-linux-x64: bin/ao is an ELF binary for arm64, expected CPU x64');
  });
});
