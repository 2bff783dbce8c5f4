import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createBackup } from '../../../installer/cutover/backup/create.js';
import { legacyRoots } from '../../../installer/cutover/backup/manifest.js';
import { hashTree } from '../../../installer/cutover/backup/walk.js';
import { Journal } from '../../../installer/cutover/journal.js';
import { rollback } from '../../../installer/cutover/rollback.js';
import { rewritePaths } from '../../../installer/cutover/rewrite.js';
import { generateLegacyHome } from '../../../rehearsal/legacy-home.js';

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
    await createBackup(backupDir, legacyRoots(home, aoHome, {}));

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
});
