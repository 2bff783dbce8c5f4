import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * mkdir -p one level at a time, from the nearest folder that exists, so the level that fails throws its own error (the
 * folder alone first: where its parent exists, that is all). Node's
 * recursive mkdir says ENOENT when making a parent failed (ENOSPC on a disk with no free inode), and never returns where a
 * folder exists but its file system answers ENOENT to making anything in it (/proc/<pid>): it goes up on ENOENT, finds the
 * folder there and tries again, for ever.
 */
export async function makeFolderLevels(folder: string, mode = 0o755): Promise<void> {
  // The usual cases in one call, as a recursive mkdir makes them: the parent is there (an unpack makes parents first), or
  // the folder is.
  const first = await mkdir(folder, { mode }).then(
    () => 'made',
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'EEXIST') return err.code;
      throw err;
    },
  );
  if (first === 'made') return;
  if (first === 'ENOENT') {
    const missing: string[] = [];
    for (let level = dirname(folder); dirname(level) !== level && !(await stat(level).catch(() => undefined)); level = dirname(level)) missing.unshift(level);
    for (const level of [...missing, folder]) {
      await mkdir(level, { mode }).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
    }
  }
  // A file at the path (or a link to one) had been taken for the folder.
  if (!(await stat(folder)).isDirectory()) throw fileWhereFolderMustBe(folder);
}

/**
 * Said as what it is (a mkdir there said only "EEXIST: file already exists"), shaped as the OS's ENOTDIR, which a file
 * further up the path gives: callers tell both with the path and what to do (common/file-system-error.ts).
 */
function fileWhereFolderMustBe(folder: string): NodeJS.ErrnoException {
  return Object.assign(new Error('a file is where a folder must be'), { code: 'ENOTDIR', syscall: 'mkdir', path: folder });
}
