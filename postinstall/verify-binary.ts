import { builtinModule } from '../common/builtin-module.js';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import { executableMismatch } from '../common/binary-format.js';
import { UserError } from '../common/errors.js';
import { CACHE_FOLDER_MODE, cacheRoot, stampPath } from './locations.js';
import type { BinaryEntry } from '../common/ao-manifest.js';
import { sameFileAs } from './exec-binary.js';
import { ownedByMe } from './ownership.js';

/**
 * Verification of a platform binary against the manifest (size, sha512,
 * format and CPU), remembered in a small stamp: later launches cost one stat
 * and one small read until the file changes. The stamp is keyed on the
 * file's ctime with its device, inode, size and mtime: a user-space edit can
 * restore the mtime (`touch -r`) but not the ctime, which the kernel sets on
 * every write, chmod or link. A stamp this user does not own, that others may
 * write, or in a folder this user does not own, proves nothing: the binary is verified again.
 * Synchronous and built-ins only: the launcher uses it on its start-up path.
 */
interface Stamp {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  integrity: string;
}

function stampFor(st: Stats, integrity: string): Stamp {
  return { dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, integrity };
}

export function hasValidStamp(path: string, st: Stats, entry: BinaryEntry, cache?: string): boolean {
  const file = stampPath(path, st, cache);
  const uid = process.getuid?.();
  try {
    // The stamp is exactly what writeStamp writes for this file state: compared as text, not parsed. Straight-line:
    // the launcher's usual path runs this on every call.
    return (
      readFileSync(file, 'utf8') === JSON.stringify(stampFor(st, entry.integrity)) &&
      ownedByMe(file, uid, true) &&
      ownedByMe(dirname(file), uid) &&
      ownedByMe(dirname(dirname(file)), uid)
    );
  } catch {
    return false;
  }
}

/** Best effort: a read-only cache, or one that belongs to another user (sudo keeping HOME), only means the next launch verifies again. */
export function writeStamp(path: string, st: Stats, entry: BinaryEntry, cache = cacheRoot()): void {
  const file = stampPath(path, st, cache);
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    if (existsSync(cache) && !ownedByMe(cache)) return;
    mkdirSync(dirname(file), { recursive: true, mode: CACHE_FOLDER_MODE });
    // Private whatever the umask: a group-writable stamp could be rewritten in place by another member of the group.
    writeFileSync(tmp, JSON.stringify(stampFor(st, entry.integrity)), { mode: 0o600 });
    renameSync(tmp, file);
  } catch {
    // No stamp only means the next launch verifies again; a half-written temp file must not stay (a full disk
    // would collect one per run).
    try {
      rmSync(tmp, { force: true });
    } catch {
      // the folder refuses even that: nothing of ours can be there
    }
  }
}

export type Problem = { kind: 'size' | 'hash' | 'format' | 'replaced'; detail: string };

/** Why the file does not match its manifest entry, or undefined when it does. */
export function checkBinary(path: string, entry: BinaryEntry, st: Stats = statSync(path)): Problem | undefined {
  if (st.size !== entry.size) return { kind: 'size', detail: `${path} is ${st.size} bytes, the release's is ${entry.size}` };
  // node:crypto is loaded only here, off the launcher's usual path (a stamp hit).
  const { createHash } = builtinModule('node:crypto');
  const digest = `sha512-${createHash('sha512').update(readFileSync(path)).digest('base64')}`;
  if (digest !== entry.integrity)
    return { kind: 'hash', detail: `${path} has sha512 ${digest.slice(0, 27)}..., the release's is ${entry.integrity.slice(0, 27)}...` };
  const mismatch = executableMismatch(path, entry.os, entry.cpu);
  if (mismatch) return { kind: 'format', detail: mismatch };
  return undefined;
}

/** checkBinary, where a file gone since its stat (bun replacing ao removes the old release's files) is one replaced. */
function checkedUnlessGone(path: string, entry: BinaryEntry, st: Stats): Problem | undefined {
  try {
    return checkBinary(path, entry, st);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return { kind: 'replaced', detail: `${path} was removed while it was checked` };
  }
}

/**
 * Verifies once per file state; throws a UserError naming the file when the
 * bytes are not the release's. `installedVersion` is read only on a mismatch,
 * to tell a version skew from an altered file; `reinstall` names the command
 * that puts the release back for the install method in use; `st` is the file's stat, which the caller keeps to
 * tell the file it starts is the one verified (sameFileAs); `cache` false keeps no stamp. Returns true when
 * it hashed the file just now (the launcher's first run), false on a stamp hit.
 */
export function verifyBinaryOnce(
  path: string,
  entry: BinaryEntry,
  release: { name: string; version: string },
  installedVersion: () => string | undefined,
  reinstall: () => string,
  cache?: string | false,
  st: Stats = statSync(path),
): boolean {
  const ownVersion = release.version;
  // false: a file in a folder that is gone once this call ends (yarn dlx), hashed every time and never remembered.
  if (cache !== false && hasValidStamp(path, st, entry, cache)) return false;
  const checked = checkedUnlessGone(path, entry, st);
  if (!checked) {
    if (cache !== false) writeStamp(path, st, entry, cache);
    return true;
  }
  // Replaced while it was read (an upgrade unlinking it to write the new one): not an altered file.
  const problem: Problem =
    checked.kind === 'replaced' || sameFileAs(path, st)
      ? checked
      : { kind: 'replaced', detail: `${path} was replaced while it was checked (${checked.detail})` };
  const theirs = installedVersion();
  if (theirs && theirs !== ownVersion) {
    throw new UserError({
      what: `${entry.package}@${theirs} does not match ao ${ownVersion}`,
      why: `the launcher and its platform package come from different releases (${problem.detail})`,
      fix: `reinstall one release of both: ${reinstall()}`,
      code: 'EAOSKEW',
    });
  }
  throw new UserError({
    what: `refusing to run ${path}`,
    why: `it is not the binary of release ${ownVersion}: ${problem.detail}`,
    fix: `reinstall: ${reinstall()}  (if it happens again, report it: the file was altered after release)`,
    code: 'EAOINTEGRITY',
    // Its kind tells a file still being written (another size, while an install runs) from an altered one.
    cause: problem,
  });
}
