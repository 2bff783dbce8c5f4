import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync, type Stats } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { executableMismatch } from '../common/binary-format.js';
import { UserError } from '../common/errors.js';
import { stampPath } from './locations.js';
import type { BinaryEntry } from './manifest.js';

/**
 * Verification of a platform binary against the manifest (size, sha512,
 * format and CPU), remembered in a small stamp keyed by path, size, mtime and
 * inode: later launches cost one stat and one small read until the file changes.
 * Synchronous and built-ins only: the launcher uses it on its start-up path.
 */
interface Stamp {
  path: string;
  size: number;
  mtimeMs: number;
  ino: number;
  integrity: string;
}

function stampFor(path: string, st: Stats, integrity: string): Stamp {
  return { path, size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, integrity };
}

function sameStamp(a: Stamp, b: Stamp): boolean {
  return a.path === b.path && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino && a.integrity === b.integrity;
}

export function hasValidStamp(path: string, st: Stats, entry: BinaryEntry, cache?: string): boolean {
  try {
    const stamp = JSON.parse(readFileSync(stampPath(path, cache), 'utf8')) as Stamp;
    return sameStamp(stamp, stampFor(path, st, entry.integrity));
  } catch {
    return false;
  }
}

/** Best effort: a read-only cache only means the next launch verifies again. */
export function writeStamp(path: string, st: Stats, entry: BinaryEntry, cache?: string): void {
  const file = stampPath(path, cache);
  try {
    mkdirSync(dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(stampFor(path, st, entry.integrity)));
    renameSync(tmp, file);
  } catch {
    // ignore
  }
}

export type Problem = { kind: 'size' | 'hash' | 'format'; detail: string };

/** Why the file does not match its manifest entry, or undefined when it does. */
export function checkBinary(path: string, entry: BinaryEntry, st: Stats = statSync(path)): Problem | undefined {
  if (st.size !== entry.size) return { kind: 'size', detail: `${path} is ${st.size} bytes, the release's is ${entry.size}` };
  // node:crypto is loaded only here, off the launcher's usual path (a stamp hit).
  const { createHash } = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
  const digest = `sha512-${createHash('sha512').update(readFileSync(path)).digest('base64')}`;
  if (digest !== entry.integrity) return { kind: 'hash', detail: `${path} has sha512 ${digest.slice(0, 27)}..., the release's is ${entry.integrity.slice(0, 27)}...` };
  const mismatch = executableMismatch(path, entry.os, entry.cpu);
  if (mismatch) return { kind: 'format', detail: mismatch };
  return undefined;
}

/**
 * Verifies once per file state; throws a UserError naming the file when the
 * bytes are not the release's. `installedVersion` is read only on a mismatch,
 * to tell a version skew from an altered file. Returns true when it hashed
 * the file just now (no valid stamp), false on a stamp hit.
 */
export function verifyBinaryOnce(
  path: string,
  entry: BinaryEntry,
  release: { name: string; version: string },
  installedVersion: () => string | undefined,
  cache?: string,
): boolean {
  const ownVersion = release.version;
  const st = statSync(path);
  if (hasValidStamp(path, st, entry, cache)) return false;
  const problem = checkBinary(path, entry, st);
  if (!problem) {
    writeStamp(path, st, entry, cache);
    return true;
  }
  const theirs = installedVersion();
  if (theirs && theirs !== ownVersion) {
    throw new UserError({
      what: `${entry.package}@${theirs} does not match ao ${ownVersion}`,
      why: `the launcher and its platform package come from different releases (${problem.detail})`,
      fix: `reinstall one release of both: npm install -g ${release.name}@${ownVersion} (or the same command with your package manager)`,
      code: 'EAOSKEW',
    });
  }
  throw new UserError({
    what: `refusing to run ${path}`,
    why: `it is not the binary of release ${ownVersion}: ${problem.detail}`,
    fix: `reinstall: npm install -g ${release.name}@${ownVersion} (if it happens again, report it: the file was altered after release)`,
    code: 'EAOINTEGRITY',
  });
}
