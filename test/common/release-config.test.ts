import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FIXTURE_RELEASE_CONFIG_PATH, RELEASE_CONFIG_PATH } from '../../common/paths.js';
import { goVersionAtLeast, loadReleaseConfig, sourceRef, stampsFor, validateReleaseConfig } from '../../common/release-config.js';
import { verify } from '../../release/verify.js';
import { stageFixtureRelease } from '../../rehearsal/release-fixture.js';
import { corruptedCopy } from '../release/staged-copy.js';

describe('release config (release.json)', () => {
  it('the committed configs are valid and describe the rewrite and the fixture', () => {
    const real = loadReleaseConfig(RELEASE_CONFIG_PATH);
    expect(real.go.mainPath).toBe('github.com/aoagents/agent-orchestrator/backend/cmd/ao');
    expect(stampsFor(real, { version: '0.10.4', commit: 'abc', date: '2026-11-21T00:00:00Z' })).toEqual({
      'github.com/aoagents/agent-orchestrator/backend/internal/cli.Version': '0.10.4',
      'github.com/aoagents/agent-orchestrator/backend/internal/cli.Commit': 'abc',
      'github.com/aoagents/agent-orchestrator/backend/internal/cli.Date': '2026-11-21T00:00:00Z',
    });
    expect(sourceRef(real, '0.10.4')).toBe('v0.10.4');
    expect(loadReleaseConfig(FIXTURE_RELEASE_CONFIG_PATH).go.stamp.version).toBe('example.invalid/ao-fixture/internal/cli.Version');
  });

  it('lists every problem of a bad config in one error', () => {
    const bad = JSON.parse(readFileSync(RELEASE_CONFIG_PATH, 'utf8'));
    bad.checks.unstripped = 'ignore';
    delete bad.package.repository;
    bad.go.mainPath = 'example.invalid/x/cmd/other';
    expect(() => validateReleaseConfig(bad)).toThrow(
      /field "checks.unstripped" must be equal to one of the allowed values.*field "package" must have required property 'repository'/,
    );
    const meaning = JSON.parse(readFileSync(RELEASE_CONFIG_PATH, 'utf8'));
    meaning.go.mainPath = 'example.invalid/x/cmd/other';
    expect(() => validateReleaseConfig(meaning)).toThrow('go.mainPath example.invalid/x/cmd/other does not end with source.mainPackage ./cmd/ao');
  });

  it('compares Go toolchain versions with the floor', () => {
    expect(goVersionAtLeast('go1.25.7', '1.25')).toBe(true);
    expect(goVersionAtLeast('go1.24.9', '1.25')).toBe(false);
    expect(goVersionAtLeast('go1.19.8', '1.19')).toBe(true);
    expect(goVersionAtLeast('go1.17.2', '1.19')).toBe(false);
    expect(goVersionAtLeast('go1.25rc1', '1.25.1')).toBe(false);
  });

  it('every staged package.json carries repository, homepage, bugs and license; verify refuses one without repository', async () => {
    const staged = await stageFixtureRelease('0.10.0');
    const config = loadReleaseConfig(FIXTURE_RELEASE_CONFIG_PATH);
    for (const p of staged.packages) {
      const pkg = JSON.parse(readFileSync(join(p.dir, 'package.json'), 'utf8'));
      expect(pkg, p.name).toMatchObject({
        repository: config.package.repository,
        homepage: config.package.homepage,
        bugs: { url: config.package.bugs },
        license: config.package.license,
      });
    }
    const bad = await corruptedCopy(staged, '@aoagents/ao', async (dir) => {
      const file = join(dir, 'package.json');
      const pkg = JSON.parse(readFileSync(file, 'utf8'));
      delete pkg.repository;
      await writeFile(file, JSON.stringify(pkg));
    });
    await expect(verify({ stageDir: bad })).rejects.toThrow(
      '@aoagents/ao: package.json "repository" is null, the release config says {"type":"git","url":"git+https://github.com/aoagents/agent-orchestrator.git"}',
    );
  });
});
