import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BUNDLE_FORMAT, BUNDLE_VERSION, type BundleSession, type LegacyBundle } from './bundle.js';
import { LEGACY_BASE } from './config.js';
import { readLegacyHome, RESERVED } from './read.js';
import { CodexIndex, findClaudeSession } from './resume.js';

export interface ExportReport {
  projects: number;
  sessions: number;
  byGeneration: Record<string, number>;
  resumeIds: { claude: number; codex: number; opencode: number };
  /** `projectId/id` of every session left without a resume id (the reason is on the session). */
  withoutResumeId: string[];
  quarantined: number;
  /** Empty session files: ids the legacy CLI reserved and never used (not sessions, not corruption). */
  reservations: number;
  /** Everything left out with a reason (reservations included), listed in `bundle.skipped`. */
  skipped: number;
  /** V1 records left out because a V2 record describes the same session (half-migrated homes). */
  supersededByV2: number;
  /** A legacy `ao migrate-storage` was interrupted (its marker is present). */
  migrationInProgress: boolean;
}

/** Is there anything to import: a legacy base dir or a pre-Feb-2026 `~/.ao-sessions`. */
export function hasLegacyHome(home: string): boolean {
  return existsSync(join(home, LEGACY_BASE)) || existsSync(join(home, '.ao-sessions'));
}

const NO_RESUME_ID_AGENTS = new Set(['aider', 'cursor']);

/** Fills `resume` from the agent's own files, or says in `resumeMissing` why there is none. Never guesses. */
function deriveResume(s: BundleSession, home: string, codex: () => CodexIndex): void {
  const agent = s.agent;
  if (agent && NO_RESUME_ID_AGENTS.has(agent)) {
    s.resumeMissing = `agent ${agent} has no resume id`;
    return;
  }
  if (agent === 'opencode') {
    if (!s.resume.opencodeSessionId) {
      const raw = s.extra.opencodeSessionId;
      s.resumeMissing = raw === undefined ? 'opencode session id was not stored' : `opencodeSessionId ${JSON.stringify(raw)} is not a ses_ id`;
    }
    return;
  }
  const wantClaude = agent === 'claude-code' || agent === 'claude' || agent === undefined;
  const wantCodex = agent === 'codex' || agent === undefined;
  if (!wantClaude && !wantCodex) {
    if (!s.resume.opencodeSessionId) s.resumeMissing = `agent ${agent} has no known resume id`;
    return;
  }
  if (!s.worktree) {
    if (!s.resume.opencodeSessionId) s.resumeMissing = 'no worktree recorded, so no agent session to look up';
    return;
  }
  const why: string[] = [];
  if (wantClaude) {
    const found = findClaudeSession(home, s.worktree);
    if ('value' in found) s.resume.claudeSessionUuid = found.value;
    else why.push(found.missing);
  }
  if (wantCodex) {
    const found = codex().lookup(s.worktree);
    if ('value' in found) {
      s.resume.codexThreadId = found.value.threadId;
      if (found.value.model) s.resume.codexModel = found.value.model;
    } else why.push(found.missing);
  }
  const any = s.resume.claudeSessionUuid || s.resume.codexThreadId || s.resume.opencodeSessionId;
  if (!any) s.resumeMissing = (agent === undefined ? 'no agent recorded; ' : '') + why.join('; ');
}

/** Reads every legacy generation under `home` into one bundle, with resume ids derived. Never writes to `home`. */
export async function exportLegacyHome(opts: { home: string; env?: NodeJS.ProcessEnv }): Promise<{ bundle: LegacyBundle; report: ExportReport }> {
  const legacy = readLegacyHome(opts.home, opts.env ?? process.env);
  let index: CodexIndex | undefined;
  const codex = (): CodexIndex => (index ??= new CodexIndex(opts.home));
  for (const s of legacy.sessions) deriveResume(s, opts.home, codex);

  const byGeneration: Record<string, number> = {};
  const resumeIds = { claude: 0, codex: 0, opencode: 0 };
  const withoutResumeId: string[] = [];
  for (const s of legacy.sessions) {
    byGeneration[s.generation] = (byGeneration[s.generation] ?? 0) + 1;
    if (s.resume.claudeSessionUuid) resumeIds.claude++;
    if (s.resume.codexThreadId) resumeIds.codex++;
    if (s.resume.opencodeSessionId) resumeIds.opencode++;
    if (s.resumeMissing) withoutResumeId.push(`${s.projectId}/${s.id}`);
  }
  const bundle: LegacyBundle = {
    format: BUNDLE_FORMAT,
    version: BUNDLE_VERSION,
    createdAt: new Date().toISOString(),
    source: {
      home: opts.home,
      generations: [...legacy.generations].sort(),
      ...(legacy.migrationInProgress ? { migrationInProgress: true } : {}),
      ...(legacy.otherEntries.length ? { otherEntries: legacy.otherEntries.sort() } : {}),
    },
    ...(legacy.config ? { config: { path: legacy.config.path, data: legacy.config.data } } : {}),
    projects: [...legacy.projects.values()].sort((a, b) => a.id.localeCompare(b.id)),
    sessions: legacy.sessions,
    quarantine: legacy.quarantine,
    ...(legacy.skipped.length ? { skipped: legacy.skipped } : {}),
  };
  return {
    bundle,
    report: {
      projects: bundle.projects.length,
      sessions: bundle.sessions.length,
      byGeneration,
      resumeIds,
      withoutResumeId,
      quarantined: legacy.quarantine.length,
      reservations: legacy.skipped.filter((e) => e.reason === RESERVED).length,
      skipped: legacy.skipped.length,
      supersededByV2: legacy.supersededByV2.length,
      migrationInProgress: legacy.migrationInProgress,
    },
  };
}
