import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, copyFile, lstat, mkdir, readFile, readlink, rename, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { writeJsonAtomic } from '../../../common/fs-atomic.js';
import { integrityOf, integrityOfHash } from '../../../common/integrity.js';
import { type BackupManifest, type BackupRoots, backupPathOf, MANIFEST, type ManifestEntry, type RootKey } from './manifest.js';
import { display, entryPath, type FsPath, joinRaw, relOf, relString } from './raw-names.js';
import { COPY_CONCURRENCY, exists, keepOf, pool, walk } from './walk.js';

// Making the backup: each file copied and hashed in one read, built in `<dir>.partial`, renamed when complete.

const WHOLE_FILE_LIMIT = 16 * 1024 * 1024;

/** Copies one file and hashes the bytes it copied (one read). */
async function copyHashed(src: FsPath, dest: FsPath, size: number): Promise<string> {
  if (size <= WHOLE_FILE_LIMIT) {
    const data = await readFile(src);
    await writeFile(dest, data);
    return integrityOf(data);
  }
  const hash = createHash('sha512');
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  await pipeline(createReadStream(src), tap, createWriteStream(dest));
  return integrityOfHash(hash);
}

/** Copies one root's backed-up files (byte-exact names included) into `destDir`: a private copy of what the backup holds. */
export async function copyRootFromBackup(backupDir: string, manifest: BackupManifest, key: RootKey, destDir: string): Promise<number> {
  await mkdir(destDir, { recursive: true });
  let copied = 0;
  for (const entry of manifest.files.filter((f) => f.root === key)) {
    const rel = relOf(entry);
    if (rel.length === 0) continue;
    const dest = joinRaw(destDir, ...rel);
    await mkdir(joinRaw(destDir, ...rel.slice(0, -1)), { recursive: true });
    if (entry.type === 'symlink') await symlink(entry.target!, dest);
    else await copyFile(backupPathOf(backupDir, entry), dest);
    copied++;
  }
  return copied;
}

/** Backs up every root that exists into `backupDir` (created via `<backupDir>.partial`). */
export async function createBackup(
  backupDir: string,
  roots: BackupRoots,
  extra: { legacyVersion?: string; writeExtras?: (partialDir: string) => Promise<BackupManifest['tarball'] | undefined> } = {},
): Promise<BackupManifest> {
  const partial = `${backupDir}.partial`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  const manifest: BackupManifest = {
    schema: 1,
    createdAt: new Date().toISOString(),
    legacyVersion: extra.legacyVersion,
    roots: {},
    files: [],
    worktrees: [],
    unreadable: [],
    bytes: 0,
  };
  for (const key of Object.keys(roots) as RootKey[]) {
    const root = roots[key];
    if (!root || !(await exists(root))) continue;
    manifest.roots[key] = root;
    const walked = await walk(root, manifest.worktrees, keepOf(key));
    for (const u of walked.unreadable) manifest.unreadable.push({ root: key, path: relString(u.rel), reason: u.reason });
    const entries: ManifestEntry[] = [];
    await pool(walked.items, COPY_CONCURRENCY, async (item) => {
      const named = entryPath(item.rel);
      const dest = backupPathOf(partial, { root: key, ...named });
      await mkdir(dirname(display(dest)), { recursive: true });
      try {
        const info = await lstat(item.abs);
        if (info.isSymbolicLink()) {
          const target = await readlink(item.abs);
          await symlink(target, dest);
          entries.push({ root: key, ...named, type: 'symlink', target });
          return;
        }
        const integrity = await copyHashed(item.abs, dest, info.size);
        await chmod(dest, info.mode & 0o777);
        await utimes(dest, info.atime, info.mtime);
        manifest.bytes += info.size;
        entries.push({ root: key, ...named, type: 'file', integrity, size: info.size, mode: info.mode & 0o777 });
      } catch (err) {
        // Unreadable (permissions, vanished, I/O error): named in the manifest and the report, left where it is.
        await rm(dest, { force: true }).catch(() => undefined);
        manifest.unreadable.push({ root: key, path: named.path, reason: `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
      }
    });
    manifest.files.push(...entries.sort((a, b) => a.path.localeCompare(b.path)));
  }
  if (extra.writeExtras) manifest.tarball = await extra.writeExtras(partial);
  await writeJsonAtomic(join(partial, MANIFEST), manifest);
  await rm(backupDir, { recursive: true, force: true });
  await rename(partial, backupDir);
  return manifest;
}
