import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync, type Dirent } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import type { BundleProject, BundleSession, Generation, QuarantineEntry } from './bundle.js';
import { LEGACY_BASE, legacyConfigPath, readYamlConfig, type LegacyConfig } from './config.js';
import { decodeText, parseKeyValue } from './kv.js';
import { OPENCODE_SESSION_ID } from './resume.js';
import { isObject } from '../../../common/is-object.js';

/** What the legacy home holds, before resume ids are derived. Reading never writes to the home. */
export interface LegacyHome {
  home: string;
  base: string;
  config?: LegacyConfig;
  projects: Map<string, BundleProject>;
  sessions: BundleSession[];
  quarantine: QuarantineEntry[];
  /** Entries that are neither sessions nor corruption, named with the reason (empty reservations, odd directories). */
  skipped: QuarantineEntry[];
  generations: Set<string>;
  /** V1 sessions left out because a V2 record describes the same session (half-migrated homes). */
  supersededByV2: string[];
  /** V1 dir name -> its 12-hex storage key (for tmux names `{key}-{sessionId}`). */
  storageKeyOfDir: Map<string, string>;
  migrationInProgress: boolean;
  /** Top-level entries of the base dir that are not project storage (running.json, portfolio/, ...). */
  otherEntries: string[];
}

export const SESSION_ID = /^[a-zA-Z0-9_-]+$/;
export const RESERVED = 'empty: a session id reserved by the legacy CLI, never used';
export const DIRECTORY_NAMED_LIKE_SESSION = 'a directory named like a session file';

/** The legacy `reserveSessionId` creates the file empty (O_EXCL); its reader returns nothing for it. */
function isReservation(path: string): boolean {
  try {
    return statSync(path).size === 0;
  } catch {
    return false;
  }
}
const HEX12 = /^[0-9a-f]{12}$/;
const V1A_DIR = /^([0-9a-f]{12})-(.+)$/;
const ARCHIVE_NAME = /^([a-zA-Z0-9_-]+?)_(\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}(?:-\d+)?Z)$/;
const CORRUPT = /\.corrupt-\d+$/;
const JSON_KEYS = ['runtimeHandle', 'statePayload', 'prEnrichment', 'prReviewComments'];
const ORCHESTRATOR_ID = /-orchestrator(-\d+)?$/;

// Memoized: every V1 dir is checked against every configured project, so the same inputs recur.
const hashes = new Map<string, string>();
function sha256hex(s: string): string {
  let h = hashes.get(s);
  if (h === undefined) {
    h = createHash('sha256').update(s, 'utf8').digest('hex');
    if (hashes.size > 100_000) hashes.clear();
    hashes.set(s, h);
  }
  return h;
}

