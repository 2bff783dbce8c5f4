import { win32 } from 'node:path';
import { UserError } from './errors.js';
import { quotePathFor } from './shell-quote.js';

/**
 * Errors from the operating system while the desktop app is written (its download, its unpack), told
 * apart from errors about the bytes, and said so a person can act on them.
 */
export const DISK_FULL = new Set(['ENOSPC', 'EDQUOT']);

function isDiskError(err: unknown): boolean {
  return DISK_FULL.has((err as NodeJS.ErrnoException)?.code ?? '');
}

/** An error from the operating system (a failed open, write, mkdir...), as opposed to one about the data. */
export function isFileSystemError(err: unknown): err is NodeJS.ErrnoException {
  const { syscall, code } = (err ?? {}) as NodeJS.ErrnoException;
  return typeof syscall === 'string' && typeof code === 'string';
}

const FILE_IN_THE_WAY = 'a file is in the way where a folder should be: move it away, or set AO_APP_DIR (or pass --dir) to a folder';
const FOLDER_IN_THE_WAY = 'a folder is in the way where ao-app keeps a file or a link: move it away';
const NOT_WRITABLE = 'make that folder writable for this user, or set AO_APP_DIR (or pass --dir) to a folder you own';

/** Fixes for the file-system errors a user can cure by hand; the rest get the general one. */
const FIXES: Record<string, string> = {
  EMFILE: 'raise the open-file limit (ulimit -n) or close other programs',
  ENFILE: 'close other programs (the system ran out of open files)',
  EFBIG: 'raise the file-size limit (ulimit -f)',
  ENAMETOOLONG: 'set AO_APP_DIR to a folder on a file system that allows long names (eCryptfs home folders do not)',
  ENOTDIR: FILE_IN_THE_WAY,
  // mkdir of a path where a file stands.
  EEXIST: FILE_IN_THE_WAY,
  EISDIR: FOLDER_IN_THE_WAY,
  // fs.rm of a folder where a file or link was expected.
  ERR_FS_EISDIR: FOLDER_IN_THE_WAY,
  EACCES: NOT_WRITABLE,
  EPERM: NOT_WRITABLE,
  EROFS: 'set AO_APP_DIR (or pass --dir) to a folder on a writable disk (this one is mounted read-only)',
};

/**
 * Windows refuses to delete or rename a file a running program holds (the desktop app still open), EPERM, EBUSY or EACCES: told
 * to make a folder writable that was, a user had nothing to act on.
 */
export function inUseOnWindows({ code, syscall }: NodeJS.ErrnoException): boolean {
  return process.platform === 'win32' && ['EPERM', 'EBUSY', 'EACCES'].includes(code ?? '') && ['unlink', 'rmdir', 'rename'].includes(syscall ?? '');
}
const IN_USE_ON_WINDOWS =
  'close the desktop app and any program using a file in that folder (Windows cannot delete a file in use); if none is open, make that folder writable for this user';

/**
 * How to see that the disk holding `path` is full, in `platform`'s shell. Windows has no df and no inodes to run out of:
 * `dir` of the disk's root (which, unlike a file not written yet, exists) ends with the bytes free on it.
 */
export function freeSpaceCheck(path: string, platform: string = process.platform): string {
  return platform === 'win32'
    ? `dir ${quotePathFor(platform, win32.parse(path).root || path)} shows the bytes free on its last line`
    : 'if df -h shows space left, df -i shows whether its inodes ran out: delete some files there';
}

export interface FileSystemFailure {
  /** What could not be done, for the error's first line; `whatWhenFull` replaces it for a full disk. */
  what: string;
  whatWhenFull?: string;
  /** The file or folder it failed on. */
  where: string;
  /** What stays for the next run, in parentheses after the cause. */
  kept?: string;
  /** How the next run picks up: "then run ao-app install again: it resumes". */
  again: string;
}

/** The error a person reads: ENOSPC for a full disk, EAPPDISK with the cause's own fix for the rest. */
export function fileSystemFailure(err: NodeJS.ErrnoException, failure: FileSystemFailure, platform: string = process.platform): UserError {
  const full = isDiskError(err);
  // ulimit is a POSIX shell's: Windows has no per-process limit a user raises, only other programs' handles to close.
  const fix = platform === 'win32' && err.code === 'EMFILE' ? FIXES.ENFILE : FIXES[err.code!];
  return new UserError({
    what: full ? (failure.whatWhenFull ?? failure.what) : failure.what,
    why: `${failure.where}: ${err.message}${failure.kept ? ` (${failure.kept})` : ''}`,
    fix: `${full ? `free some space there (or set AO_APP_DIR to a folder on a larger disk; ${freeSpaceCheck(failure.where, platform)})` : inUseOnWindows(err) ? IN_USE_ON_WINDOWS : (fix ?? 'check that folder is writable and its disk is healthy, or set AO_APP_DIR to another folder')}, ${failure.again}`,
    code: full ? 'ENOSPC' : 'EAPPDISK',
    cause: err,
  });
}
