import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { checkBinary } from '../../postinstall/verify.js';
import type { EmbeddedRegistry } from '../../release/embedded-registry.js';
import { cachedBinaryPath, integrityHex } from '../../postinstall/locations.js';
import { createSandbox, type Sandbox } from '../../rehearsal/sandbox.js';
import { hostFixtureBinary } from '../../rehearsal/fixture-binaries.js';
import { publishPlain, stageFixtureRelease } from '../../rehearsal/release-fixture.js';
import { startEmbeddedRegistry } from '../../release/embedded-registry.js';
import { expectExactPassThrough, isElf, isNodeScript, mustRun, run, useReleaseRegistry } from '../postinstall/install-support.js';

const execFileAsync = promisify(execFile);
const SPEC = '@aoagents/ao@0.10.0';
const globalPkg = (sb: Sandbox) => join(sb.prefix, 'lib', 'node_modules', '@aoagents', 'ao');
/** A dir the launcher cannot rename into, also for root (which ignores modes): immutable, else mode 0555. */
function makeReadOnly(dir: string): () => void {
  if (process.getuid?.() === 0) {
    execFileSync('chattr', ['+i', dir]);
    return () => execFileSync('chattr', ['-i', dir]);
  }
  chmodSync(dir, 0o555);
  return () => chmodSync(dir, 0o755);
}
const platformBinary = (sb: Sandbox) => join(globalPkg(sb), 'node_modules', '@aoagents', 'ao-linux-x64', 'bin', 'ao');

