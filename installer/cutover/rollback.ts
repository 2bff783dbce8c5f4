import { mkdir, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { readManifest, type RootKey } from './backup/manifest.js';
import { type RestoreResult, verifyAndRestore } from './backup/restore.js';
import type { Journal, JournalData, RollbackStep } from './journal.js';
import { STORE_FILES, type RewritePaths } from './rewrite.js';
import { stopStartedDaemon } from './steps/health.js';
import { trackChild, untrackChild } from './children.js';
import { reinstallLegacy, type SavedTarball } from './steps/install.js';

/**
 * Undo, in reverse order of what the forward run touched. Every step runs even
 * when an earlier one failed (rustup's rule); what could not be undone is
 * reported. Interrupts are ignored until the rollback ends.
 */
export function rollbackPlan(data: JournalData): RollbackStep[] {
  const started = (n: string) => data.steps.some((s) => s.name === n);
  const plan: RollbackStep[] = [];
  if (started('health') || data.daemon) plan.push('stop-daemon');
  if (started('import')) plan.push('restore-store');
  if (started('install') && data.command === 'update') plan.push('reinstall-legacy');
  // A backup that never completed means the run stopped while it only read: nothing to verify or undo there.
  if (data.backupDir && data.steps.some((s) => s.name === 'backup' && s.status === 'done')) plan.push('verify-legacy-files');
  return plan;
}

export interface RollbackContext {
  journal: Journal;
  paths: RewritePaths;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
}

const ignoreMissing = (err: NodeJS.ErrnoException) => {
  if (err.code !== 'ENOENT') throw err;
};

/** Puts back from the backup what differs under `keys`; any file it could not put back fails the step, named. */
async function restoreFromBackup(backupDir: string, keys?: RootKey[]): Promise<RestoreResult> {
  const result = await verifyAndRestore(backupDir, await readManifest(backupDir), keys);
  if (result.failed.length > 0) throw new Error(`could not restore ${result.failed.join('; ')}`);
  return result;
}

/**
 * The store (`ao.db` with its `-wal` and `-shm`) and `~/.ao/legacy` go back whole to what the backup holds:
 * what the import left (the store's three files, `bundle.json`, `imported.json`) is moved aside under
 * `rolled-back/<ms>` (never deleted), then every backed-up file and symlink is put back, checked against its
 * sha512 and given its mode. A file that did not exist before does not exist after.
 */
async function restoreStore(ctx: RollbackContext, backupDir: string | undefined): Promise<{ restored: number; movedAside: string }> {
  const aside = join(backupDir ?? join(ctx.paths.aoHome, 'cutover'), 'rolled-back', String(Date.now()));
  const current = [
    ...STORE_FILES.map((f) => [join(ctx.paths.dataDir, f), join(aside, 'data', f)]),
    ...['bundle.json', 'imported.json'].map((f) => [join(ctx.paths.aoHome, 'legacy', f), join(aside, 'legacy', f)]),
  ];
  for (const [live, dest] of current) {
    await mkdir(dirname(dest!), { recursive: true });
    await rename(live!, dest!).catch(ignoreMissing);
  }
  if (!backupDir) return { restored: 0, movedAside: aside };
  const result = await restoreFromBackup(backupDir, ['store', 'legacyRecord']);
  return { restored: result.restored.length, movedAside: aside };
}

export async function rollback(ctx: RollbackContext): Promise<{ notUndone: string[] }> {
  const { journal } = ctx;
  await journal.update({ status: 'rolling-back' });
  const data = journal.data;
  const notUndone: string[] = [];
  const installDetail = journal.record('install')?.detail as { ao?: string } | undefined;
  const ao = installDetail?.ao ?? (data.command === 'legacy-import' ? (journal.record('preflight')?.detail as { ao?: string } | undefined)?.ao : undefined);
  const backupDir = data.backupDir;
  const tarball = (journal.record('backup')?.detail as { tarball?: SavedTarball } | undefined)?.tarball;
  const actions: Record<RollbackStep, () => Promise<unknown>> = {
    'stop-daemon': () => stopStartedDaemon({ ao, daemon: data.daemon, paths: ctx.paths, env: ctx.env }),
    'restore-store': () => restoreStore(ctx, backupDir),
    'reinstall-legacy': async () => {
      if (!data.packageManager || !data.legacyVersion || !tarball) throw new Error('the journal lacks the package manager, legacy version or tarball');
      ctx.log(`  reinstalling @aoagents/ao@${data.legacyVersion} from ${tarball.file}`);
      await reinstallLegacy(data.packageManager, tarball, data.legacyVersion, ctx.env, (pid, command) => void trackChild(journal, pid, command));
      await untrackChild(journal);
    },
    'verify-legacy-files': async () => {
      const result = await restoreFromBackup(backupDir!);
      return { checked: result.checked, restored: result.restored.length };
    },
  };
  for (const name of rollbackPlan(data)) {
    if (journal.done(name, 'rollback')) continue;
    try {
      await journal.step(name, actions[name], 'rollback');
    } catch (err) {
      notUndone.push(`${name}: ${(err as Error).message}`);
    }
  }
  await journal.update({ status: 'rolled-back', notUndone });
  return { notUndone };
}
