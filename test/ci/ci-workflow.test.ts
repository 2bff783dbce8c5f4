import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import semver from 'semver';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadMatrix } from '../../common/matrix.js';
import { REPO_ROOT } from '../../common/paths.js';
import { ACTIONS } from '../../release/workflow.js';

/** .github/workflows/ci.yml cannot run here; this reads it and holds it to matrix.json, engines and the release's action pins. */
const WORKFLOW = join(REPO_ROOT, '.github', 'workflows', 'ci.yml');
const RUNNER_OF_OS: Record<string, string> = { linux: 'ubuntu-latest', darwin: 'macos-latest', win32: 'windows-latest' };
/** The host each runner label stands for, as npm sees it (macos-latest is Apple silicon). */
const HOST_OF_RUNNER: Record<string, { os: string; cpu: string; libc?: string }> = {
  'ubuntu-latest': { os: 'linux', cpu: 'x64', libc: 'glibc' },
  'macos-latest': { os: 'darwin', cpu: 'arm64' },
  'windows-latest': { os: 'win32', cpu: 'x64' },
};
/** npm's own platform check (what `npm ci` runs on every package that is not optional; EBADPLATFORM when it throws). */
const { checkPlatform } = createRequire(import.meta.url)('npm-install-checks') as {
  checkPlatform: (pkg: { os?: string | string[]; cpu?: string | string[]; libc?: string | string[] }, force: boolean, host: object) => void;
};

interface LockedPackage {
  os?: string | string[];
  cpu?: string | string[];
  libc?: string | string[];
  optional?: boolean;
}

interface Job {
  'runs-on': string;
  strategy: { matrix: { os: string[]; node: string[] } };
  steps: Array<{ uses?: string; run?: string }>;
}

describe('.github/workflows/ci.yml', () => {
  const workflow = parse(readFileSync(WORKFLOW, 'utf8')) as { jobs: Record<string, Job> };
  const jobs = Object.values(workflow.jobs);
  const engines = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;

  it('every job runs on a runner for each OS matrix.json releases for, and no other', () => {
    const oses = [...new Set(loadMatrix().targets.map((t) => t.os))].map((os) => RUNNER_OF_OS[os]).sort();
    for (const job of jobs) {
      expect(job['runs-on']).toBe('${{ matrix.os }}');
      expect([...job.strategy.matrix.os].sort()).toEqual(oses);
    }
  });

  it('every job runs each Node major that engines admits, from its floor to 24', () => {
    const floor = semver.minVersion(engines)!.major;
    const majors = Array.from({ length: 24 - floor + 1 }, (_, i) => floor + i).filter((m) => m % 2 === 0 && semver.intersects(`${m}.x`, engines));
    for (const job of jobs) expect(job.strategy.matrix.node.map(Number)).toEqual(majors);
  });

  it('runs lint, typecheck, the unit tests and the install journeys', () => {
    const runs = jobs.flatMap((j) => j.steps.map((s) => s.run ?? ''));
    for (const want of ['npm ci', 'npm run lint', 'npm run typecheck', 'npm run test:unit']) expect(runs).toContain(want);
    expect(runs.join('\n')).toMatch(/vitest run test\/e2e\/install-npm\.test\.ts test\/e2e\/install-managers\.test\.ts test\/e2e\/install-platforms\.test\.ts/);
  });

  it('pins every action by SHA, with the same pins as the release workflow', () => {
    const pinned = new Set<string>(Object.values(ACTIONS).map((a) => a.uses));
    const uses = jobs.flatMap((j) => j.steps.flatMap((s) => (s.uses ? [s.uses] : [])));
    expect(uses.length).toBeGreaterThan(0);
    for (const u of uses) {
      expect(u).toMatch(/@[0-9a-f]{40}$/);
      expect(pinned.has(u)).toBe(true);
    }
  });

  it('npm ci installs on every runner: a package limited to some os/cpu that excludes one is only ever optional', () => {
    const locked = (JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockedPackage> }).packages;
    const runners = [...new Set(jobs.flatMap((j) => j.strategy.matrix.os))];
    const refused: string[] = [];
    for (const runner of runners) {
      const host = HOST_OF_RUNNER[runner];
      expect(host, runner).toBeDefined();
      for (const [path, pkg] of Object.entries(locked)) {
        if (pkg.optional) continue;
        try {
          checkPlatform(pkg, false, host!);
        } catch {
          refused.push(`${path} on ${runner}`);
        }
      }
    }
    expect(refused).toEqual([]);
  });

  it('is a valid GitHub Actions workflow (action-validator)', () => {
    const r = spawnSync(join(REPO_ROOT, 'node_modules', '.bin', 'action-validator'), [WORKFLOW], { encoding: 'utf8' });
    expect(`${r.stdout}${r.stderr}`).toBe('');
    expect(r.status).toBe(0);
  });
});
