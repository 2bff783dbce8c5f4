import { readFileSync, readdirSync, statSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import type { BundleProject, BundleSession, Generation, QuarantineEntry } from './bundle.js';
import type { LegacyConfig } from './config.js';
import { decodeText } from './kv.js';
import { OPENCODE_SESSION_ID } from './resume.js';
import { isObject } from '../../../common/is-object.js';

// What every legacy generation reader shares: the LegacyHome being filled, safe reads, and mapping one record onto the bundle.
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
export const MOVED_ASIDE_AS_CORRUPT = 'moved aside as corrupt by the legacy CLI';
export const invalidSessionId = (id: string) => `invalid session id ${JSON.stringify(id)} (expected ${SESSION_ID.source})`;

/** The legacy `reserveSessionId` creates the file empty (O_EXCL); its reader returns nothing for it. */
export function isReservation(path: string): boolean {
  try {
    return statSync(path).size === 0;
  } catch {
    return false;
  }
}
export const HEX12 = /^[0-9a-f]{12}$/;
export const V1A_DIR = /^([0-9a-f]{12})-(.+)$/;
export const ARCHIVE_NAME = /^([a-zA-Z0-9_-]+?)_(\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}(?:-\d+)?Z)$/;
export const CORRUPT = /\.corrupt-\d+$/;
export const JSON_KEYS = ['runtimeHandle', 'statePayload', 'prEnrichment', 'prReviewComments'];
export const ORCHESTRATOR_ID = /-orchestrator(-\d+)?$/;

export function listDir(dir: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

export function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

export function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

export function parseJsonValue(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw; // carried as written: a truncated JSON value is still data
  }
}

export function roleOf(id: string, declared: unknown, kind: unknown): 'worker' | 'orchestrator' {
  return declared === 'orchestrator' || kind === 'orchestrator' || ORCHESTRATOR_ID.test(id) ? 'orchestrator' : 'worker';
}

/** Maps one record (V1 key=value strings or V2 typed JSON) onto the bundle's session fields; the rest goes to `extra`. */
export function toSession(id: string, projectId: string, generation: Generation, record: Record<string, unknown>, sourcePath: string): BundleSession {
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

export interface Candidate {
  session: BundleSession;
  /** 12-hex key of the V1 dir it came from (what `__from-{hash}` names), or "" for ~/.ao-sessions. */
  dirKey: string;
  archiveTime?: string;
}

export function readTextFile(path: string, quarantine: QuarantineEntry[]): string | undefined {
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
export function inventory(dir: string, skip: Set<string>, out: string[] = []): string[] {
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

export function addProject(home: LegacyHome, id: string, storageDir?: string): BundleProject {
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
