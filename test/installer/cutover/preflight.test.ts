import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dryRunChecks } from '../../../installer/cutover/plan.js';
import { checkDiskSpace, checkNode, requiredFreeBytes } from '../../../installer/cutover/steps/preflight.js';

describe('preflight', () => {
  it('refuses a Node the target does not support, naming both', () => {
    expect(() => checkNode({ version: '0.10.0', engines: { node: '>=20.17' } }, 'v18.19.0')).toThrow(/needs Node >=20.17/);
    expect(() => checkNode({ version: '0.10.0', engines: { node: '>=20.17' } }, 'v20.17.0')).not.toThrow();
    expect(() => checkNode({ version: '0.10.0' }, 'v18.0.0')).not.toThrow();
  });

  it('measures real free space and refuses when the backup and the app would not fit', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ao-preflight-'));
    const free = await checkDiskSpace(dir, 1);
    expect(free).toBeGreaterThan(1);
    await expect(checkDiskSpace(dir, free * 10)).rejects.toMatchObject({ code: 'ENOSPC', fix: expect.stringContaining('ao update') });
  });
  it('asks for the backup plus 10 MB when no package is installed (ao-legacy-import), plus 150 MB when ao update installs one: --check and the run share this', () => {
    expect(requiredFreeBytes(false, 100e6)).toBeCloseTo(120e6, 0);
    expect(requiredFreeBytes(true, 100e6)).toBeCloseTo(260e6, 0);
  });

  it('ao-legacy-import --check says ok on a disk that holds its backup plus 10 MB but not plus 150 MB, as its run would', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ao-preflight-'));
    const free = await checkDiskSpace(dir, 1);
    // 70 MB to spare either side (other tests write meanwhile): backup + 10 MB fits, backup + 150 MB does not.
    const backupBytes = (free - 80e6) / 1.1;
    expect(requiredFreeBytes(true, backupBytes)).toBeGreaterThan(free + 60e6);
    const lines: string[] = [];
    const ok = await dryRunChecks((l) => lines.push(l), { target: '0.10.0', env: process.env, legacy: { kind: 'none' }, aoHome: dir, backupBytes });
    expect(lines).toContain('  ok: free disk space');
    expect(ok).toBe(true);
  });
});