function listDir(dir: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** `git@host:path` -> `https://host/path`, scheme and host lower-cased, trailing `/` and `.git` removed (the V1b key input). */
export function normalizeOrigin(url: string): string {
  let u = url.trim();
  const scp = /^([^@/]+@)?([^:/]+):(?!\/)(.*)$/.exec(u);
  if (scp && !/^[a-z]+:\/\//i.test(u)) u = `https://${scp[2]}/${scp[3]}`;
  const m = /^([a-z][a-z0-9+.-]*):\/\/(?:[^@/]+@)?([^/]+)(.*)$/i.exec(u);
  if (m) u = `${m[1].toLowerCase()}://${m[2].toLowerCase()}${m[3]}`;
  for (;;) {
    if (u.endsWith('/')) u = u.slice(0, -1);
    else if (u.endsWith('.git')) u = u.slice(0, -4);
    else break;
  }
  return u;
}

/** The V1b storage key: sha256(normalizedOrigin + "#" + subdir), first 12 hex. */
export function v1bStorageKey(originUrl: string | undefined, gitRoot: string, subdir = ''): string {
  const origin = originUrl ? normalizeOrigin(originUrl) : `local://${gitRoot}`;
  return sha256hex(`${origin}#${subdir}`).slice(0, 12);
}

/** The V1a dir name: first 12 hex of sha256(config dir) + "-" + basename(project path). */
export function v1aDirName(configPath: string, projectPath: string): string {
  return `${sha256hex(dirname(configPath)).slice(0, 12)}-${basename(projectPath)}`;
}

function parseJsonValue(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw; // carried as written: a truncated JSON value is still data
  }
}

function roleOf(id: string, declared: unknown, kind: unknown): 'worker' | 'orchestrator' {
  return declared === 'orchestrator' || kind === 'orchestrator' || ORCHESTRATOR_ID.test(id) ? 'orchestrator' : 'worker';
}

/** Maps one record (V1 key=value strings or V2 typed JSON) onto the bundle's session fields; the rest goes to `extra`. */
function toSession(
  id: string,
  projectId: string,
  generation: Generation,
  record: Record<string, unknown>,
  sourcePath: string,
): BundleSession {
  const extra: Record<string, unknown> = {};
  const s: BundleSession = { id, projectId, generation, resume: {}, extra, sourcePath };
  for (const [key, raw] of Object.entries(record)) {
    const value = typeof raw === 'string' && JSON_KEYS.includes(key) ? parseJsonValue(raw) : raw;
    switch (key) {
      case 'worktree':
      case 'branch':
      case 'status':
      case 'tmuxName':
      case 'agent':
      case 'createdAt':
        if (typeof value === 'string' && value !== '') s[key] = value;
        else extra[key] = value;
        break;
      case 'runtimeHandle':
        if (isObject(value)) s.runtimeHandle = value;
        else extra[key] = value;
        break;
      case 'lifecycle':
      case 'statePayload':
        if (isObject(value) && !s.lifecycle) s.lifecycle = value;
        else extra[key] = value;
        break;
      case 'opencodeSessionId':
        if (typeof value === 'string' && OPENCODE_SESSION_ID.test(value)) s.resume.opencodeSessionId = value;
        else extra[key] = value;
        break;
      case 'role':
        if (value !== 'orchestrator' && value !== 'worker') extra[key] = value;
        break;
      case 'id':
      case 'projectId':
        if (value !== (key === 'id' ? id : projectId)) extra[key] = value;
        break;
      default:
        extra[key] = value;
    }
  }
  const lifecycleSession = isObject(s.lifecycle?.session) ? (s.lifecycle!.session as Record<string, unknown>) : {};
  s.role = roleOf(id, record.role, lifecycleSession.kind);
  return s;
}

interface V1Dir {
  name: string;
  path: string;
  migrated: boolean;
  generation: Generation;
  storageKey: string;
}

interface Candidate {
  session: BundleSession;
  /** 12-hex key of the V1 dir it came from (what `__from-{hash}` names), or "" for ~/.ao-sessions. */
  dirKey: string;
  archiveTime?: string;
}

function readTextFile(path: string, quarantine: QuarantineEntry[]): string | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    quarantine.push({ path, reason: `cannot read: ${(err as Error).message}` });
    return undefined;
  }
  const decoded = decodeText(bytes);
  if ('error' in decoded) {
    quarantine.push({ path, reason: decoded.error });
    return undefined;
  }
  return decoded.text;
}

/** Every regular file under `dir` (recursively), except the worktrees and the GitHub cache. */
function inventory(dir: string, skip: Set<string>, out: string[] = []): string[] {
  for (const e of listDir(dir)) {
    const path = join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'worktrees' && e.name !== '.ghcache') inventory(path, skip, out);
    } else if (!skip.has(path)) {
      out.push(path);
    }
  }
  return out;
}

/** Reads the key=value sessions (live and archived) of one V1 project dir or of `~/.ao-sessions`. */
function readV1Sessions(
  sessionsDir: string,
  projectId: (record: Record<string, string>) => string,
  generation: Generation,
  dirKey: string,
  quarantine: QuarantineEntry[],
  consumed: Set<string>,
  skipped: QuarantineEntry[],
): Candidate[] {
  const out: Candidate[] = [];
  const readOne = (path: string, id: string, archiveTime?: string): void => {
    consumed.add(path);
    if (isReservation(path)) {
      skipped.push({ path, reason: RESERVED });
      return;
    }
    const text = readTextFile(path, quarantine);
    if (text === undefined) return;
    const record = parseKeyValue(text);
    const session = toSession(id, projectId(record), generation, record, path);
    if (archiveTime) {
      session.archived = true;
      session.extra.archivedAt = archiveTime;
    }
    out.push({ session, dirKey, archiveTime });
  };
  for (const e of listDir(sessionsDir)) {
    const path = join(sessionsDir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'archive') {
        if (SESSION_ID.test(e.name)) skipped.push({ path, reason: DIRECTORY_NAMED_LIKE_SESSION });
        continue; // .agent-report-audit, .ghcache: inventoried with the project
      }
      for (const a of listDir(path)) {
        const apath = join(path, a.name);
        if (!a.isFile()) continue;
        const m = ARCHIVE_NAME.exec(a.name);
        if (!m) {
          consumed.add(apath);
          quarantine.push({ path: apath, reason: 'archive name is not {sessionId}_{time}' });
          continue;
        }
        readOne(apath, m[1], m[2]);
      }
    } else if (e.isFile()) {
      if (CORRUPT.test(e.name)) {
        consumed.add(path);
        quarantine.push({ path, reason: 'moved aside as corrupt by the legacy CLI' });
      } else if (!SESSION_ID.test(e.name)) {
        consumed.add(path);
        quarantine.push({ path, reason: `invalid session id ${JSON.stringify(e.name)} (expected ^[a-zA-Z0-9_-]+$)` });
      } else {
        readOne(path, e.name);
      }
    }
  }
  return out;
}

