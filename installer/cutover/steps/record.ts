import { join } from 'node:path';
import type { Journal } from '../journal.js';
import type { HealthDetail } from './health-step.js';
import type { ImportOutcome } from './import.js';

/**
 * The import record `~/.ao/legacy/imported.json`, written atomically (0600) as the last step of a cutover or
 * `ao-legacy-import` that imported a legacy home; a rollback removes it. Other parts only stat it.
 */
export interface ImportRecord {
  schemaVersion: 1;
  importedAt: string;
  legacyHome: string;
  via: 'ao update' | 'ao-legacy-import';
  rewriteVersion: string;
  projects: number;
  sessions: number;
  sessionsWithResumeId: number;
  sessionsInRewrite: number;
}

/** Builds the record from what the journal's import and health steps recorded; undefined when nothing was imported. */
export function importRecordOf(journal: Journal, home: string): ImportRecord | undefined {
  const imported = journal.record('import')?.detail as ImportOutcome | { skipped: string } | undefined;
  const health = journal.record('health')?.detail as HealthDetail | undefined;
  if (!imported || !('sessions' in imported) || !health) return undefined;
  return {
    schemaVersion: 1,
    importedAt: new Date().toISOString(),
    legacyHome: join(home, '.agent-orchestrator'),
    via: journal.data.command === 'update' ? 'ao update' : 'ao-legacy-import',
    rewriteVersion: health.version,
    projects: imported.projects,
    sessions: imported.sessions,
    sessionsWithResumeId: imported.sessionsWithResumeId,
    sessionsInRewrite: health.sessionsInRewrite,
  };
}
