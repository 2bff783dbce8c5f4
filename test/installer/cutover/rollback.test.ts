import { chmod, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createBackup } from '../../../installer/cutover/backup/create.js';
import { backupPathOf, legacyRoots } from '../../../installer/cutover/backup/manifest.js';
import { hashTree } from '../../../installer/cutover/backup/walk.js';
import { Journal } from '../../../installer/cutover/journal.js';
import { rollback } from '../../../installer/cutover/rollback.js';
import { rewritePaths } from '../../../installer/cutover/rewrite.js';
import { generateLegacyHome } from '../../../rehearsal/legacy-home.js';

/** A user with a legacy home and a prior rewrite store (`prepare` shapes it), backed up, whose cutover got as far as the import. */
async function importedAfterBackup(prepare: (dataDir: string) => Promise<void>) {
  const home = await mkdtemp(join(tmpdir(), 'ao-rollback-'));
  generateLegacyHome(home, { projects: 1, sessionsPerProject: 1, seed: 7 });
  const aoHome = join(home, '.ao');
  const dataDir = join(aoHome, 'data');
  await mkdir(dataDir, { recursive: true });
  await prepare(dataDir);
  const backupDir = join(aoHome, 'backups', 'legacy-x');
  await createBackup(backupDir, legacyRoots(home, { aoHome, dataDir }, {}));
  const journal = await Journal.create(aoHome, { command: 'legacy-import', target: '0.10.0' });
  await journal.update({ backupDir });
  await journal.step('backup', async () => ({}));
  await journal.step('import', async () => ({}));
  return { home, aoHome, dataDir, backupDir, journal };
}

