import { readFile } from 'node:fs/promises';
import { UserError } from '../../../common/errors.js';
import { validateBundle, type LegacyBundle } from '../legacy/bundle.js';
import { aoJson } from '../rewrite.js';
import type { ImportOutcome } from './import.js';

/**
 * What the rewrite holds, asked of the running daemon through the rewrite's own commands: every project of
 * the legacy config in `ao project ls --json` under its legacy id (V2 hashed ids kept), and, when the
 * rewrite took sessions, every bundle session in `ao session ls --json` with the same resume ids.
 */
export interface ReconcileOutcome {
  projectsInRewrite: number;
  sessionsInRewrite: number;
  /** Legacy projects the rewrite's import declined with a note naming them (kept only in the bundle). */
  declined: Array<{ id: string; note: string }>;
}

interface SessionRow {
  id: string;
  projectId: string;
  resume?: Record<string, string | undefined>;
}

const RESUME_KEYS = ['claudeSessionUuid', 'codexThreadId', 'codexModel', 'opencodeSessionId'] as const;

export function missingProjects(expected: string[], listed: Array<{ id: string }>): string[] {
  const have = new Set(listed.map((p) => p.id));
  return expected.filter((id) => !have.has(id));
}

/** Every bundle session must be listed under `projectId/id` with the same resume ids. */
export function sessionProblems(bundle: Pick<LegacyBundle, 'sessions'>, rows: SessionRow[]): string[] {
  const byKey = new Map(rows.map((r) => [`${r.projectId}/${r.id}`, r]));
  const problems: string[] = [];
  for (const s of bundle.sessions) {
    const key = `${s.projectId}/${s.id}`;
    const row = byKey.get(key);
    if (!row) {
      problems.push(`${key} is missing`);
      continue;
    }
    for (const k of RESUME_KEYS) {
      if ((s.resume[k] ?? '') !== (row.resume?.[k] ?? ''))
        problems.push(`${key} has ${k} ${JSON.stringify(row.resume?.[k])}, expected ${JSON.stringify(s.resume[k])}`);
    }
  }
  return problems;
}

export async function reconcile(opts: { ao: string; env: NodeJS.ProcessEnv; imported: ImportOutcome }): Promise<ReconcileOutcome> {
  const { imported } = opts;
  const listed = await aoJson<{ projects: Array<{ id: string }> }>(opts.ao, ['project', 'ls', '--json'], opts.env);
  const absent = missingProjects(imported.configProjects, listed.projects ?? []);
  // A project the import itself declined, saying so in a note, is reported; one missing without a word is a failure.
  const declined = absent.flatMap((id) =>
    imported.notes
      .filter((n) => n.includes(JSON.stringify(id)))
      .slice(0, 1)
      .map((note) => ({ id, note })),
  );
  const missing = absent.filter((id) => !declined.some((d) => d.id === id));
  if (missing.length > 0) {
    throw new UserError({
      what: `${missing.length} legacy project(s) are not in the new ao after its import`,
      why: `\`ao project ls --json\` does not list ${missing.slice(0, 5).join(', ')}`,
      fix: `nothing was lost; report this with ${imported.bundleFile}`,
      code: 'ERECONCILE',
    });
  }
  const projectsInRewrite = imported.configProjects.length - declined.length;
  if (!imported.sessionImport) return { projectsInRewrite, sessionsInRewrite: 0, declined };
  const bundle = validateBundle(JSON.parse(await readFile(imported.bundleFile, 'utf8')));
  const rows = await aoJson<{ data: SessionRow[] }>(opts.ao, ['session', 'ls', '--all', '--include-terminated', '--json'], opts.env);
  const problems = sessionProblems(bundle, rows.data ?? []);
  if (problems.length > 0) {
    throw new UserError({
      what: `${problems.length} legacy session(s) did not arrive in the new ao intact`,
      why: problems.slice(0, 3).join('; '),
      fix: `nothing was lost; report this with ${imported.bundleFile}`,
      code: 'ERECONCILE',
    });
  }
  return { projectsInRewrite, sessionsInRewrite: bundle.sessions.length, declined };
}
