import { UserError } from './errors.js';

/**
 * An archive's entry list checked as a whole before anything is written
 * (traversal, absolute paths, drive letters, links out or empty, writing through a link,
 * hardlinks before their target, duplicate names or names colliding by case or Unicode
 * normalisation, declared size over the cap), so a hostile
 * archive writes nothing. The cap is enforced again while writing (archive-write.ts)
 * because declared sizes can lie.
 */
export interface PlannedEntry {
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'hardlink';
  mode: number;
  size: number;
  link?: string;
  /** The digest (SRI, sha256: archive-write.ts) of a file's bytes as written, a tar hardlink's its target's, for `ao-app verify`. */
  integrity?: string;
}

/**
 * The file ao-app writes last into an unpacked version (installer/app/install.ts): an archive's own entry of that name
 * would be replaced, and the app then called damaged by every verify and downloaded again by every install.
 */
export const COMPLETION_MARKER = '.ao-app-complete.json';

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

/**
 * Checks the entry list as a whole; returns the raw entries themselves (no copies: an Electron app
 * has ~3,000), their paths made clean and "/"-joined, each keeping whatever else it carried (a zip
 * entry's offset, sizes and CRC-32).
 */
export function checkPlan<T extends PlannedEntry>(archive: string, raw: T[], cap: number, forWindows = process.platform === 'win32'): T[] {
  const entries: T[] = [];
  const byPath = new Map<string, T>();
  const byFolded = new Map<string, { path: string; kind: Claim }>();
  // Folders already claimed, by their exact path: each is folded and checked once, not once per entry inside it.
  const claimedDirs = new Set<string>();
  let total = 0;
  /** `entry`: the entry being checked, which is `path` itself or lies inside the folder `path`. */
  const claim = (path: string, kind: Claim, entry: string) => {
    const folded = foldName(path);
    const seen = byFolded.get(folded);
    if (!seen) return void byFolded.set(folded, { path, kind });
    if (seen.path !== path)
      throw refuse(archive, `entries ${shown(seen.path)} and ${shown(path)} differ only in case or Unicode normalisation (they collide on macOS and Windows)`);
    if (seen.kind === 'dir' && kind === 'dir') return;
    if (seen.kind === 'symlink' && kind === 'dir') throw refuse(archive, `entry "${entry}" would be written through the symlink "${path}"`);
    if (seen.kind === 'dir' && kind === 'symlink') throw refuse(archive, `symlink "${path}" would replace a folder the archive writes into`);
    throw refuse(archive, `entry "${path}" appears more than once`);
  };
  for (const e of raw) {
    // `tar czf x.tar.gz -C dir .` starts with a "./" entry: the root itself, nothing to create.
    if (e.type === 'dir' && /^(\.\/?)+$/.test(e.path)) continue;
    const parts = segmentsOf(archive, e.path);
    const path = parts.join('/');
    if (forWindows) checkWindowsName(archive, path);
    if (parts.length === 1 && namesCompletionMarker(path))
      throw refuse(archive, `entry ${shown(e.path)} has the name of the completion marker ao-app writes into the installed app`);
    for (let cut = path.indexOf('/'); cut !== -1; cut = path.indexOf('/', cut + 1)) {
      const dir = path.slice(0, cut);
      if (claimedDirs.has(dir)) continue;
      claim(dir, 'dir', path);
      claimedDirs.add(dir);
    }
    claim(path, e.type === 'dir' ? 'dir' : e.type === 'symlink' ? 'symlink' : 'other', path);
    total += e.type === 'file' ? e.size : 0;
    if (total > cap) throw refuse(archive, `it unpacks to more than ${cap} bytes, the cap the manifest allows`);
    e.path = path;
    entries.push(e);
    byPath.set(path, e);
  }
  // A hard link to a symlink (link(2) links the symlink itself: a tree copied with cp -al or rsync --link-dest, which GNU
  // tar then archives as a hard link) is that symlink under a second name: the same target, read from its own folder.
  // It had been refused as pointing "outside the app's files". Checked below as the symlink it is.
  for (const e of entries) {
    const dest = e.type === 'hardlink' && !(e.link ?? '').startsWith('/') ? byPath.get(cleanPath(e.link ?? '')) : undefined;
    if (dest?.type === 'symlink') Object.assign(e, { type: 'symlink', link: dest.link });
  }
  const links = new Map(entries.filter((e) => e.type === 'symlink').map((e) => [e.path, e.link ?? '']));
  const resolvedLinks = new Map<string, string[]>();
  // Files in archive order: a hardlink names one already written (tar's own rule; node-tar cannot link to what is not there yet).
  const filesSoFar = new Set<string>();
  for (const e of entries) {
    if (e.type === 'file') filesSoFar.add(e.path);
    if (e.type === 'symlink') {
      const target = e.link ?? '';
      if (target === '') throw refuse(archive, `symlink "${e.path}" has an empty target`);
      if (target.includes('\0')) throw refuse(archive, `symlink "${e.path}" has a NUL byte in its target`);
      if (target.startsWith('/') || /^[a-zA-Z]:/.test(target) || target.includes('\\'))
        throw refuse(archive, `symlink "${e.path}" points to the absolute path ${JSON.stringify(target)}`);
      if (resolveInside([...e.path.split('/').slice(0, -1), ...target.split('/')], links, 0, resolvedLinks) === undefined)
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
      if (!filesSoFar.has(dest.path)) throw refuse(archive, `hardlink "${e.path}" comes before its target "${dest.path}"`);
      // Clean, as the marker records it and verify finds the target's digest by it.
      e.link = dest.path;
    }
  }
  // Nothing to run: a packaging step that found nothing to pack. Installed, it was a version folder with no app, exit 0.
  if (!entries.some((e) => e.type === 'file')) throw refuse(archive, 'it holds no file (folders and links at most): it is no app');
  return entries;
}

