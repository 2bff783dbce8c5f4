import { UserError } from './errors.js';

/**
 * An archive's entry list checked as a whole before anything is written
 * (traversal, absolute paths, drive letters, links out, writing through a link,
 * duplicate or case-colliding names, declared size over the cap), so a hostile
 * archive writes nothing. The cap is enforced again while writing (archive-write.ts)
 * because declared sizes can lie.
 */
export interface PlannedEntry {
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'hardlink';
  mode: number;
  size: number;
  link?: string;
  /** sha512 (SRI) of a file's bytes as written, for `ao-app verify`. */
  integrity?: string;
}

export function refuse(archive: string, why: string): UserError {
  return new UserError({
    what: `refusing to unpack ${archive}`,
    why,
    fix: 'nothing was installed; report this to the ao maintainers, the release artifact is unsafe',
    code: 'EUNSAFEARCHIVE',
  });
}

function segmentsOf(archive: string, raw: string): string[] {
  if (raw.includes('\0')) throw refuse(archive, `entry ${JSON.stringify(raw)} contains a NUL byte`);
  const name = raw.replace(/\\/g, '/');
  if (name.startsWith('/')) throw refuse(archive, `entry ${JSON.stringify(raw)} is an absolute path`);
  if (/^[a-zA-Z]:/.test(name)) throw refuse(archive, `entry ${JSON.stringify(raw)} names a Windows drive`);
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw refuse(archive, `entry ${JSON.stringify(raw)} climbs out with ".."`);
  if (parts.length === 0) throw refuse(archive, `entry ${JSON.stringify(raw)} has no name`);
  return parts;
}

/** Checks the entry list as a whole; returns entries with clean "/"-joined paths. */
export function checkPlan(archive: string, raw: Array<Omit<PlannedEntry, 'path'> & { path: string }>, cap: number): PlannedEntry[] {
  const entries: PlannedEntry[] = [];
  const byPath = new Map<string, PlannedEntry>();
  const byLower = new Map<string, { path: string; dir: boolean }>();
  let total = 0;
  const claim = (path: string, dir: boolean) => {
    const seen = byLower.get(path.toLowerCase());
    if (!seen) return void byLower.set(path.toLowerCase(), { path, dir });
    if (seen.path !== path) throw refuse(archive, `entries "${seen.path}" and "${path}" differ only in case (they collide on macOS and Windows)`);
    if (!(seen.dir && dir)) throw refuse(archive, `entry "${path}" appears more than once`);
  };
  for (const e of raw) {
    // `tar czf x.tar.gz -C dir .` starts with a "./" entry: the root itself, nothing to create.
    if (e.type === 'dir' && /^(\.\/?)+$/.test(e.path)) continue;
    const parts = segmentsOf(archive, e.path);
    const path = parts.join('/');
    for (let i = 1; i < parts.length; i++) claim(parts.slice(0, i).join('/'), true);
    claim(path, e.type === 'dir');
    total += e.type === 'file' ? e.size : 0;
    if (total > cap) throw refuse(archive, `it unpacks to more than ${cap} bytes, the cap the manifest allows`);
    const entry = { ...e, path };
    entries.push(entry);
    byPath.set(path, entry);
  }
  const links = new Map(entries.filter((e) => e.type === 'symlink').map((e) => [e.path, e.link ?? '']));
  for (const e of entries) {
    const parts = e.path.split('/');
    for (let i = 1; i < parts.length; i++) {
      if (links.has(parts.slice(0, i).join('/')))
        throw refuse(archive, `entry "${e.path}" would be written through the symlink "${parts.slice(0, i).join('/')}"`);
    }
    if (e.type === 'symlink') {
      const target = e.link ?? '';
      if (target.startsWith('/') || /^[a-zA-Z]:/.test(target) || target.includes('\\'))
        throw refuse(archive, `symlink "${e.path}" points to the absolute path ${JSON.stringify(target)}`);
      if (resolveInside([...parts.slice(0, -1), ...target.split('/')], links, 0) === undefined)
        throw refuse(archive, `symlink "${e.path}" points outside the app (${JSON.stringify(target)})`);
    }
    if (e.type === 'hardlink') {
      const target = (e.link ?? '')
        .replace(/\\/g, '/')
        .split('/')
        .filter((p) => p && p !== '.');
      const dest = byPath.get(target.join('/'));
      if (target.includes('..') || (e.link ?? '').startsWith('/') || !dest || dest.type !== 'file')
        throw refuse(archive, `hardlink "${e.path}" points outside the app's files (${JSON.stringify(e.link)})`);
    }
  }
  return entries;
}

/** Resolves a path inside the archive's own tree, following its symlinks; undefined when it leaves the root. */
function resolveInside(segments: string[], links: Map<string, string>, depth: number): string[] | undefined {
  if (depth > 32) return undefined;
  const out: string[] = [];
  for (const seg of segments) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length === 0) return undefined;
      out.pop();
      continue;
    }
    out.push(seg);
    const link = links.get(out.join('/'));
    if (link !== undefined) {
      if (link.startsWith('/')) return undefined;
      const resolved = resolveInside([...out.slice(0, -1), ...link.split('/')], links, depth + 1);
      if (resolved === undefined) return undefined;
      out.splice(0, out.length, ...resolved);
    }
  }
  return out;
}

/** An entry name as the plan keeps it: "/"-separated, no empty or "." segments. */
export const cleanPath = (path: string) =>
  path
    .replace(/\\/g, '/')
    .split('/')
    .filter((p) => p && p !== '.')
    .join('/');
