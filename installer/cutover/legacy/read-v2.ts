import { join, relative } from 'node:path';
import { isObject } from '../../../common/is-object.js';
import {
  type LegacyHome,
  SESSION_ID,
  MOVED_ASIDE_AS_CORRUPT,
  invalidSessionId,
  RESERVED,
  DIRECTORY_NAMED_LIKE_SESSION,
  isReservation,
  CORRUPT,
  listDir,
  toSession,
  type Candidate,
  readTextFile,
  inventory,
  addProject,
} from './records.js';

// V2: typed JSON session records under projects/<id>/sessions/.
export function readV2(home: LegacyHome): Candidate[] {
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
        home.quarantine.push({ path, reason: MOVED_ASIDE_AS_CORRUPT });
        continue;
      }
      if (!e.name.endsWith('.json')) continue; // .json.lock and others: inventoried below
      consumed.add(path);
      const id = e.name.slice(0, -'.json'.length);
      if (!SESSION_ID.test(id)) {
        home.quarantine.push({ path, reason: invalidSessionId(id) });
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
