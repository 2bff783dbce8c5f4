import { UserError } from '../../../common/errors.js';
import { isObject } from '../../../common/is-object.js';

/**
 * The normalized legacy bundle: everything the legacy TypeScript CLI kept on disk, in one versioned JSON
 * document the cutover keeps (`~/.ao/legacy/bundle.json`) and a rewrite offering `ao import --sessions-from` reads. Sessions are keyed by `projectId/id`.
 */
export const BUNDLE_FORMAT = 'ao-legacy-bundle';
export const BUNDLE_VERSION = 1;

export type Generation = 'v1a' | 'v1b' | 'v2' | 'v0';
const GENERATIONS: readonly Generation[] = ['v1a', 'v1b', 'v2', 'v0'];

export interface BundleProject {
  id: string;
  path?: string;
  displayName?: string;
  /** The project's entry in the global config, every key as it was. */
  config?: Record<string, unknown>;
  /** The repo-local `agent-orchestrator.yaml` a V1 dir's `.origin` named, every key as written. */
  localConfig?: { path: string; data: Record<string, unknown> };
  /** Legacy storage dirs that held this project, relative to `~/.agent-orchestrator` (or `~/.ao-sessions`). */
  storageDirs: string[];
  /** Files in those dirs that are not session records (prompts, feedback reports, ...), absolute paths. */
  files: string[];
}

export interface BundleResume {
  claudeSessionUuid?: string;
  codexThreadId?: string;
  codexModel?: string;
  opencodeSessionId?: string;
}

export interface BundleSession {
  id: string;
  projectId: string;
  generation: Generation;
  role?: 'worker' | 'orchestrator';
  agent?: string;
  worktree?: string;
  branch?: string;
  status?: string;
  lifecycle?: Record<string, unknown>;
  tmuxName?: string;
  runtimeHandle?: Record<string, unknown>;
  createdAt?: string;
  archived?: boolean;
  resume: BundleResume;
  /** Why a resume id could not be found (never guessed). */
  resumeMissing?: string;
  /** Every key the reader does not map to a field above, carried as it was. */
  extra: Record<string, unknown>;
  /** The file the session was read from. */
  sourcePath: string;
}

export interface QuarantineEntry {
  path: string;
  reason: string;
}

export interface LegacyBundle {
  format: typeof BUNDLE_FORMAT;
  version: typeof BUNDLE_VERSION;
  createdAt: string;
  source: {
    home: string;
    generations: string[];
    /** A legacy `ao migrate-storage` was interrupted (marker `.migration-in-progress`). */
    migrationInProgress?: boolean;
    /** Other top-level entries of `~/.agent-orchestrator` (running.json, portfolio/, ...), carried by the backup. */
    otherEntries?: string[];
  };
  config?: { path: string; data: Record<string, unknown> };
  projects: BundleProject[];
  sessions: BundleSession[];
  quarantine: QuarantineEntry[];
  /** Entries that are neither sessions nor corruption (empty id reservations, directories named like sessions). */
  skipped?: QuarantineEntry[];
}

function invalid(field: string, why: string): UserError {
  return new UserError({
    what: `the legacy bundle is invalid at ${field}`,
    why,
    fix: 'export the legacy home again with ao-legacy-import; do not edit the bundle by hand',
    code: 'EBUNDLE',
  });
}

function str(o: Record<string, unknown>, key: string, field: string, optional = false): void {
  const v = o[key];
  if (v === undefined && optional) return;
  if (typeof v !== 'string' || (!optional && v === '')) throw invalid(`${field}.${key}`, `expected a string, got ${JSON.stringify(v)}`);
}

function obj(o: Record<string, unknown>, key: string, field: string, optional = false): void {
  const v = o[key];
  if (v === undefined && optional) return;
  if (!isObject(v)) throw invalid(`${field}.${key}`, `expected an object, got ${JSON.stringify(v)}`);
}

