import { createHash } from 'node:crypto';
import { basename, dirname } from 'node:path';

// How the legacy CLI named project storage: origin URLs normalized and hashed (V1b), config-dir hashes (V1a).
// Memoized: every V1 dir is checked against every configured project, so the same inputs recur.
export const hashes = new Map<string, string>();
export function sha256hex(s: string): string {
  let h = hashes.get(s);
  if (h === undefined) {
    h = createHash('sha256').update(s, 'utf8').digest('hex');
    if (hashes.size > 100_000) hashes.clear();
    hashes.set(s, h);
  }
  return h;
}

/** `git@host:path` -> `https://host/path`, scheme and host lower-cased, trailing `/` and `.git` removed (the V1b key input). */
export function normalizeOrigin(url: string): string {
  let u = url.trim();
  const scp = /^([^@/]+@)?([^:/]+):(?!\/)(.*)$/.exec(u);
  if (scp && !/^[a-z]+:\/\//i.test(u)) u = `https://${scp[2]}/${scp[3]}`;
  const m = /^([a-z][a-z0-9+.-]*):\/\/(?:[^@/]+@)?([^/]+)(.*)$/i.exec(u);
  if (m) u = `${m[1]!.toLowerCase()}://${m[2]!.toLowerCase()}${m[3]}`;
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
