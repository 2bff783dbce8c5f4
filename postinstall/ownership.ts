import { lstatSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Why running or linking `path` would hand this user's process to someone
 * else, or undefined when it would not: every component from the file up to
 * `/` must belong to this user or to root and must not be writable by other
 * users (a sticky directory such as /tmp excepted). Otherwise another user could
 * change or swap the file between our check and its use (think `sudo ao` with
 * a cache in the invoking user's home).
 */
export function untrustedBy(path: string, uid: number | undefined = process.getuid?.()): string | undefined {
  if (uid === undefined) return undefined; // Windows: no POSIX owners
  for (let p = path; ; p = dirname(p)) {
    const st = lstatSync(p);
    if (st.uid !== uid && st.uid !== 0) return `${p} belongs to uid ${st.uid}, and ao runs as uid ${uid}: that user could change what runs`;
    const sticky = st.isDirectory() && (st.mode & 0o1000) !== 0;
    // Group-writable is fine for this user's own group (umask 002 systems) and root's.
    const othersWrite = (st.mode & 0o002) !== 0 || ((st.mode & 0o020) !== 0 && st.gid !== process.getgid?.() && st.gid !== 0);
    if (othersWrite && !sticky && !st.isSymbolicLink()) return `${p} is writable by other users (mode ${(st.mode & 0o777).toString(8)})`;
    if (dirname(p) === p) return undefined;
  }
}

/**
 * Why creating `path` (with its missing parents) as this user would put files
 * where another user controls them, or undefined when it would not: the
 * nearest folder that exists must pass untrustedBy. Root creating a cache in
 * the invoking user's home (sudo keeping HOME) would leave root-owned files
 * there that the user's own ao then cannot write.
 */
export function untrustedToCreate(path: string, uid: number | undefined = process.getuid?.()): string | undefined {
  for (let p = path; ; p = dirname(p)) {
    try {
      lstatSync(p);
    } catch {
      if (dirname(p) !== p) continue;
    }
    return untrustedBy(p, uid);
  }
}

/**
 * Whether `path` belongs to this user (a stamp someone else wrote, or could replace, is no proof), and with
 * `unwritableByOthers`, whether no one else may write it in place either (umask 002 leaves files group-writable).
 */
export function ownedByMe(path: string, uid: number | undefined = process.getuid?.(), unwritableByOthers = false): boolean {
  if (uid === undefined) return true;
  try {
    const st = lstatSync(path);
    return st.uid === uid && !(unwritableByOthers && (st.mode & 0o022) !== 0);
  } catch {
    return false;
  }
}
