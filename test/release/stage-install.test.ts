import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import type { EmbeddedRegistry } from '../../release/embedded-registry.js';
import type { StageResult } from '../../release/stage.js';
import { createSandbox } from '../../rehearsal/sandbox.js';
import { registryWithRelease, stageFixtureRelease } from '../../rehearsal/release-fixture.js';

describe('staged packages installed from a real registry', () => {
  let registry: EmbeddedRegistry;
  let staged: StageResult;
  beforeAll(async () => {
    ({ registry, staged } = await registryWithRelease('0.10.0'));
  });
  afterAll(async () => registry?.stop());

  it('staging the same inputs twice gives byte-identical tarballs', async () => {
    const again = await stageFixtureRelease('0.10.0');
    expect(again.packages.map((p) => p.integrity)).toEqual(staged.packages.map((p) => p.integrity));
    for (const [i, p] of again.packages.entries()) expect(readFileSync(p.tarball).equals(readFileSync(staged.packages[i]!.tarball))).toBe(true);
  });

  it('pins every platform package exactly and records each binary hash', () => {
    const main = JSON.parse(readFileSync(join(staged.packages.at(-1)!.dir, 'package.json'), 'utf8'));
    expect(Object.values(main.optionalDependencies)).toEqual(Array(6).fill('0.10.0'));
    expect(Object.keys(staged.manifest.binaries).sort()).toEqual(['darwin-arm64', 'darwin-x64', 'linux-arm64', 'linux-x64', 'win32-arm64', 'win32-x64']);
    for (const b of Object.values(staged.manifest.binaries)) expect(b.integrity).toMatch(/^sha512-/);
  });

  it('a global npm install gives a working ao --version', () => {
    const sb = createSandbox({ registry: registry.url, name: 'npm-global' });
    try {
      execFileSync('npm', ['install', '-g', '@aoagents/ao@0.10.0'], { env: sb.env, stdio: 'pipe' });
      expect(execFileSync(join(sb.binDir, 'ao'), ['--version'], { env: sb.env }).toString()).toBe('ao version 0.10.0\n');
    } finally {
      sb.cleanup();
    }
  });

  it('a registry with the release leaves nothing in os.tmpdir() once it stops (the bench staged into a folder of its own and left it)', async () => {
    const temp = await mkdtemp(join(tmpdir(), 'ao-registry-release-'));
    const saved = process.env.TMPDIR;
    let started: EmbeddedRegistry | undefined;
    try {
      process.env.TMPDIR = temp;
      ({ registry: started } = await registryWithRelease('0.10.0'));
    } finally {
      process.env.TMPDIR = saved;
      await started?.stop();
    }
    expect(await readdir(temp)).toEqual([]);
  });
});