describe('npm global installs from the registry', () => {
  const release = useReleaseRegistry();
  const sandbox = (name: string) => release.sandbox(name);

  it('with defaults, the postinstall verifies the binary and swaps it in for the launcher', async () => {
    const sb = sandbox('npm-default');
    mustRun('npm', ['install', '-g', SPEC], sb.env);
    const ao = join(sb.binDir, 'ao');
    expect(realpathSync(ao)).toBe(join(globalPkg(sb), 'bin', 'ao'));
    expect(isElf(ao)).toBe(true);
    expect(mustRun(ao, ['--version'], sb.env).stdout).toBe('ao version 0.10.0\n');
    await expectExactPassThrough(ao, sb.env);
  });

  it('with --ignore-scripts, the first ao call verifies the binary, then swaps it in for the launcher', async () => {
    const sb = sandbox('npm-noscripts');
    mustRun('npm', ['install', '-g', SPEC, '--ignore-scripts'], sb.env);
    const ao = join(sb.binDir, 'ao');
    const inPackage = join(globalPkg(sb), 'bin', 'ao');
    expect(isNodeScript(ao)).toBe(true);
    const stamps = join(sb.home, '.cache', 'ao', 'verified');
    expect(existsSync(stamps)).toBe(false);
    const first = mustRun(ao, ['--version'], sb.env);
    expect(first.stdout).toBe('ao version 0.10.0\n');
    expect(first.stderr).toBe('');
    expect(readdirSync(stamps)).toHaveLength(1);
    // Later calls run the release's binary directly, through npm's unchanged symlink.
    expect(realpathSync(ao)).toBe(inPackage);
    expect(isElf(inPackage)).toBe(true);
    expect(checkBinary(inPackage, release.manifest.binaries['linux-x64'])).toBeUndefined();
    expect(readdirSync(join(globalPkg(sb), 'bin'))).toEqual(['ao']);
    expect(mustRun(ao, ['--version'], sb.env).stdout).toBe('ao version 0.10.0\n');
    await expectExactPassThrough(ao, sb.env);
  });

  it('with --ignore-scripts and a read-only package dir, the launcher stays, works, and refuses an altered binary', async () => {
    const sb = sandbox('npm-readonly');
    mustRun('npm', ['install', '-g', SPEC, '--ignore-scripts'], sb.env);
    const ao = join(sb.binDir, 'ao');
    const binDir = join(globalPkg(sb), 'bin');
    const undo = makeReadOnly(binDir);
    try {
      for (let i = 0; i < 3; i++) {
        const r = mustRun(ao, ['--version'], sb.env);
        expect(r.stdout).toBe('ao version 0.10.0\n');
        expect(r.stderr).toBe('');
      }
      expect(isNodeScript(join(binDir, 'ao'))).toBe(true);
      expect(readdirSync(binDir)).toEqual(['ao']);
      expect(run(ao, ['fixture', 'exit', '42'], sb.env).status).toBe(42);

      // Same size, one byte changed: the stamp no longer matches and the hash check refuses it.
      const bin = platformBinary(sb);
      const bytes = readFileSync(bin);
      bytes[bytes.length - 100] ^= 0xff;
      writeFileSync(bin, bytes);
      const r = run(ao, ['fixture', 'args', 'ran'], sb.env);
      expect(r.status).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain('refusing to run');
      expect(r.stderr).toContain('reinstall');
      expect(r.stderr).not.toMatch(/\n\s+at /);
    } finally {
      undo();
    }

    // The postinstall refuses it too, and fails the rebuild rather than install it.
    const rebuild = run('npm', ['rebuild', '-g', '@aoagents/ao', '--foreground-scripts'], sb.env);
    expect(rebuild.status).not.toBe(0);
    expect(rebuild.stdout + rebuild.stderr).toContain('refusing @aoagents/ao-linux-x64@0.10.0');
  });

  // npm 11 ignores --omit=optional for global installs, so the omitted case is a project install.
  const project = (sb: Sandbox) => {
    const dir = join(sb.root, 'project');
    mkdirSync(dir);
    writeFileSync(join(dir, 'package.json'), '{"name":"p","version":"1.0.0","private":true}\n');
    return dir;
  };

  it('with --omit=optional, the postinstall fetches the platform package through npm config and ao works', async () => {
    const sb = sandbox('npm-omit');
    const dir = project(sb);
    mustRun('npm', ['install', SPEC, '--omit=optional', '--prefix', dir], sb.env, { cwd: dir });
    expect(existsSync(join(dir, 'node_modules', '@aoagents', 'ao-linux-x64'))).toBe(false);
    const cached = cachedBinaryPath(release.manifest.binaries['linux-x64'], join(sb.home, '.cache', 'ao'));
    expect(cached).toContain(integrityHex(release.manifest.binaries['linux-x64'].integrity).slice(0, 32));
    expect(isElf(cached)).toBe(true);
    const ao = join(dir, 'node_modules', '.bin', 'ao');
    expect(isElf(ao)).toBe(true);
    expect(mustRun(ao, ['--version'], sb.env).stdout).toBe('ao version 0.10.0\n');

    // Two postinstalls at once (say, two projects installing together) each fetch and swap; neither corrupts the other.
    rmSync(join(sb.home, '.cache', 'ao'), { recursive: true, force: true });
    const pkgDir = join(dir, 'node_modules', '@aoagents', 'ao');
    const env = { ...sb.env, npm_config_user_agent: 'npm/11 node/v20 linux x64', INIT_CWD: dir };
    const both = await Promise.all([1, 2].map(() => execFileAsync(process.execPath, ['lib/postinstall.cjs'], { cwd: pkgDir, env })));
    expect(both.map((r) => r.stderr).join('')).toContain('verified and installed');
    expect(checkBinary(cached, release.manifest.binaries['linux-x64'])).toBeUndefined();
    expect(mustRun(ao, ['--version'], sb.env).stdout).toBe('ao version 0.10.0\n');
    expect(readdirSync(join(sb.home, '.cache', 'ao', 'tmp'))).toEqual([]);
  });

  it('with --ignore-scripts --omit=optional, ao names the fix instead of failing obscurely', async () => {
    const sb = sandbox('npm-nothing');
    const dir = project(sb);
    mustRun('npm', ['install', SPEC, '--omit=optional', '--ignore-scripts', '--prefix', dir], sb.env, { cwd: dir });
    const r = run(join(dir, 'node_modules', '.bin', 'ao'), ['--version'], sb.env, { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('@aoagents/ao-linux-x64@0.10.0 is not installed');
    expect(r.stderr).toContain('npm install --include=optional');
    expect(r.stderr).toContain('npm rebuild @aoagents/ao');
    expect(r.stderr).not.toMatch(/\n\s+at /);

    // AO_BINARY_PATH wins over everything, with a notice; a wrong one is named, not spawned.
    const own = await hostFixtureBinary('0.10.0');
    const viaOverride = run(join(dir, 'node_modules', '.bin', 'ao'), ['fixture', 'exit', '42'], { ...sb.env, AO_BINARY_PATH: own });
    expect(viaOverride.status).toBe(42);
    expect(viaOverride.stderr).toBe(`ao: using AO_BINARY_PATH=${own} (not verified)\n`);
    const wrong = run(join(dir, 'node_modules', '.bin', 'ao'), ['--version'], { ...sb.env, AO_BINARY_PATH: join(dir, 'nope') });
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toContain(`AO_BINARY_PATH=${join(dir, 'nope')} cannot be run`);
  });
});

describe('a registry serving an altered platform package', () => {
  let registry: EmbeddedRegistry;
  let sb: Sandbox;
  beforeAll(async () => {
    registry = await startEmbeddedRegistry();
    const staged = await stageFixtureRelease('0.10.0');
    // Same package name and version, one byte of the binary changed, repacked: its tarball integrity is
    // self-consistent in the registry, so only the manifest's binary hash can catch it.
    const platform = staged.packages.find((p) => p.name === '@aoagents/ao-linux-x64')!;
    const bin = join(platform.dir, 'bin', 'ao');
    const bytes = readFileSync(bin);
    bytes[bytes.length - 100] ^= 0xff;
    writeFileSync(bin, bytes);
    const packed = await execFileAsync('npm', ['pack', platform.dir, '--pack-destination', join(platform.dir, '..'), '--json'], { env: process.env });
    platform.tarball = join(platform.dir, '..', (JSON.parse(packed.stdout) as Array<{ filename: string }>)[0].filename);
    await publishPlain(registry, staged);
    sb = createSandbox({ registry: registry.url, name: 'npm-tampered' });
  });
  afterAll(async () => {
    sb?.cleanup();
    await registry?.stop();
  });

  it('the fallback fetch refuses it, installs nothing, and ao says what to run', async () => {
    const dir = join(sb.root, 'project');
    mkdirSync(dir);
    writeFileSync(join(dir, 'package.json'), '{"name":"p","version":"1.0.0","private":true}\n');
    const install = mustRun('npm', ['install', SPEC, '--omit=optional', '--foreground-scripts', '--prefix', dir], sb.env, { cwd: dir });
    expect(install.stdout + install.stderr).toContain('refusing @aoagents/ao-linux-x64@0.10.0 from the registry');
    expect(existsSync(join(sb.home, '.cache', 'ao', 'bin'))).toBe(false);
    const ao = join(dir, 'node_modules', '.bin', 'ao');
    expect(isNodeScript(ao)).toBe(true);
    const r = run(ao, ['--version'], sb.env, { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('--include=optional');
  });

  it('installed as an optional dependency, the postinstall fails the install and the launcher refuses to run it', () => {
    const global = createSandbox({ registry: registry.url, name: 'npm-tampered-global' });
    try {
      const r = run('npm', ['install', '-g', SPEC], global.env);
      expect(r.status).not.toBe(0);
      expect(r.stdout + r.stderr).toContain('refusing @aoagents/ao-linux-x64@0.10.0');
      mustRun('npm', ['install', '-g', SPEC, '--ignore-scripts'], global.env);
      const ran = run(join(global.binDir, 'ao'), ['--version'], global.env);
      expect(ran.status).toBe(1);
      expect(ran.stdout).toBe('');
      expect(ran.stderr).toContain('refusing to run');
    } finally {
      global.cleanup();
    }
  });
});
