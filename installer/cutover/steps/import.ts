import { join } from 'node:path';
import { UserError } from '../../../common/errors.js';
import { writeJsonAtomic } from '../../../common/fs-atomic.js';
import type { LegacyBundle } from '../legacy/bundle.js';
import { exportLegacyHome } from '../legacy/export.js';
import { runCommand } from '../run.js';

/**
 * Import: read the legacy home into a bundle (read only), keep the bundle in
 * the backup, hand it to the rewrite's `ao import`, then prove through
 * `ao export` that every legacy session arrived with its resume ids.
 */
export interface ImportOutcome {
  bundleFile: string;
  projects: number;
  sessions: number;
  resumeIds: { claude: number; codex: number; opencode: number };
  withoutResumeId: number;
  quarantined: number;
}

interface ExportedStore {
  sessions: Record<string, { resume?: Record<string, string | undefined> }>;
}

const RESUME_KEYS = ['claudeSessionUuid', 'codexThreadId', 'opencodeSessionId'] as const;

/** Every bundle session must be in the store under `projectId/id` with the same resume ids. */
export function reconcile(bundle: Pick<LegacyBundle, 'sessions'>, exported: ExportedStore): string[] {
  const problems: string[] = [];
  for (const s of bundle.sessions) {
    const key = `${s.projectId}/${s.id}`;
    const stored = exported.sessions?.[key];
    if (!stored) {
      problems.push(`${key} is missing`);
      continue;
    }
    for (const k of RESUME_KEYS) {
      if ((s.resume[k] ?? '') !== (stored.resume?.[k] ?? '')) problems.push(`${key} has ${k} ${JSON.stringify(stored.resume?.[k])}, expected ${JSON.stringify(s.resume[k])}`);
    }
  }
  return problems;
}

export async function importLegacy(opts: { home: string; ao: string; backupDir: string; env: NodeJS.ProcessEnv }): Promise<ImportOutcome> {
  const { bundle, report } = await exportLegacyHome({ home: opts.home, env: opts.env });
  const bundleFile = join(opts.backupDir, 'legacy-bundle.json');
  await writeJsonAtomic(bundleFile, bundle);
  const imported = await runCommand(opts.ao, ['import', '--legacy-bundle', bundleFile, '--json'], { env: opts.env, timeoutMs: 10 * 60_000 });
  if (imported.code !== 0) {
    throw new UserError({ what: 'the rewrite could not import your legacy sessions', why: `\`ao import\` exited ${imported.code}: ${imported.stderr.trim().split('\n').slice(-2).join(' | ')}`, fix: `nothing was lost; after fixing the cause run \`ao update\` again (the bundle is ${bundleFile})`, code: 'EIMPORT' });
  }
  const exported = await runCommand(opts.ao, ['export'], { env: opts.env, timeoutMs: 5 * 60_000 });
  if (exported.code !== 0) throw new UserError({ what: 'cannot read back the rewrite store', why: `\`ao export\` exited ${exported.code}: ${exported.stderr.trim()}`, code: 'EIMPORT' });
  const problems = reconcile(bundle, JSON.parse(exported.stdout) as ExportedStore);
  if (problems.length > 0) {
    throw new UserError({ what: `${problems.length} legacy sessions did not arrive in the rewrite store intact`, why: problems.slice(0, 3).join('; '), fix: `nothing was lost; report this with ${bundleFile}`, code: 'ERECONCILE' });
  }
  return {
    bundleFile,
    projects: bundle.projects.length,
    sessions: bundle.sessions.length,
    resumeIds: report.resumeIds,
    withoutResumeId: report.withoutResumeId.length,
    quarantined: report.quarantined,
  };
}
