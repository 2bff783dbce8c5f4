import { copyFile, mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { digestFile } from '../../common/integrity.js';
import { backupPathOf, readManifest, verifyAndRestore } from './backup.js';
import type { Journal, JournalData, RollbackStep } from './journal.js';
import { stopDaemon } from './steps/health.js';
import { reinstallLegacy, type SavedTarball } from './steps/install.js';

/**
 * Undo, in reverse order of what the forward run touched. Every step runs even
 * when an earlier one failed (rustup's rule); what could not be undone is
 * reported. Interrupts are ignored until the rollback ends.
 */
export function rollbackPlan(data: JournalData): RollbackStep[] {
  const started = (n: string) => data.steps.some((s) => s.name === n);
  const plan: RollbackStep[] = [];
  if (started('health') || started('import')) plan.push('stop-daemon');
  if (started('import')) plan.push('restore-store');
  if (started('install') && data.command === 'update') plan.push('reinstall-legacy');
  if (data.backupDir) plan.push('verify-legacy-files');
  return plan;
}

export interface RollbackContext {
  journal: Journal;
  aoHome: string;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
}

export async function rollback(ctx: RollbackContext): Promise<{ notUndone: string[] }> {
  const { journal } = ctx;
  await journal.update({ status: 'rolling-back' });
  const data = journal.data;
  const notUndone: string[] = [];
  const installDetail = journal.record('install')?.detail as { ao?: string } | undefined;
  const backupDir = data.backupDir;
  const tarball = (journal.record('backup')?.detail as { tarball?: SavedTarball } | undefined)?.tarball;
  const actions: Record<RollbackStep, () => Promise<unknown>> = {
    'stop-daemon': () => stopDaemon({ ao: installDetail?.ao ?? (data.command === 'legacy-import' ? (journal.record('preflight')?.detail as { ao?: string } | undefined)?.ao : undefined), aoHome: ctx.aoHome, env: ctx.env }),
    'restore-store': async () => {
      const store = join(ctx.aoHome, 'ao.db');
      const aside = join(backupDir ?? join(ctx.aoHome, 'cutover'), 'rolled-back');
      await mkdir(aside, { recursive: true });
      // The imported store is moved aside, never deleted: nothing is lost.
      await rename(store, join(aside, `ao.db-${Date.now()}`)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
      if (!backupDir) return { restored: false };
      const manifest = await readManifest(backupDir);
      const prior = manifest.files.find((f) => f.root === 'store');
      if (!prior) return { restored: false };
      const tmp = `${store}.ao-restore`;
      await copyFile(backupPathOf(backupDir, prior), tmp);
      if ((await digestFile(tmp)).integrity !== prior.integrity) throw new Error('the backed-up ao.db does not match its recorded sha512');
      await rename(tmp, store);
      return { restored: true };
    },
    'reinstall-legacy': async () => {
      if (!data.packageManager || !data.legacyVersion || !tarball) throw new Error('the journal lacks the package manager, legacy version or tarball');
      ctx.log(`  reinstalling @aoagents/ao@${data.legacyVersion} from ${tarball.file}`);
      await reinstallLegacy(data.packageManager, tarball, data.legacyVersion, ctx.env);
    },
    'verify-legacy-files': async () => {
      const result = await verifyAndRestore(backupDir!, await readManifest(backupDir!));
      if (result.failed.length > 0) throw new Error(`could not restore ${result.failed.join('; ')}`);
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
