import type { ReadEntry } from 'tar';
import type { UserError } from './errors.js';
import { checkPlan, cleanPath, refuse, type PlannedEntry } from './archive-plan.js';
import { capCounter, createSymlinks } from './archive-write.js';
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

export async function extractTarGz(archive: string, staging: string, cap: number): Promise<PlannedEntry[]> {
  // Loaded on demand: ~5 MB of RSS that zip artifacts (macOS, Windows) never need.
  const tar = await import('tar');
  const raw: PlannedEntry[] = [];
  let bad: UserError | undefined;
  try {
    await tar.t({
      file: archive,
      maxReadSize: TAR_READ_SIZE,
      strict: true,
      onReadEntry: (entry) => {
        // Listing inflates every byte too; the data is discarded, only counted.
        entry.on('data', (chunk: Buffer) => streamed(chunk.length));
        const type = TAR_TYPES[entry.type];
        if (!type) bad ??= refuse(archive, `entry ${JSON.stringify(entry.path)} is a ${entry.type}, not a file, folder or link`);
        else raw.push({ path: entry.path, type, mode: (entry.mode ?? 0o644) & 0o777, size: entry.size ?? 0, link: entry.linkpath });
      },
    });
  } catch (cause) {
    // Reading the verified file failed (EIO, EMFILE...): this disk's fault, not the archive's.
    if (isFileSystemError(cause)) throw cause;
    // node-tar's own guards (a gzip bomb's ratio, a corrupt header) end up here.
    throw refuse(archive, `it is not a sound tar.gz (${(cause as Error).message})`);
  }
  if (bad) throw bad;
  const plan = checkPlan(archive, raw, cap);
  // Symlinks are made here after the files, as for zips: node-tar can wait forever on its own
  // path reservation for a link naming its sibling (ao-desktop/ao -> ao-desktop).
  const allowed = new Set(plan.filter((e) => e.type !== 'symlink').map((e) => e.path));
  let written = 0;
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
      const clean = cleanPath(path);
      written += 'size' in entry ? (entry.size ?? 0) : 0;
      if (written > cap) throw refuse(archive, 'it unpacks to more bytes than the manifest allows');
      return allowed.has(clean);
    },
  });
  for (const e of plan) if (e.type === 'file') e.integrity = digests.get(e.path);
  await createSymlinks(staging, plan);
  return plan;
}