function classifyBaseEntry(e: Dirent): V1Dir | undefined {
  if (!e.isDirectory()) return undefined;
  const migrated = e.name.endsWith('.migrated');
  const name = migrated ? e.name.slice(0, -'.migrated'.length) : e.name;
  if (HEX12.test(name)) return { name: e.name, path: '', migrated, generation: 'v1b', storageKey: name };
  const m = V1A_DIR.exec(name);
  if (m && m[2] !== 'observability') return { name: e.name, path: '', migrated, generation: 'v1a', storageKey: m[1] };
  return undefined;
}

/**
 * Which project a V1 dir belongs to: config storageKey, then the V1a/V1b key recomputed from each configured project
 * (also those of a local `agent-orchestrator.yaml` that `.origin` names), then the sessions' `project=`, then the dir name.
 */
function v1ProjectId(
  dir: V1Dir,
  configs: LegacyConfig[],
  records: Array<Record<string, string>>,
  localConfig: (path: string) => LegacyConfig | undefined,
): { id: string; localConfig?: LegacyConfig } {
  const name = dir.migrated ? dir.name.slice(0, -'.migrated'.length) : dir.name;
  let origin: string | undefined;
  try {
    origin = readFileSync(join(dir.path, '.origin'), 'utf8').trim() || undefined;
  } catch {
    origin = undefined;
  }
  for (const config of configs) {
    for (const [id, p] of config.projects) if (p.storageKey === name) return { id };
  }
  const local = origin && !configs.some((c) => c.path === origin) ? localConfig(origin) : undefined;
  for (const config of local ? [...configs, local] : configs) {
    for (const [id, p] of config.projects) {
      if (typeof p.path !== 'string') continue;
      // Local configs may name the project relative to themselves.
      const path = resolve(dirname(config.path), p.path);
      if (v1aDirName(origin ?? config.path, path) === name) return { id, localConfig: config === local ? local : undefined };
      const repo = isObject(p.repo) ? p.repo : {};
      const originUrl = typeof repo.originUrl === 'string' ? repo.originUrl : undefined;
      if (v1bStorageKey(originUrl, path) === name) return { id, localConfig: config === local ? local : undefined };
    }
  }
  const votes = new Map<string, number>();
  for (const r of records) if (r.project && /^[a-zA-Z0-9][a-zA-Z0-9._-]*$/.test(r.project)) votes.set(r.project, (votes.get(r.project) ?? 0) + 1);
  const top = [...votes].sort((a, b) => b[1] - a[1])[0];
  return { id: top ? top[0] : name, localConfig: local };
}

function addProject(home: LegacyHome, id: string, storageDir?: string): BundleProject {
  let p = home.projects.get(id);
  if (!p) {
    p = { id, storageDirs: [], files: [] };
    const entry = home.config?.projects.get(id);
    if (entry) {
      p.config = entry;
      if (typeof entry.path === 'string') p.path = entry.path;
      if (typeof entry.displayName === 'string') p.displayName = entry.displayName;
    }
    home.projects.set(id, p);
  }
  if (storageDir && !p.storageDirs.includes(storageDir)) p.storageDirs.push(storageDir);
  return p;
}

