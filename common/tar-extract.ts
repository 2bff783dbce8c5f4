import { createReadStream } from 'node:fs';
import type { ReadEntry } from 'tar';
import type { UserError } from './errors.js';
import { appleDoubleCompanions, checkPlan, cleanPath, refuse, type PlannedEntry } from './archive-plan.js';
import { capCounter, createSymlinks, dirMode, fileMode } from './archive-write.js';
import { isFileSystemError } from './file-system-error.js';
import { streamed } from './streaming-memory.js';

/** The Linux app's tar.gz: listed and checked whole, then unpacked by node-tar with every file's bytes counted and hashed. */
const TAR_TYPES: Record<string, PlannedEntry['type']> = {
  File: 'file',
  OldFile: 'file',
  ContiguousFile: 'file',
  Directory: 'dir',
  SymbolicLink: 'symlink',
  Link: 'hardlink',
};

/** node-tar reads 16 MiB at a time by default; 1 MiB keeps the process small at no cost in speed. */
const TAR_READ_SIZE = 1 << 20;

/** The sparse forms GNU tar writes: type "S" (GNU format), or GNU.sparse.* keys in a PAX header (whose file then carries the raw map). */
const SPARSE = 'sparse files are not supported; the release artifact must be made without --sparse';
const PAX_SPARSE_KEY = /(^|\n)\d+ GNU\.sparse\./;

/**
 * Every entry's header, in order; refuses the entries node-tar would skip without a word (sparse files,
 * volume headers, any type it does not know: `onReadEntry` never sees them, only the parser's
 * `ignoredEntry` event does) and PAX sparse files, whose keys it does not read.
 */
async function listTarGz(tar: typeof import('tar'), archive: string): Promise<PlannedEntry[]> {
  const raw: PlannedEntry[] = [];
  let bad: UserError | undefined;
  const parser = new tar.Parser({
    strict: true,
    onReadEntry: (entry) => {
      // Listing inflates every byte too; the data is discarded, only counted.
      entry.on('data', (chunk: Buffer) => streamed(chunk.length));
      entry.resume();
      const type = TAR_TYPES[entry.type];
      if (!type) bad ??= refuse(archive, `entry ${JSON.stringify(entry.path)} is a ${entry.type}, not a file, folder or link`);
      else raw.push({ path: entry.path, type, mode: (entry.mode ?? 0o644) & 0o777, size: entry.size ?? 0, link: entry.linkpath });
    },
  });
  parser.on('ignoredEntry', (entry: ReadEntry) => {
    const what = entry.type === 'SparseFile' ? `is a sparse file: ${SPARSE}` : `is a ${entry.type}, which ao-app does not unpack`;
    bad ??= refuse(archive, `entry ${JSON.stringify(entry.path)} ${what}`);
  });
  parser.on('meta', (text: string) => {
    if (PAX_SPARSE_KEY.test(text)) bad ??= refuse(archive, `it holds a sparse file (GNU.sparse PAX keys): ${SPARSE}`);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      const input = createReadStream(archive, { highWaterMark: TAR_READ_SIZE });
      input.on('error', reject);
      parser.on('error', (err: Error) => {
        input.destroy();
        reject(err);
      });
      parser.on('end', resolve);
      input.pipe(parser as unknown as NodeJS.WritableStream);
    });
  } catch (cause) {
    // Reading the verified file failed (EIO, EMFILE...): this disk's fault, not the archive's.
    if (isFileSystemError(cause)) throw cause;
    // node-tar's own guards (a gzip bomb's ratio, a corrupt header) end up here.
    throw refuse(archive, `it is not a sound tar.gz (${(cause as Error).message})`);
  }
  if (bad) throw bad;
  return raw;
}

export async function extractTarGz(archive: string, staging: string, cap: number): Promise<PlannedEntry[]> {
  // Loaded on demand: ~5 MB of RSS that zip artifacts (macOS, Windows) never need.
  const tar = await import('tar');
  const raw = await listTarGz(tar, archive);
  // As macOS's tar unpacks them: folded into extended attributes, never files (node-tar skips what the plan leaves out).
  const companions = appleDoubleCompanions(raw.map((e) => e.path));
  const plan = checkPlan(
    archive,
    raw.filter((e) => !companions.has(e.path)),
    cap,
  );
  // Symlinks are made here after the files, as for zips: node-tar can wait forever on its own
  // path reservation for a link naming its sibling (ao-desktop/ao -> ao-desktop).
  const allowed = new Set(plan.filter((e) => e.type !== 'symlink').map((e) => e.path));
  let written = 0;
  let overCap = false;
  const budget = { left: cap };
  const digests = new Map<string, string>();
  await tar.x({
    file: archive,
    maxReadSize: TAR_READ_SIZE,
    // Every file's bytes pass through the counter: the cap holds even when a header lies about a size.
    // node-tar documents any stream here; its typings only name its own ReadEntry.
    transform: (entry: ReadEntry) => capCounter(archive, budget, (digest) => digests.set(cleanPath(entry.path), digest)) as unknown as ReadEntry,
    cwd: staging,
    strict: true,
    preserveOwner: false,
    noChmod: false,
    filter: (path, entry) => {
      // Only what the plan keeps counts against the cap: the AppleDouble companions it leaves out are never written.
      if (overCap || !allowed.has(cleanPath(path))) return false;
      // As for zips: no setuid, setgid or sticky bit, files readable and folders rwx for the owner.
      if ('type' in entry) entry.mode = entry.type === 'Directory' ? dirMode(entry.mode ?? 0) : fileMode(entry.mode ?? 0);
      written += 'size' in entry ? (entry.size ?? 0) : 0;
      // Thrown from here, node-tar would leave it uncaught and never settle: skip the rest and refuse after.
      overCap = written > cap;
      return !overCap;
    },
  });
  if (overCap) throw refuse(archive, 'it unpacks to more bytes than the manifest allows');
  for (const e of plan) if (e.type === 'file') e.integrity = digests.get(e.path);
  // A hardlink is its target's bytes (the plan put the target, cleaned, in its link): recorded like a file, so verify re-hashes it.
  const files = new Map(plan.filter((e) => e.type === 'file').map((e) => [e.path, e]));
  for (const e of plan) {
    const target = e.type === 'hardlink' ? files.get(e.link!) : undefined;
    if (target) Object.assign(e, { size: target.size, integrity: target.integrity });
  }
  await createSymlinks(staging, plan);
  return plan;
}
