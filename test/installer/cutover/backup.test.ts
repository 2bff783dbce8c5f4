import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { digestFile } from '../../../common/integrity.js';
import { createBackup } from '../../../installer/cutover/backup/create.js';
import { backupPathOf, legacyRoots, readManifest } from '../../../installer/cutover/backup/manifest.js';
import { verifyAndRestore } from '../../../installer/cutover/backup/restore.js';
import { hashTree } from '../../../installer/cutover/backup/walk.js';
import { generateLegacyHome } from '../../../rehearsal/legacy-home.js';

async function userWithLegacyHome() {
  const home = await mkdtemp(join(tmpdir(), 'ao-backup-'));
  const facts = generateLegacyHome(home, { projects: 3, sessionsPerProject: 3, claude: true, codex: true, opencode: true, corrupt: true, seed: 3 });
  const base = join(home, '.agent-orchestrator');
  const worktree = join(base, 'projects', 'wt-demo', 'worktrees', 'w-1');
  await mkdir(worktree, { recursive: true });
  await writeFile(join(worktree, 'big-checkout-file'), 'x'.repeat(1000));
  await symlink('config.yaml', join(base, 'config-link.yaml'));
  const aoHome = join(home, '.ao');
  // A prior rewrite store left open by a killed daemon: the WAL trio, beside a cache the rewrite rebuilds.
  await mkdir(join(aoHome, 'data', 'skills'), { recursive: true });
  await writeFile(join(aoHome, 'data', 'ao.db'), '{"schema":1}');
  await writeFile(join(aoHome, 'data', 'ao.db-wal'), 'committed frames');
  await writeFile(join(aoHome, 'data', 'ao.db-shm'), 'index');
  await writeFile(join(aoHome, 'data', 'skills', 'cache'), 'rebuilt');
  return { home, base, aoHome, facts, roots: legacyRoots(home, { aoHome, dataDir: join(aoHome, 'data') }, {}) };
}

describe('backup', () => {
  it('copies every legacy file and the prior ao.db with a sha512 that matches the original; worktrees recorded, not copied', async () => {
    const u = await userWithLegacyHome();
    const dir = join(u.aoHome, 'backups', 'legacy-test');
    const manifest = await createBackup(dir, u.roots, { legacyVersion: '0.9.6' });
    expect(existsSync(`${dir}.partial`)).toBe(false);
    expect(await readManifest(dir)).toEqual(manifest);
    const base = manifest.files.filter((f) => f.root === 'legacyBase' && f.type === 'file');
    expect(base.length).toBeGreaterThan(10);
    for (const f of base) {
      const original = join(u.base, ...f.path.split('/'));
      expect((await digestFile(original)).integrity).toBe(f.integrity);
      expect((await digestFile(backupPathOf(dir, f))).integrity).toBe(f.integrity);
    }
    expect(manifest.files.filter((f) => f.root === 'store').map((f) => f.path)).toEqual(['ao.db', 'ao.db-shm', 'ao.db-wal']);
    expect(manifest.files.find((f) => f.path === 'config-link.yaml')).toMatchObject({ type: 'symlink', target: 'config.yaml' });
    expect(manifest.worktrees).toContain(join(u.base, 'projects', 'wt-demo', 'worktrees'));
    expect(manifest.files.some((f) => f.path.includes('big-checkout-file'))).toBe(false);
  });

  it('leaves the legacy tree byte-identical (it only reads)', async () => {
    const u = await userWithLegacyHome();
    const before = await hashTree(u.base);
    await createBackup(join(u.aoHome, 'backups', 'b'), u.roots);
    expect(await hashTree(u.base)).toEqual(before);
  });

  it('a backup cut short (leftover .partial) is replaced whole on the next try', async () => {
    const u = await userWithLegacyHome();
    const dir = join(u.aoHome, 'backups', 'b');
    await mkdir(`${dir}.partial/files`, { recursive: true });
    await writeFile(`${dir}.partial/files/junk`, 'half');
    await createBackup(dir, u.roots);
    expect(existsSync(`${dir}.partial`)).toBe(false);
    expect(await readdir(join(dir, 'files'))).not.toContain('junk');
  });

  it('proves the legacy files against the manifest and restores any that changed or vanished', async () => {
    const u = await userWithLegacyHome();
    const before = await hashTree(u.base);
    const dir = join(u.aoHome, 'backups', 'b');
    const manifest = await createBackup(dir, u.roots);
    const [a, b] = manifest.files.filter((f) => f.root === 'legacyBase' && f.type === 'file');
    await writeFile(join(u.base, ...a!.path.split('/')), 'clobbered');
    await rm(join(u.base, ...b!.path.split('/')));
    await rm(join(u.base, 'config-link.yaml'));
    const result = await verifyAndRestore(dir, manifest);
    expect(result.failed).toEqual([]);
    expect(result.restored).toHaveLength(3);
    expect(await hashTree(u.base)).toEqual(before);
    expect(await readFile(join(u.aoHome, 'data', 'ao.db'), 'utf8')).toBe('{"schema":1}');
  });

  it('refuses to restore from a backup copy that no longer matches its hash', async () => {
    const u = await userWithLegacyHome();
    const dir = join(u.aoHome, 'backups', 'b');
    const manifest = await createBackup(dir, u.roots);
    const f = manifest.files.find((x) => x.root === 'legacyBase' && x.type === 'file')!;
    await writeFile(join(u.base, ...f.path.split('/')), 'changed');
    await writeFile(backupPathOf(dir, f), 'backup rot');
    const result = await verifyAndRestore(dir, manifest);
    expect(result.failed[0]).toContain('does not match its recorded sha512');
    expect(await readFile(join(u.base, ...f.path.split('/')), 'utf8')).toBe('changed');
    expect((await readdir(join(u.base, ...f.path.split('/').slice(0, -1)))).some((n) => n.includes('ao-restore'))).toBe(false);
  });

  it('a legacy file with its bytes intact but its mode changed gets its recorded mode back', async () => {
    const u = await userWithLegacyHome();
    const dir = join(u.aoHome, 'backups', 'b');
    const manifest = await createBackup(dir, u.roots);
    const f = manifest.files.find((x) => x.root === 'legacyBase' && x.type === 'file')!;
    const live = join(u.base, ...f.path.split('/'));
    await chmod(live, 0o666);
    const result = await verifyAndRestore(dir, manifest);
    expect(result.failed).toEqual([]);
    expect(result.restored).toEqual([live]);
    expect((await stat(live)).mode & 0o777).toBe(f.mode);
  });
});