type Claim = 'dir' | 'symlink' | 'other';

/** Device names Windows gives every folder, with any extension (`aux.txt` is AUX too). */
const WINDOWS_DEVICE = /^(con|prn|aux|nul|com[0-9\u00b9\u00b2\u00b3]|lpt[0-9\u00b9\u00b2\u00b3]) *(\.|$)/i;

/**
 * Refuses a path Windows cannot write as named: a reserved character (its file API refuses the name: ao-app had
 * unpacked half the app and ended in "cannot write the desktop app ... check that the disk is healthy"), `:` (an NTFS
 * alternate stream of another file: `Ao.exe::$DATA` is Ao.exe itself), a trailing dot or space (dropped: `x.dll.`
 * overwrites `x.dll`), or a device name (`CON`, `aux.txt`: written to the device, not a file).
 */
export function checkWindowsName(archive: string, path: string): void {
  for (const name of path.split('/')) {
    const why =
      /[<>:"|?*]/.test(name) || [...name].some((c) => c < ' ')
        ? 'holds a character Windows does not allow in a file name (< > : " | ? * or a control character)'
        : /[. ]$/.test(name)
          ? 'ends in a dot or a space, which Windows drops (it would be another file of the app)'
          : WINDOWS_DEVICE.test(name)
            ? `is named like the Windows device ${name.replace(/[ .].*$/, '').toUpperCase()}, which Windows opens in its place`
            : undefined;
    if (why) throw refuse(archive, `entry ${shown(path)} cannot be written on Windows: ${shown(name)} ${why}`);
  }
}

/** A name as macOS (and Windows) compare them: case-insensitive, and on macOS NFC and NFD spellings are the same name. */
const foldName = (path: string) => path.normalize('NFC').toLowerCase();

/**
 * Whether a file of this name is the completion marker on some OS: in another case (macOS, Windows), or with trailing dots
 * and spaces, which Windows drops (`.ao-app-complete.json.` had passed, the marker's own file there).
 */
export const namesCompletionMarker = (name: string) => foldName(name).replace(/[. ]+$/, '') === COMPLETION_MARKER;

/** A name quoted with anything outside printable ASCII escaped: "caf\u00e9" and "cafe\u0301" print alike otherwise. */
const shown = (path: string) => JSON.stringify(path).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/**
 * Resolves a path inside the archive's own tree, following its symlinks; undefined when it leaves the root.
 * `resolved`: where each link already followed leads (a link's folder and target decide it), so each is followed once.
 * Followed afresh at every mention, links naming the next one twice (`l1 -> l2/../l2`) cost 2^n steps: 30 of them, a
 * zip of a few KB, held the main thread for ~15 minutes.
 */
function resolveInside(segments: string[], links: Map<string, string>, depth: number, resolved: Map<string, string[]>): string[] | undefined {
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
    const at = out.join('/');
    const link = links.get(at);
    if (link !== undefined) {
      let to = resolved.get(at);
      if (to === undefined) {
        if (link.startsWith('/')) return undefined;
        to = resolveInside([...out.slice(0, -1), ...link.split('/')], links, depth + 1, resolved);
        if (to === undefined) return undefined;
        resolved.set(at, to);
      }
      out.splice(0, out.length, ...to);
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

/**
 * Every name an entry list holds, its folders' included: what an AppleDouble `._<name>` is checked against.
 * ditto stores a file's extended attributes inline as `._<name>` beside it (without --sequesterRsrc) and
 * folds them back when it unpacks (so does macOS's tar, which writes them into a tar.gz the same way); unpacked as files
 * inside a signed .app, they would break its seal.
 */
export function appleDoubleCompanions(names: string[]): Set<string> {
  const companions = new Set<string>();
  // Most zips have none: no set of every path is built for them (an Electron app has ~3,000 entries).
  if (!names.some((name) => /(^|[/\\])\._/.test(name))) return companions;
  const present = new Set<string>();
  for (const name of names) {
    const parts = cleanPath(name).split('/');
    for (let i = 1; i <= parts.length; i++) present.add(parts.slice(0, i).join('/'));
  }
  for (const name of names) {
    const parts = cleanPath(name).split('/');
    const last = parts.at(-1)!;
    if (last.startsWith('._') && last.length > 2 && present.has([...parts.slice(0, -1), last.slice(2)].join('/'))) companions.add(name);
  }
  return companions;
}
