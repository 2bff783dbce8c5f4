import { chmod, lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * `rm -rf`, also of a tree holding a folder its owner made unlistable (mode 000, a `chmod -R` gone wrong): rm stops there
 * with EACCES. Such folders are opened for their owner (u+rwx) and the removal tried once more; where that cannot be done
 * safely (below), the removal fails as before.
 */
export async function removeTree(path: string): Promise<void> {
  try {
    await rm(path, { recursive: true, force: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM') throw err;
    // Root's rm goes through any mode: its EACCES or EPERM is something an opening would not change.
    const uid = process.getuid?.();
    if (uid === undefined || uid === 0) throw err;
    await openFoldersForOwner(path, uid);
    await rm(path, { recursive: true, force: true });
  }
}

/**
 * Each folder is opened by its path, so a chmod follows a folder swapped for a link in between: only someone who may write
 * the folder above can swap it. So the walk goes on only through folders this user owns and no one else may write (it
 * stops at the first other one, and what lies below stays as it is), and adds the owner's bits alone, never a mode read from
 * the tree: opened through such a swap, another folder of the user's had been made 0777.
 */
async function openFoldersForOwner(path: string, uid: number): Promise<void> {
  const info = await lstat(path).catch(() => undefined);
  if (!info?.isDirectory() || info.uid !== uid || info.mode & 0o022) return;
  await chmod(path, (info.mode & 0o755) | 0o700).catch(() => undefined);
  for (const name of await readdir(path).catch(() => [] as string[])) await openFoldersForOwner(join(path, name), uid);
}
