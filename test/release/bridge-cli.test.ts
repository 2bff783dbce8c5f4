import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as tar from 'tar';
import { LEGACY_FIXTURE_DIR } from '../../release/bridge.js';
import { startEmbeddedRegistry, type EmbeddedRegistry } from '../../release/embedded-registry.js';
import { cliJson } from './run-cli.js';

const exec = promisify(execFile);

/** The package.json and file list inside a built bridge tarball. */
async function contents(tarball: string): Promise<{ pkg: any; files: string[] }> {
  const files: string[] = [];
  await tar.t({ file: tarball, onReadEntry: (e) => void files.push(e.path) });
  const dir = await mkdtemp(join(tmpdir(), 'ao-bridge-x-'));
  await tar.x({ file: tarball, cwd: dir });
  return { pkg: JSON.parse(await readFile(join(dir, 'package', 'package.json'), 'utf8')), files: files.sort() };
}

describe('ao-release bridge --legacy <folder or spec>', () => {
  let registry: EmbeddedRegistry;
  let legacyTarball: string;
  beforeAll(async () => {
    registry = await startEmbeddedRegistry();
    const dir = await mkdtemp(join(tmpdir(), 'ao-legacy-pack-'));
    const packed = await exec('npm', ['pack', LEGACY_FIXTURE_DIR, '--pack-destination', dir, '--json', '--loglevel=error']);
    legacyTarball = join(dir, JSON.parse(packed.stdout)[0].filename);
    await exec(
      'npm',
      ['publish', legacyTarball, '--registry', registry.url, `--${registry.url.replace(/^http:/, '')}:_authToken=${registry.authToken}`, '--loglevel=error'],
      { env: { ...process.env, npm_config_cache: join(dir, 'cache') } },
    );
  });
  afterAll(async () => registry?.stop());

  it.each([
    ['a folder', () => [LEGACY_FIXTURE_DIR]],
    ['a .tgz', () => [legacyTarball]],
    ['a registry spec', () => ['@aoagents/ao@0.9.5', '--registry', registry.url]],
  ])('builds the 0.9.6 bridge from %s of the legacy package', async (_name, source) => {
    const out = await mkdtemp(join(tmpdir(), 'ao-bridge-out-'));
    const [legacy, ...rest] = source();
    const { code, body } = await cliJson(['bridge', '--legacy', legacy!, ...rest, '--out', out]);
    expect(code).toBe(0);
    expect(body.result).toMatchObject({ version: '0.9.6', target: '0.10.0', from: '@aoagents/ao@0.9.5' });
    const { pkg, files } = await contents(body.result.tarball);
    expect(pkg).toMatchObject({ name: '@aoagents/ao', version: '0.9.6', aoCutoverTarget: '0.10.0', bin: { ao: 'bin/ao.js' } });
    expect(files).toContain('package/cutover/cutover.cjs');
    expect(files).toContain('package/bin/ao.js');
  });

  it('refuses what is not the legacy package: another package, a bridge, a version off the legacy line, a spec the registry lacks', async () => {
    const other = await mkdtemp(join(tmpdir(), 'ao-not-legacy-'));
    await writeFile(join(other, 'package.json'), JSON.stringify({ name: 'left-pad', version: '1.3.0' }));
    expect((await cliJson(['bridge', '--legacy', other])).body.error).toMatchObject({ code: 'EBRIDGE', why: 'it is left-pad, not @aoagents/ao' });
    const first = await cliJson(['bridge', '--legacy', LEGACY_FIXTURE_DIR, '--out', await mkdtemp(join(tmpdir(), 'ao-bridge-twice-'))]);
    expect((await cliJson(['bridge', '--legacy', first.body.result.dir])).body.error).toMatchObject({
      code: 'EBRIDGE',
      why: 'it is already a bridge (cutover to 0.10.0)',
    });
    expect((await cliJson(['bridge', '--legacy', LEGACY_FIXTURE_DIR, '--version', '0.10.1'])).body.error).toMatchObject({
      code: 'EBRIDGE',
      why: 'the bridge version "0.10.1" is not an exact version on the legacy line 0.9.x',
    });
    expect((await cliJson(['bridge', '--legacy', '@aoagents/ao@0.9.4', '--registry', registry.url])).body.error).toMatchObject({
      code: 'EBRIDGE',
      why: `@aoagents/ao@0.9.4 is not in ${registry.url}`,
    });
  });
});
