import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadMatrix } from '../../common/matrix.js';
import { checkReleaseApp, releaseVersion, stage, STAGE_FILE } from '../../release/stage.js';
import { fixtureBinaries } from '../../rehearsal/fixture-binaries.js';
import { shippedForTests } from '../../rehearsal/release-fixture.js';

const matrix = loadMatrix();
const temp = (name: string) => mkdtemp(join(tmpdir(), `ao-stage-input-${name}-`));

describe('stage refuses bad input before it writes anything', () => {
  let binaries: string;
  let shipped: string;
  beforeAll(async () => {
    [binaries, shipped] = await Promise.all([fixtureBinaries('0.10.0'), shippedForTests()]);
  });
  const stageInto = (outDir: string, version = '0.10.0', binariesDir = binaries) => stage({ matrix, version, binariesDir, outDir, shippedDir: shipped });

  it.each(['banana', '../../evil', '0.10', '0.10.5 ', '0.10.5+build.7', '', '01.2.3'])('refuses the version %j, and no tarball is written', async (version) => {
    const out = join(await temp('version'), 'stage');
    const err = await stageInto(out, version).catch((e) => e);
    expect(err).toMatchObject({ code: 'EVERSION' });
    expect(err.fix).toMatch(/^ao-release stage --version \d+\.\d+\.\d+ /);
    expect(existsSync(out)).toBe(false);
  });

  it('a v-prefixed version is normalised once, with a notice; stage() itself takes only the exact form', async () => {
    expect(releaseVersion('v0.10.5')).toEqual({ version: '0.10.5', notice: 'version "v0.10.5" read as 0.10.5 (npm versions carry no "v")' });
    expect(releaseVersion('0.10.0-rc.1')).toEqual({ version: '0.10.0-rc.1' });
    expect(await stageInto(join(await temp('v'), 'stage'), 'v0.10.0').catch((e) => e.code)).toBe('EVERSION');
  });

  it('never wipes a folder that is not its own: files of someone else are left alone', async () => {
    const out = await temp('foreign');
    await writeFile(join(out, 'notes.txt'), 'keep me');
    const err = await stageInto(out).catch((e) => e);
    expect(err).toMatchObject({ code: 'ESTAGEOUT' });
    expect(err.why).toContain('holds files that are not a stage (notes.txt)');
    expect(readdirSync(out)).toEqual(['notes.txt']);
    expect(await readFile(join(out, 'notes.txt'), 'utf8')).toBe('keep me');
  });

  it('refuses --out equal to, inside, or holding the binaries folder', async () => {
    const copy = join(await temp('bins'), 'bins');
    await cp(binaries, copy, { recursive: true });
    const before = readdirSync(copy).sort();
    for (const out of [copy, join(copy, 'stage'), join(copy, '..')]) {
      const err = await stageInto(out, '0.10.0', copy).catch((e) => e);
      expect(err).toMatchObject({ code: 'ESTAGEOUT' });
      expect(err.why).toContain('the binaries folder');
    }
    expect(readdirSync(copy).sort()).toEqual(before);
  });

  it('restages into its own folder, keeping files it did not write', async () => {
    const out = join(await temp('own'), 'stage');
    await stageInto(out);
    await writeFile(join(out, 'release-notes.md'), 'mine');
    await mkdir(join(out, 'extra'));
    const again = await stageInto(out);
    expect(again.packages).toHaveLength(7);
    expect(await readFile(join(out, 'release-notes.md'), 'utf8')).toBe('mine');
    expect(existsSync(join(out, 'extra'))).toBe(true);
    expect(existsSync(join(out, STAGE_FILE))).toBe(true);
  });
});

describe('an app manifest is checked against the release', () => {
  // Targets without a desktop app (linux-arm64 and win32-arm64 in the real release) get no entry.
  const withApp = matrix.targets.filter((t) => t.app);
  const target = withApp[0]!;
  const entry = (t = target) => ({
    file: t.app!.file,
    format: t.app!.format,
    urls: [`https://dl.example/${t.app!.file}`],
    size: 10,
    integrity: `sha512-${'A'.repeat(86)}==`,
    unpackedSizeLimit: 100,
  });
  const full = () => ({ schema: 1, version: '0.10.0', targets: Object.fromEntries(withApp.map((t) => [t.id, entry(t)])) });

  it('accepts a manifest for this version naming every matrix target with its file and format', () => {
    expect(checkReleaseApp(full(), matrix, '0.10.0').version).toBe('0.10.0');
  });

  it('refuses an entry for a target the matrix gives no desktop app', () => {
    const bare = matrix.targets.find((t) => !t.app)!;
    const app = { ...full(), targets: { ...full().targets, [bare.id]: entry() } };
    expect(() => checkReleaseApp(app, matrix, '0.10.0')).toThrow(
      expect.objectContaining({ code: 'EAPPMANIFEST', why: expect.stringContaining(`matrix.json gives ${bare.id} no desktop app`) }),
    );
  });

  it.each([
    ['any JSON', { hello: 1 }, 'schema is undefined, expected 1'],
    ['another version', { ...full(), version: '0.9.9' }, 'it is for version 0.9.9, the release is 0.10.0'],
    ['a target not in the matrix', { ...full(), targets: { ...full().targets, 'plan9-x64': entry() } }, 'targets.plan9-x64 is not a target in matrix.json'],
    ['a missing target', { ...full(), targets: { [target.id]: entry() } }, `no artifact for ${withApp[1]!.id}`],
    [
      'another file name',
      { ...full(), targets: { ...full().targets, [target.id]: { ...entry(), file: 'other.zip' } } },
      `targets.${target.id}.file is "other.zip", matrix.json says "${target.app!.file}"`,
    ],
    [
      'another format',
      { ...full(), targets: { ...full().targets, [target.id]: { ...entry(), format: 'AppImage' } } },
      `targets.${target.id}.format is "AppImage", matrix.json says "${target.app!.format}"`,
    ],
  ])('refuses %s', (_name, app, why) => {
    expect(() => checkReleaseApp(app, matrix, '0.10.0')).toThrow(expect.objectContaining({ code: 'EAPPMANIFEST', why: expect.stringContaining(why) }));
  });
});