function readV2(home: LegacyHome): Candidate[] {
  const out: Candidate[] = [];
  const root = join(home.base, 'projects');
  for (const pe of listDir(root)) {
    if (!pe.isDirectory()) continue;
    const projectId = pe.name;
    const pdir = join(root, projectId);
    const project = addProject(home, projectId, relative(home.base, pdir));
    home.generations.add('v2');
    const consumed = new Set<string>();
    const sdir = join(pdir, 'sessions');
    for (const e of listDir(sdir)) {
      const path = join(sdir, e.name);
      if (e.isDirectory() && e.name.endsWith('.json')) {
        home.skipped.push({ path, reason: DIRECTORY_NAMED_LIKE_SESSION });
        continue;
      }
      if (!e.isFile()) continue;
      if (CORRUPT.test(e.name)) {
        consumed.add(path);
        home.quarantine.push({ path, reason: 'moved aside as corrupt by the legacy CLI' });
        continue;
      }
      if (!e.name.endsWith('.json')) continue; // .json.lock and others: inventoried below
      consumed.add(path);
      const id = e.name.slice(0, -'.json'.length);
      if (!SESSION_ID.test(id)) {
        home.quarantine.push({ path, reason: `invalid session id ${JSON.stringify(id)} (expected ^[a-zA-Z0-9_-]+$)` });
        continue;
      }
      if (isReservation(path)) {
        home.skipped.push({ path, reason: RESERVED });
        continue;
      }
      const text = readTextFile(path, home.quarantine);
      if (text === undefined) continue;
      let record: unknown;
      try {
        record = JSON.parse(text);
      } catch (err) {
        home.quarantine.push({ path, reason: `not valid JSON: ${(err as Error).message}` });
        continue;
      }
      if (!isObject(record)) {
        home.quarantine.push({ path, reason: 'session JSON is not an object' });
        continue;
      }
      out.push({ session: toSession(id, projectId, 'v2', record, path), dirKey: '' });
    }
    project.files.push(...inventory(pdir, consumed));
  }
  return out;
}

function readV1(home: LegacyHome, configs: LegacyConfig[]): Candidate[] {
  const dirs = listDir(home.base)
    .map((e) => {
      const d = classifyBaseEntry(e);
      if (d) d.path = join(home.base, e.name);
      return d;
    })
    .filter((d): d is V1Dir => d !== undefined && (isDir(join(d.path, 'sessions')) || isFile(join(d.path, '.origin'))));
  // Live V1 dirs before their stale `.migrated` snapshots: the first reader of an id keeps it.
  dirs.sort((a, b) => Number(a.migrated) - Number(b.migrated) || a.name.localeCompare(b.name));
  const localConfigs = new Map<string, LegacyConfig | undefined>();
  const readLocalConfig = (path: string): LegacyConfig | undefined => {
    if (!localConfigs.has(path)) localConfigs.set(path, readYamlConfig(path, home.quarantine));
    return localConfigs.get(path);
  };
  const out: Candidate[] = [];
  for (const dir of dirs) {
    home.generations.add(dir.generation);
    home.storageKeyOfDir.set(dir.name, dir.storageKey);
    const consumed = new Set<string>();
    const pending: Array<Record<string, string>> = [];
    const candidates = readV1Sessions(
      join(dir.path, 'sessions'),
      (record) => {
        pending.push(record);
        return '';
      },
      dir.generation,
      dir.storageKey,
      home.quarantine,
      consumed,
      home.skipped,
    );
    const { id: resolvedId, localConfig } = v1ProjectId(dir, configs, pending, readLocalConfig);
    for (const c of candidates) c.session.projectId = resolvedId;
    const project = addProject(home, resolvedId, dir.name);
    if (localConfig) project.localConfig = { path: localConfig.path, data: localConfig.data };
    project.files.push(...inventory(dir.path, consumed));
    out.push(...candidates);
  }
  return out;
}