function arr(o: Record<string, unknown>, key: string, field: string): unknown[] {
  const v = o[key];
  if (!Array.isArray(v)) throw invalid(`${field}.${key}`, `expected an array, got ${JSON.stringify(v)}`);
  return v;
}

/** Checks the shape the importer relies on; throws a UserError naming the first bad field. */
export function validateBundle(x: unknown): LegacyBundle {
  if (!isObject(x)) throw invalid('(root)', 'expected a JSON object');
  if (x.format !== BUNDLE_FORMAT) throw invalid('format', `expected "${BUNDLE_FORMAT}", got ${JSON.stringify(x.format)}`);
  if (x.version !== BUNDLE_VERSION) throw invalid('version', `expected ${BUNDLE_VERSION}, got ${JSON.stringify(x.version)}`);
  str(x, 'createdAt', 'bundle');
  obj(x, 'source', 'bundle');
  const source = x.source as Record<string, unknown>;
  str(source, 'home', 'source');
  arr(source, 'generations', 'source').forEach((g, i) => {
    if (typeof g !== 'string') throw invalid(`source.generations[${i}]`, 'expected a string');
  });
  if (x.config !== undefined) {
    obj(x, 'config', 'bundle');
    str(x.config as Record<string, unknown>, 'path', 'config');
    obj(x.config as Record<string, unknown>, 'data', 'config');
  }
  const projectIds = new Set<string>();
  arr(x, 'projects', 'bundle').forEach((p, i) => {
    const f = `projects[${i}]`;
    if (!isObject(p)) throw invalid(f, 'expected an object');
    str(p, 'id', f);
    if (projectIds.has(p.id as string)) throw invalid(`${f}.id`, `duplicate project id ${JSON.stringify(p.id)}`);
    projectIds.add(p.id as string);
    str(p, 'path', f, true);
    obj(p, 'config', f, true);
    obj(p, 'localConfig', f, true);
    arr(p, 'storageDirs', f);
    arr(p, 'files', f);
  });
  const keys = new Set<string>();
  arr(x, 'sessions', 'bundle').forEach((s, i) => {
    const f = `sessions[${i}]`;
    if (!isObject(s)) throw invalid(f, 'expected an object');
    str(s, 'id', f);
    str(s, 'projectId', f);
    if (!projectIds.has(s.projectId as string)) throw invalid(`${f}.projectId`, `no project ${JSON.stringify(s.projectId)} in projects`);
    const key = `${s.projectId}/${s.id}`;
    if (keys.has(key)) throw invalid(`${f}.id`, `duplicate session ${key}`);
    keys.add(key);
    if (!GENERATIONS.includes(s.generation as Generation))
      throw invalid(`${f}.generation`, `expected one of ${GENERATIONS.join(', ')}, got ${JSON.stringify(s.generation)}`);
    if (s.role !== undefined && s.role !== 'worker' && s.role !== 'orchestrator')
      throw invalid(`${f}.role`, `expected worker or orchestrator, got ${JSON.stringify(s.role)}`);
    for (const k of ['agent', 'worktree', 'branch', 'status', 'tmuxName', 'createdAt', 'resumeMissing']) str(s, k, f, true);
    obj(s, 'lifecycle', f, true);
    obj(s, 'runtimeHandle', f, true);
    if (s.archived !== undefined && typeof s.archived !== 'boolean') throw invalid(`${f}.archived`, 'expected a boolean');
    obj(s, 'resume', f);
    const resume = s.resume as Record<string, unknown>;
    for (const k of ['claudeSessionUuid', 'codexThreadId', 'codexModel', 'opencodeSessionId']) str(resume, k, `${f}.resume`, true);
    obj(s, 'extra', f);
    str(s, 'sourcePath', f);
  });
  for (const list of ['quarantine', ...(x.skipped !== undefined ? ['skipped'] : [])])
    arr(x, list, 'bundle').forEach((q, i) => {
      const f = `${list}[${i}]`;
      if (!isObject(q)) throw invalid(f, 'expected an object');
      str(q, 'path', f);
      str(q, 'reason', f);
    });
  return x as unknown as LegacyBundle;
}
