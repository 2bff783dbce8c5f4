import { chmod, lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * `rm -rf`, also of a tree holding a folder its owner made unlistable (mode 000, a `chmod -R` gone wrong): rm stops there
 * with EACCES. Such folders are opened for their owner (u+rwx) and the removal tried once more; one that belongs to
 * someone else stays as it is, and the removal fails as before.
 */
export async function removeTree(path: string): Promise<void> {
  try {
    await rm(path, { recursive: true, force: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM') throw err;
    await openFoldersForOwner(path);
    await rm(path, { recursive: true, force: true });
  }
}

async function openFoldersForOwner(path: string): Promise<void> {
  const info = await lstat(path).catch(() => undefined);
  if (!info?.isDirectory()) return;
  await chmod(path, (info.mode & 0o7777) | 0o700).catch(() => undefined);
  for (const name of await readdir(path).catch(() => [] as string[])) await openFoldersForOwner(join(path, name));
}
