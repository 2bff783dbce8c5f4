import { join } from 'node:path';
import { type LegacyHome, listDir, isDir, type Candidate, addProject } from './records.js';
import { readV1Sessions } from './read-v1.js';

// V0: the oldest layout, key=value sessions in ~/.ao-sessions.
export function readV0(home: LegacyHome): Candidate[] {
  const root = join(home.home, '.ao-sessions');
  if (!isDir(root)) return [];
  home.generations.add('v0');
  const out: Candidate[] = [];
  const consumed = new Set<string>();
  // Flat files are sessions naming their project in `project=`; subdirs (other than archive) are per-project.
  const flat = readV1Sessions(
    root,
    (r) => (r.project && /^[a-zA-Z0-9][a-zA-Z0-9._-]*$/.test(r.project) ? r.project : 'ao-sessions'),
    'v0',
    '',
    home.quarantine,
    consumed,
    home.skipped,
  );
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
