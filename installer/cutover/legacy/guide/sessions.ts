import { statSync } from 'node:fs';
import type { BundleSession, LegacyBundle } from '../bundle.js';
import { agentName, chooseCommand, commandLine, type ResumeCommand } from './agents.js';
import type { SessionsOrigin } from './source.js';
import { isObject } from '../../../../common/is-object.js';

/** One legacy session as `ao-legacy-import sessions` shows it. Read only: worktrees and records are only stat()ed. */
export interface SessionView {
  key: string;
  project: string;
  id: string;
  agent: string | null;
  role: string;
  state: string;
  branch: string | null;
  worktree: string | null;
  worktreeExists: boolean;
  /** ISO time of the newest activity the legacy CLI recorded (state transitions, agent reports) or its record file's mtime. */
  lastActivity: string | null;
  resume: BundleSession['resume'];
  /** Why there is no resume id, as the export found it; the id is never guessed. */
  resumeMissing: string | null;
  /** The command that resumes it, run in the worktree; null without a resume id, or when ids for two agents leave it open. */
  command: ShownCommand | null;
  /** Every command its resume ids allow (more than one only for a session that recorded no agent). */
  commands: ShownCommand[];
}

export interface ShownCommand {
  agent: string;
  argv: string[];
  line: string;
}

export interface SessionsReport {
  schemaVersion: 1;
  source: SessionsOrigin;
  counts: { projects: number; sessions: number; withResumeId: number; withoutResumeId: number };
  projects: Array<{ id: string; path: string | null; sessions: SessionView[] }>;
}

export function worktreeExists(path: string | undefined): boolean {
  if (!path) return false;
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function stateOf(s: BundleSession): string {
  if (s.archived) return 'archived';
  const session = isObject(s.lifecycle) && isObject(s.lifecycle.session) ? s.lifecycle.session : undefined;
  if (session && typeof session.state === 'string') return session.state;
  return s.status ?? 'unknown';
}

/** A timestamp the legacy CLI wrote: ISO text or epoch (s or ms). */
function toMs(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v) && v > 0) return v < 1e12 ? v * 1000 : v;
  if (typeof v === 'string' && v !== '') {
    const ms = /^\d+$/.test(v) ? toMs(Number(v)) : Date.parse(v);
    return ms !== undefined && Number.isFinite(ms) ? ms : undefined;
  }
  return undefined;
}

function lastActivityOf(s: BundleSession): string | null {
  const times: unknown[] = [s.createdAt, s.extra.agentReportedAt, s.extra.restoredAt, s.extra.terminatedAt, s.extra.lastActivityAt, s.extra.updatedAt];
  if (isObject(s.lifecycle)) {
    for (const part of Object.values(s.lifecycle)) {
      if (isObject(part)) times.push(part.lastTransitionAt, part.lastObservedAt, part.startedAt, part.completedAt, part.terminatedAt);
    }
  }
  try {
    times.push(statSync(s.sourcePath).mtimeMs); // the legacy CLI rewrites the record on every change
  } catch {
    // the record may be gone (a bundle outlives its legacy home)
  }
  const newest = Math.max(...times.map(toMs).filter((t): t is number => t !== undefined));
  return Number.isFinite(newest) ? new Date(newest).toISOString() : null;
}

export function viewSession(bundle: LegacyBundle, s: BundleSession): SessionView {
  const { command, alternatives } = chooseCommand(bundle, s);
  const shown = (c: ResumeCommand): ShownCommand => ({ agent: c.agent, argv: [c.cli, ...c.args], line: commandLine(c, s.worktree) });
  return {
    key: `${s.projectId}/${s.id}`,
    project: s.projectId,
    id: s.id,
    agent: agentName(s.agent) ?? null,
    role: s.role ?? 'worker',
    state: stateOf(s),
    branch: s.branch ?? null,
    worktree: s.worktree ?? null,
    worktreeExists: worktreeExists(s.worktree),
    lastActivity: lastActivityOf(s),
    resume: s.resume,
    resumeMissing: alternatives.length > 0 ? null : (s.resumeMissing ?? 'no resume id was found'),
    command: command ? shown(command) : null,
    commands: alternatives.map(shown),
  };
}

export interface SessionFilter {
  project?: string;
  agent?: string;
}

export function sessionsReport(bundle: LegacyBundle, origin: SessionsOrigin, filter: SessionFilter = {}): SessionsReport {
  const wanted = bundle.sessions.filter(
    (s) => (!filter.project || s.projectId === filter.project) && (!filter.agent || agentName(s.agent) === agentName(filter.agent)),
  );
  const byProject = new Map<string, SessionView[]>();
  for (const s of wanted) {
    const list = byProject.get(s.projectId) ?? [];
    list.push(viewSession(bundle, s));
    byProject.set(s.projectId, list);
  }
  const paths = new Map(bundle.projects.map((p) => [p.id, p.path ?? null]));
  const projects = [...byProject.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([id, sessions]) => ({ id, path: paths.get(id) ?? null, sessions: sessions.sort((a, b) => a.id.localeCompare(b.id, undefined, { numeric: true })) }));
  const all = projects.flatMap((p) => p.sessions);
  const withResumeId = all.filter((v) => v.commands.length > 0).length;
  return {
    schemaVersion: 1,
    source: origin,
    counts: { projects: projects.length, sessions: all.length, withResumeId, withoutResumeId: all.length - withResumeId },
    projects,
  };
}

/** The human table: one block per project, one line per session, then how to resume. */
export function formatSessions(report: SessionsReport): string {
  const lines: string[] = [];
  for (const p of report.projects) {
    lines.push(`${p.id}${p.path ? `  (${p.path})` : ''}`);
    for (const v of p.sessions) {
      const where = v.worktree ? `${v.worktree}${v.worktreeExists ? '' : ' (missing)'}` : '(no worktree)';
      const when = v.lastActivity ? v.lastActivity.slice(0, 16).replace('T', ' ') : '-';
      lines.push(
        `  ${v.id}  ${v.agent ?? '(no agent)'}  ${v.state}${v.role === 'orchestrator' ? ' (orchestrator)' : ''}  ${v.branch ?? '-'}  ${where}  last ${when}`,
      );
      if (v.command) lines.push(`      resume: ${v.command.line}`);
      else if (v.commands.length > 0)
        lines.push(
          `      no agent recorded; resume ids for ${v.commands.map((c) => c.agent).join(' and ')}: ao-legacy-import resume ${v.key} --agent <one of them>`,
        );
      else lines.push(`      no resume id: ${v.resumeMissing}`);
    }
  }
  const c = report.counts;
  lines.push('');
  lines.push(`${c.sessions} sessions in ${c.projects} projects, ${c.withResumeId} with a resume id, ${c.withoutResumeId} without.`);
  if (c.withResumeId > 0) lines.push('Resume one: ao-legacy-import resume <project>/<session> (add --run to start it in its worktree)');
  return lines.join('\n') + '\n';
}
