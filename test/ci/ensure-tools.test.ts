import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../common/paths.js';

/**
 * `.ci/run` judges a skip by the machine as it is at the end (scripts/count-results.mjs), after the foreign lane has
 * installed qemu-user-static: on a fresh machine the main lane's linux-arm64 test had been skipped for want of qemu, then
 * counted as a skip this machine does not expect, and CI failed. The main lane installs what its tests look for first.
 */
describe('what npm test installs before its tests', () => {
  const scripts = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).scripts as Record<string, string>;

  it('Go and qemu-user-static for `npm test`, Go for the rehearsal and the foreign lane, before anything else runs', () => {
    expect(scripts.test).toMatch(/^node scripts\/ensure-tools\.mjs go qemu && /);
    expect(scripts.rehearse).toMatch(/^node scripts\/ensure-tools\.mjs go && /);
    expect(scripts['test:foreign']).toMatch(/^node scripts\/ensure-tools\.mjs go && /);
  });

  it('a tool it does not know is refused, not passed over', () => {
    const r = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts', 'ensure-tools.mjs'), 'go', 'qmeu'], { encoding: 'utf8' });
    expect([r.status, r.stderr.trim().split('\n').pop()]).toEqual([2, 'ao-toolkit: ensure-tools: unknown tool qmeu (it knows go and qemu)']);
  });
});
