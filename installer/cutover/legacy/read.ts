// Reads every legacy generation (read-v2.ts, read-v1.ts, read-v0.ts) and merges them into one LegacyHome.
import { join } from 'node:path';
import type { BundleSession } from './bundle.js';
import { LEGACY_BASE, legacyConfigPath, readYamlConfig, type LegacyConfig } from './config.js';
import { type LegacyHome, listDir, type Candidate, addProject } from './records.js';
import { classifyBaseEntry, readV1 } from './read-v1.js';
import { readV2 } from './read-v2.js';
import { readV0 } from './read-v0.js';

export { DIRECTORY_NAMED_LIKE_SESSION, RESERVED, SESSION_ID, type LegacyHome } from './records.js';
export { normalizeOrigin, v1aDirName, v1bStorageKey } from './origin.js';

/** V2 wins over V1 for the same session; V1/V0 collisions keep the first and rename the rest (`{sid}__from-{key}`), never dropping one. */
function merge(home: LegacyHome, v2: Candidate[], v1: Candidate[], v0: Candidate[]): void {
  const taken = new Map<string, BundleSession>();
  // `projectId/sid` -> the dir keys of the V1 records the migration renamed to `{sid}__from-{key}`.
  const renamedInV2 = new Map<string, string[]>();
  for (const c of v2) {
    taken.set(`${c.session.projectId}/${c.session.id}`, c.session);
    const m = /^(.+)__from-([0-9a-z]+)$/.exec(c.session.id);
    if (m) renamedInV2.set(`${c.session.projectId}/${m[1]}`, [...(renamedInV2.get(`${c.session.projectId}/${m[1]}`) ?? []), m[2]!]);
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
