import { readFileSync, type Dirent } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Generation, QuarantineEntry } from './bundle.js';
import { readYamlConfig, type LegacyConfig } from './config.js';
import { parseKeyValue } from './kv.js';
import { isObject } from '../../../common/is-object.js';
import { v1bStorageKey, v1aDirName } from './origin.js';
import {
  type LegacyHome,
  SESSION_ID,
  MOVED_ASIDE_AS_CORRUPT,
  invalidSessionId,
  RESERVED,
  DIRECTORY_NAMED_LIKE_SESSION,
  isReservation,
  HEX12,
  V1A_DIR,
  ARCHIVE_NAME,
  CORRUPT,
  listDir,
  isFile,
  isDir,
  toSession,
  type Candidate,
  readTextFile,
  inventory,
  addProject,
} from './records.js';

// V1: key=value session files under <12-hex>-<name> (V1a) or <12-hex> (V1b) project dirs, live and archived.
export interface V1Dir {
  name: string;
  path: string;
  migrated: boolean;
  generation: Generation;
  storageKey: string;
}

/** Reads the key=value sessions (live and archived) of one V1 project dir or of `~/.ao-sessions`. */
export function readV1Sessions(
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
        readOne(apath, m[1]!, m[2]!);
      }
    } else if (e.isFile()) {
      if (CORRUPT.test(e.name)) {
        consumed.add(path);
        quarantine.push({ path, reason: MOVED_ASIDE_AS_CORRUPT });
      } else if (!SESSION_ID.test(e.name)) {
        consumed.add(path);
        quarantine.push({ path, reason: invalidSessionId(e.name) });
      } else {
        readOne(path, e.name);
      }
    }
  }
  return out;
}

export function classifyBaseEntry(e: Dirent): V1Dir | undefined {
  if (!e.isDirectory()) return undefined;
  const migrated = e.name.endsWith('.migrated');
  const name = migrated ? e.name.slice(0, -'.migrated'.length) : e.name;
  if (HEX12.test(name)) return { name: e.name, path: '', migrated, generation: 'v1b', storageKey: name };
  const m = V1A_DIR.exec(name);
  if (m && m[2] !== 'observability') return { name: e.name, path: '', migrated, generation: 'v1a', storageKey: m[1]! };
  return undefined;
}

/**
 * Which project a V1 dir belongs to: config storageKey, then the V1a/V1b key recomputed from each configured project
 * (also those of a local `agent-orchestrator.yaml` that `.origin` names), then the sessions' `project=`, then the dir name.
 */
export function v1ProjectId(
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

export function readV1(home: LegacyHome, configs: LegacyConfig[]): Candidate[] {
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
