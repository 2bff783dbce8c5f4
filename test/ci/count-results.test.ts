import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../common/paths.js';

/** scripts/count-results.mjs on a vitest JSON report: the line .ci/run ends with, and its exit code. */
function count(assertions: Array<{ title: string; status: string }>, skips: unknown[]): { line: string; code: number | null; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ao-count-'));
  const report = {
    numPassedTests: assertions.filter((a) => a.status === 'passed').length,
    numFailedTests: assertions.filter((a) => a.status === 'failed').length,
    testResults: [{ name: join(REPO_ROOT, 'test/x.test.ts'), status: 'passed', assertionResults: assertions.map((a) => ({ ...a, fullName: a.title })) }],
  };
  writeFileSync(join(dir, 'r.json'), JSON.stringify(report));
  writeFileSync(join(dir, 'skips.json'), JSON.stringify({ skips }));
  const r = spawnSync(process.execPath, ['scripts/count-results.mjs', join(dir, 'r.json'), '--allow', join(dir, 'skips.json')], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  return { line: r.stdout.trim(), code: r.status, stderr: r.stderr };
}

describe('scripts/count-results.mjs', () => {
  it('ends with "N passed, N failed, N skipped" and exits 0 when all ran', () => {
    expect(count([{ title: 'a', status: 'passed' }], [])).toMatchObject({ line: '1 passed, 0 failed, 0 skipped', code: 0 });
  });

  it('fails the run when a test was skipped that the allow-list does not expect on this machine', () => {
    const r = count(
      [
        { title: 'a', status: 'passed' },
        { title: 'needs root', status: 'skipped' },
      ],
      [],
    );
    expect(r).toMatchObject({ line: '1 passed, 0 failed, 1 skipped', code: 1 });
    expect(r.stderr).toContain('skipped, NOT expected on this machine: test/x.test.ts > needs root');
  });

  it('an allow-list entry excuses a skip only when its condition holds on this machine (an unknown condition never does)', () => {
    const r = count(
      [
        { title: 'a', status: 'passed' },
        { title: 'mounts a tmpfs', status: 'skipped' },
      ],
      [{ file: 'test/x.test.ts', test: 'tmpfs', when: 'on-a-full-moon', reason: 'why' }],
    );
    expect(r.code).toBe(1);
  });

  it('a failed test fails the run', () => {
    expect(count([{ title: 'a', status: 'failed' }], [])).toMatchObject({ line: '0 passed, 1 failed, 0 skipped', code: 1 });
  });

  it('sums several reports (the main suite and the foreign lane), and a missing one counts as a failure', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ao-count-'));
    const one = { numPassedTests: 2, numFailedTests: 0, testResults: [] };
    writeFileSync(join(dir, 'a.json'), JSON.stringify(one));
    writeFileSync(join(dir, 'b.json'), JSON.stringify(one));
    const both = spawnSync(process.execPath, ['scripts/count-results.mjs', join(dir, 'a.json'), join(dir, 'b.json')], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect([both.stdout.trim(), both.status]).toEqual(['4 passed, 0 failed, 0 skipped', 0]);
    const missing = spawnSync(process.execPath, ['scripts/count-results.mjs', join(dir, 'a.json'), join(dir, 'gone.json')], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    });
    expect([missing.stdout.trim(), missing.status]).toEqual(['2 passed, 1 failed, 0 skipped', 1]);
  });
});
