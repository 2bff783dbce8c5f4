import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { AoManifest } from '../../postinstall/manifest.js';
import { startEmbeddedRegistry, type EmbeddedRegistry } from '../../release/embedded-registry.js';
import { publishRealRewriteRelease, type RealRelease } from '../../rehearsal/real-release.js';
import { isElf, isNodeScript, mustRun, run } from '../postinstall/install-support.js';
import { shippedForTests } from '../support/release-fixture.js';
import { canRunRealRewrite, REAL_REWRITE } from '../support/real-rewrite.js';
import { createSandbox, type Sandbox } from '../support/sandbox.js';

const globalPkg = (sb: Sandbox) => join(sb.prefix, 'lib', 'node_modules', '@aoagents', 'ao');

/** What a person sees from the three commands, and which file answered. */
function threeCommands(ao: string, env: NodeJS.ProcessEnv): { version: string; dashVersion: string; doctor: { ok: boolean; checks: Array<{ name: string; level: string; message: string }> } } {
  const version = mustRun(ao, ['version'], env).stdout;
  const dashVersion = mustRun(ao, ['--version'], env).stdout;
  const doctor = run(ao, ['doctor', '--json'], env);
  return { version, dashVersion, doctor: JSON.parse(doctor.stdout) };
}

describe.runIf(canRunRealRewrite)('the real rewrite binary released through our packages (with the recorded override)', () => {
  let registry: EmbeddedRegistry;
  let release: RealRelease;
  const sandboxes: Sandbox[] = [];
  const sandbox = (name: string) => {
    const sb = createSandbox({ registry: registry.url, name });
    sandboxes.push(sb);
    return sb;
  };
  beforeAll(async () => {
    registry = await startEmbeddedRegistry();
    release = await publishRealRewriteRelease({ registry: { url: registry.url, token: registry.authToken }, shippedDir: await shippedForTests() });
  }, 300_000);
  afterAll(async () => {
    for (const sb of sandboxes) sb.cleanup();
    await registry?.stop();
  });

  it('publishes @aoagents/ao@0.10.3 and its linux-x64 package under the staging tag, the override in the manifest', () => {
    expect(release.spec).toBe('@aoagents/ao@0.10.3');
    expect(release.record.tag).toBe('staging-0.10.3');
    expect(release.record.verified).toBe(true);
    expect(release.record.packages.map((p) => p.name)).toEqual(['@aoagents/ao-linux-x64', '@aoagents/ao']);
    const manifest = JSON.parse(readFileSync(join(release.staged.packages.at(-1)!.dir, 'ao-manifest.json'), 'utf8')) as AoManifest;
    expect(manifest.override).toEqual({ allowUnstamped: 'dev' });
    expect(manifest.binaries['linux-x64']).toMatchObject({ reportsVersion: 'dev', size: REAL_REWRITE.binarySize });
  });

  it('a normal npm install -g swaps the real binary in; ao version, --version and doctor --json answer from it', () => {
    const sb = sandbox('real-npm');
    mustRun('npm', ['install', '-g', release.spec], sb.env);
    const ao = join(sb.binDir, 'ao');
    expect(isElf(realpathSync(ao))).toBe(true);
    expect(statSync(realpathSync(ao)).size).toBe(REAL_REWRITE.binarySize);
    const out = threeCommands(ao, sb.env);
    expect(out.version).toBe('dev\n');
    expect(out.dashVersion).toBe('ao version dev\n');
    expect(out.doctor.checks.find((c) => c.name === 'data-dir')?.message).toBe(join(sb.home, '.ao', 'data'));
  });

  it('with --ignore-scripts, our launcher verifies the real binary and runs the same three commands through it', () => {
    const sb = sandbox('real-noscripts');
    mustRun('npm', ['install', '-g', release.spec, '--ignore-scripts'], sb.env);
    const launcher = join(globalPkg(sb), 'bin', 'ao');
    expect(isNodeScript(launcher)).toBe(true);
    // A copy beside it stays the launcher after the first run swaps bin/ao for the binary.
    const keptLauncher = join(globalPkg(sb), 'bin', 'ao-launcher');
    copyFileSync(launcher, keptLauncher);
    const out = threeCommands(keptLauncher, sb.env);
    expect(isNodeScript(keptLauncher)).toBe(true);
    expect(out.version).toBe('dev\n');
    expect(out.dashVersion).toBe('ao version dev\n');
    expect(out.doctor.checks.find((c) => c.name === 'data-dir')?.message).toBe(join(sb.home, '.ao', 'data'));
  });
});
