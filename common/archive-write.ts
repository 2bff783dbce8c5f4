import { createHash } from 'node:crypto';
import { mkdir, symlink } from 'node:fs/promises';
import { dirname, isAbsolute, resolve, sep } from 'node:path';
import { Transform } from 'node:stream';
import { integrityOfHash, type DigestAlgorithm } from './integrity.js';
import { refuse, type PlannedEntry } from './archive-plan.js';
import { streamed } from './streaming-memory.js';

/*
 * Writing a checked plan into the staging folder: paths kept inside it, the byte cap held, symlinks last.
 */

/** How each unpacked file is hashed for `ao-app verify` (integrity.ts says why not sha512). */
export const ENTRY_DIGEST: DigestAlgorithm = 'sha256';

/**
 * Write permission for the group and other users, never kept: the zip writer sets each mode exactly (past the umask),
 * so an entry zipped as 0777 under umask 000 had become an app executable any user on the machine could rewrite.
 */
export const OTHERS_WRITE = 0o022;

/**
 * The mode a file is installed with, for a zip and a tar.gz alike: the archive's permission bits (none at all,
 * as a zip made without Unix modes has, meaning 0644), never setuid, setgid or sticky, never writable by the group
 * or others, always readable by the owner (`ao-app verify` re-hashes every file).
 */
export const fileMode = (mode: number): number => ((mode & 0o777 || 0o644) | 0o400) & ~OTHERS_WRITE;

/** A folder's mode from a tar.gz: its permission bits, always rwx for the owner (files are written into it, and it is removed), never writable by others. */
export const dirMode = (mode: number): number => ((mode & 0o777) | 0o700) & ~OTHERS_WRITE;

/** A relative "/"-joined path without empty, "." or ".." segments or a NUL: joined to a folder, it stays inside. */
const CLEAN_PATH = /^(?!\/)(?!.*\/\/)(?!(?:.*\/)?\.\.?(?:\/|$))[^\0]+(?<!\/)$/;

/**
 * `path` resolved inside `root`; a path that would leave it is a bug (the plan already refused such entries).
 * The plan's paths are clean, so on POSIX joining them is resolving them: `path.resolve` in JS without
 * TurboFan (streaming-memory.ts) took ~45 ms for the ~6,000 calls an Electron app makes, the check ~3 ms.
 */
export function inside(root: string, path: string): string {
  if (sep === '/' && isAbsolute(root) && !root.endsWith('/') && CLEAN_PATH.test(path)) return `${root}/${path}`;
  const full = resolve(root, path);
  if (!full.startsWith(root + sep)) throw new Error(`internal: ${path} resolves outside ${root}`);
  return full;
}

/** Counts bytes as they are written and fails past the cap; with `digested`, hashes them too. */
export function capCounter(archive: string, budget: { left: number }, digested?: (integrity: string) => void): Transform {
  const hash = digested ? createHash(ENTRY_DIGEST) : undefined;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      budget.left -= chunk.length;
      streamed(chunk.length);
      hash?.update(chunk);
      if (budget.left < 0) done(refuse(archive, 'it unpacks to more bytes than its entries declare and than the manifest allows'));
      else done(null, chunk);
    },
    flush(done) {
      if (hash) digested!(integrityOfHash(hash, ENTRY_DIGEST));
      done();
    },
  });
}

/** Symlinks last, so no file can ever be written through one. */
export async function createSymlinks(staging: string, plan: PlannedEntry[]): Promise<void> {
  for (const e of plan.filter((x) => x.type === 'symlink')) {
    const dest = inside(staging, e.path);
    await mkdir(dirname(dest), { recursive: true });
    await symlink(e.link!, dest);
  }
}