describe('rollback', () => {
  it('keeps going past a step it cannot undo, restores the rest, and reports what is left', async () => {
    const home = await mkdtemp(join(tmpdir(), 'ao-rollback-'));
    generateLegacyHome(home, { projects: 2, sessionsPerProject: 2, seed: 5 });
    const aoHome = join(home, '.ao');
    await mkdir(join(aoHome, 'data'), { recursive: true });
    await writeFile(join(aoHome, 'data', 'ao.db'), 'prior store');
    const base = join(home, '.agent-orchestrator');
    const before = await hashTree(base);
    const backupDir = join(aoHome, 'backups', 'legacy-x');
    await createBackup(backupDir, legacyRoots(home, { aoHome, dataDir: join(aoHome, 'data') }, {}));

    // A cutover that installed and imported, then failed; its journal lacks the legacy tarball.
    const journal = await Journal.create(aoHome, { command: 'update', target: '0.10.0' });
    await journal.update({ backupDir, legacyVersion: '0.9.6' });
    await journal.step('backup', async () => ({}));
    await journal.step('install', async () => ({}));
    await journal.step('import', async () => ({}));
    await writeFile(join(aoHome, 'data', 'ao.db'), 'imported store');
    await writeFile(join(aoHome, 'data', 'ao.db-wal'), 'imported frames');
    await writeFile(join(base, 'config.yaml'), 'something changed this');

    const lines: string[] = [];
    const { notUndone } = await rollback({ journal, paths: rewritePaths(home, {}), env: process.env, log: (l) => lines.push(l) });
    expect(notUndone).toHaveLength(1);
    expect(notUndone[0]).toMatch(/^reinstall-legacy: /);
    expect(await readFile(join(aoHome, 'data', 'ao.db'), 'utf8')).toBe('prior store');
    // A file the prior store did not have does not survive the restore: the store comes back whole.
    expect(existsSync(join(aoHome, 'data', 'ao.db-wal'))).toBe(false);
    expect(existsSync(join(backupDir, 'rolled-back'))).toBe(true);
    expect(await hashTree(base)).toEqual(before);
    const saved = (await Journal.load(aoHome))!;
    expect(saved.data.status).toBe('rolled-back');
    expect(saved.data.rollback.map((s) => `${s.name}:${s.status}`)).toEqual(['restore-store:done', 'reinstall-legacy:failed', 'verify-legacy-files:done']);
  });

  it('a rollback cut short resumes where it stopped and does not redo finished steps', async () => {
    const home = await mkdtemp(join(tmpdir(), 'ao-rollback-'));
    const aoHome = join(home, '.ao');
    const journal = await Journal.create(aoHome, { command: 'legacy-import', target: '0.10.0' });
    await journal.step('import', async () => ({}));
    await journal.step('health', async () => ({}));
    await journal.update({ status: 'rolling-back' });
    await journal.step('stop-daemon', async () => ({ ranBefore: true }), 'rollback');
    await rollback({ journal, paths: rewritePaths(home, {}), env: process.env, log: () => undefined });
    expect(journal.data.rollback.map((s) => s.name)).toEqual(['stop-daemon', 'restore-store']);
  });

  it('puts the store back as it was: a symlinked ao.db comes back as the same link, a 0600 file as 0600', async () => {
    const u = await importedAfterBackup(async (dataDir) => {
      await writeFile(join(dataDir, '..', 'elsewhere.db'), 'prior store');
      await symlink('../elsewhere.db', join(dataDir, 'ao.db'));
      await writeFile(join(dataDir, 'ao.db-wal'), 'prior frames');
      await chmod(join(dataDir, 'ao.db-wal'), 0o600);
    });
    // The import replaced the link with a store of its own.
    await rm(join(u.dataDir, 'ao.db'));
    await writeFile(join(u.dataDir, 'ao.db'), 'imported store');
    await writeFile(join(u.dataDir, 'ao.db-wal'), 'imported frames');
    const { notUndone } = await rollback({ journal: u.journal, paths: rewritePaths(u.home, {}), env: process.env, log: () => undefined });
    expect(notUndone).toEqual([]);
    expect(await readlink(join(u.dataDir, 'ao.db'))).toBe('../elsewhere.db');
    expect(await readFile(join(u.dataDir, 'ao.db'), 'utf8')).toBe('prior store');
    expect(await readFile(join(u.dataDir, 'ao.db-wal'), 'utf8')).toBe('prior frames');
    expect((await stat(join(u.dataDir, 'ao.db-wal'))).mode & 0o777).toBe(0o600);
    expect(u.journal.data.rollback.find((s) => s.name === 'restore-store')?.detail).toMatchObject({ restored: 2 });
  });

  it('a store file whose backup copy rotted is named as not undone; the others still come back and no temp file is left', async () => {
    const u = await importedAfterBackup(async (dataDir) => {
      await writeFile(join(dataDir, 'ao.db'), 'prior store');
      await writeFile(join(dataDir, 'ao.db-wal'), 'prior frames');
    });
    await writeFile(backupPathOf(u.backupDir, { root: 'store', path: 'ao.db' }), 'backup rot');
    await writeFile(join(u.dataDir, 'ao.db'), 'imported store');
    await writeFile(join(u.dataDir, 'ao.db-wal'), 'imported frames');
    const { notUndone } = await rollback({ journal: u.journal, paths: rewritePaths(u.home, {}), env: process.env, log: () => undefined });
    expect(notUndone).toHaveLength(1);
    expect(notUndone[0]).toMatch(/^restore-store: .*ao\.db.*does not match its recorded sha512/);
    expect(await readFile(join(u.dataDir, 'ao.db-wal'), 'utf8')).toBe('prior frames');
    expect(existsSync(join(u.dataDir, 'ao.db'))).toBe(false);
    expect((await readdir(u.dataDir)).filter((n) => n.includes('ao-restore'))).toEqual([]);
    // What the import left is kept aside, never deleted.
    const aside = join(u.backupDir, 'rolled-back');
    const [run] = await readdir(aside);
    expect(await readFile(join(aside, run!, 'data', 'ao.db'), 'utf8')).toBe('imported store');
  });
});
