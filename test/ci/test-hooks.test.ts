import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../common/paths.js';
import { bundleCutover } from '../../release/bridge.js';

interface ShippedModule {
  TEST_HOOK_VARIABLES: string[];
  RELEASE_TOOL_TEST_HOOKS: string[];
  bundleShipped: (outDir: string, root: string, options?: { testHooks?: boolean }) => Promise<void>;
}

/** The environment variables only tests act on are compiled out of what ships, and into what tests build. */
describe('test hooks and the shipped bundles', () => {
  let shipped: ShippedModule;
  const bundles = (dir: string) => readdirSync(dir).map((f) => ({ file: f, text: readFileSync(join(dir, f), 'utf8') }));
  let releaseDir: string;
  let testDir: string;

  beforeAll(async () => {
    shipped = (await import(join(REPO_ROOT, 'scripts', 'shipped.mjs'))) as ShippedModule;
    releaseDir = mkdtempSync(join(tmpdir(), 'ao-shipped-release-'));
    testDir = mkdtempSync(join(tmpdir(), 'ao-shipped-test-'));
    await shipped.bundleShipped(releaseDir, REPO_ROOT);
    await bundleCutover(join(releaseDir, 'cutover.cjs'), '0.10.0');
    await shipped.bundleShipped(testDir, REPO_ROOT, { testHooks: true });
    await bundleCutover(join(testDir, 'cutover.cjs'), '0.10.0', true);
  });

  it('every test-only variable product code reads is listed (AO_*CRASH*, AO_*CHECKPOINT*)', () => {
    const read = execFileSync('git', ['grep', '-ohE', 'AO_[A-Z_]*(CRASH|CHECKPOINT)[A-Z_]*', '--', 'common', 'postinstall', 'installer', 'release'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    });
    expect([...new Set(read.trim().split('\n'))].sort()).toEqual([...shipped.TEST_HOOK_VARIABLES].sort());
  });

  it("no shipped bundle (launcher, postinstall, ao-app, ao-legacy-import, the bridge's cutover) names a test hook", () => {
    const found = bundles(releaseDir).flatMap(({ file, text }) => shipped.TEST_HOOK_VARIABLES.filter((v) => text.includes(v)).map((v) => `${file}: ${v}`));
    expect(bundles(releaseDir).length).toBeGreaterThanOrEqual(6);
    expect(found).toEqual([]);
  });

  it('the bundles tests build have them (the same bundler, with testHooks)', () => {
    const all = bundles(testDir)
      .map((b) => b.text)
      .join('\n');
    for (const v of shipped.TEST_HOOK_VARIABLES.filter((v) => !shipped.RELEASE_TOOL_TEST_HOOKS.includes(v))) expect(all).toContain(v);
  });
});