function readV0(home: LegacyHome): Candidate[] {
  const root = join(home.home, '.ao-sessions');
  if (!isDir(root)) return [];
  home.generations.add('v0');
  const out: Candidate[] = [];
  const consumed = new Set<string>();
  // Flat files are sessions naming their project in `project=`; subdirs (other than archive) are per-project.
  const flat = readV1Sessions(root, (r) => r.project && /^[a-zA-Z0-9][a-zA-Z0-9._-]*$/.test(r.project) ? r.project : 'ao-sessions', 'v0', '', home.quarantine, consumed, home.skipped);
  out.push(...flat);
  for (const e of listDir(root)) {
    if (!e.isDirectory() || e.name === 'archive' || e.name.startsWith('.')) continue;
    const dir = join(root, e.name);
    const sessionsDir = isDir(join(dir, 'sessions')) ? join(dir, 'sessions') : dir;
    out.push(...readV1Sessions(sessionsDir, () => e.name, 'v0', '', home.quarantine, consumed, home.skipped));
  }
  for (const c of out) addProject(home, c.session.projectId, join('..', '.ao-sessions'));
  return out;
}

/** V2 wins over V1 for the same session; V1/V0 collisions keep the first and rename the rest (`{sid}__from-{key}`), never dropping one. */
function merge(home: LegacyHome, v2: Candidate[], v1: Candidate[], v0: Candidate[]): void {
  const taken = new Map<string, BundleSession>();
  // `projectId/sid` -> the dir keys of the V1 records the migration renamed to `{sid}__from-{key}`.
  const renamedInV2 = new Map<string, string[]>();
  for (const c of v2) {
    taken.set(`${c.session.projectId}/${c.session.id}`, c.session);
    const m = /^(.+)__from-([0-9a-z]+)$/.exec(c.session.id);
    if (m) renamedInV2.set(`${c.session.projectId}/${m[1]}`, [...(renamedInV2.get(`${c.session.projectId}/${m[1]}`) ?? []), m[2]]);
  }
  home.sessions.push(...v2.map((c) => c.session));
  const supersededByV2 = (c: Candidate): boolean => {
    const { projectId, id } = c.session;
    const renamedFrom = c.dirKey ? (renamedInV2.get(`${projectId}/${id}`) ?? []) : [];
    if (renamedFrom.some((h) => h.startsWith(c.dirKey) || c.dirKey.startsWith(h))) return true;
    return taken.get(`${projectId}/${id}`)?.generation === 'v2';
  };
  // Live sessions claim their ids before archives do.
  const ordered = [...v1, ...v0].sort((a, b) => Number(a.session.archived ?? false) - Number(b.session.archived ?? false));
  for (const c of ordered) {
    if (supersededByV2(c)) {
      home.supersededByV2.push(c.session.sourcePath);
      continue;
    }
    const s = c.session;
    let key = `${s.projectId}/${s.id}`;
    if (taken.has(key)) {
      const original = s.id;
      const suffix = c.archiveTime ? `__archive-${c.archiveTime}` : `__from-${c.dirKey || 'ao-sessions'}`;
      s.id = `${original}${suffix}`;
      for (let n = 2; taken.has(`${s.projectId}/${s.id}`); n++) s.id = `${original}${suffix}-${n}`;
      s.extra.originalId ??= original;
      key = `${s.projectId}/${s.id}`;
    }
    taken.set(key, s);
    home.sessions.push(s);
  }
}

/** Reads every legacy generation under `home` (the user's home dir). Opens files read-only; never writes. */
export function readLegacyHome(home: string, env: NodeJS.ProcessEnv = process.env): LegacyHome {
  const base = join(home, LEGACY_BASE);
  const result: LegacyHome = {
    home,
    base,
    projects: new Map(),
    sessions: [],
    quarantine: [],
    skipped: [],
    generations: new Set(),
    supersededByV2: [],
    storageKeyOfDir: new Map(),
    migrationInProgress: false,
    otherEntries: [],
  };
  const configPath = legacyConfigPath(home, { ...env, HOME: home });
  result.config = readYamlConfig(configPath, result.quarantine);
  // The storage migration strips storageKey from the config after saving this copy; older keys still map V1 dirs.
  const preMigration = readYamlConfig(`${configPath}.pre-migration`, result.quarantine);
  const configs = [result.config, preMigration].filter((c): c is LegacyConfig => c !== undefined);
  if (result.config) for (const id of result.config.projects.keys()) addProject(result, id);

  const v2 = readV2(result);
  const v1 = readV1(result, configs);
  const v0 = readV0(result);
  merge(result, v2, v1, v0);

  for (const e of listDir(base)) {
    if (e.name === 'projects' || classifyBaseEntry(e)) continue;
    if (e.name === '.migration-in-progress') result.migrationInProgress = true;
    result.otherEntries.push(e.name);
  }
  return result;
}
