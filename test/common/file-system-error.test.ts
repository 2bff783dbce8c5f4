import { describe, expect, it } from 'vitest';
import { fileSystemFailure } from '../../common/file-system-error.js';

const failure = { what: 'cannot write the desktop app', where: 'C:\\Users\\Ann & Bo\\.ao\\app\\downloads', again: 'then run ao-app install again' };
const osError = (code: string) => Object.assign(new Error(`${code}: failed`), { code, syscall: 'write' }) as NodeJS.ErrnoException;

describe('a file-system error, said for the shell of the platform it happened on', () => {
  // Windows has no df, no inodes to run out of and no ulimit: those fixes were commands a Windows user could not run.
  it('a full disk on Windows is checked with dir, and too many open files has no ulimit there', () => {
    const full = fileSystemFailure(osError('ENOSPC'), failure, 'win32');
    expect(full.fix).toBe(
      'free some space there (or set AO_APP_DIR to a folder on a larger disk; dir C:\\ shows the bytes free on its last line), then run ao-app install again',
    );
    expect(fileSystemFailure(osError('EMFILE'), failure, 'win32').fix).toBe(
      'close other programs (the system ran out of open files), then run ao-app install again',
    );
  });

  it('elsewhere, df and ulimit', () => {
    expect(fileSystemFailure(osError('ENOSPC'), failure, 'linux').fix).toContain(
      'if df -h shows space left, df -i shows whether its inodes ran out: delete some files there)',
    );
    expect(fileSystemFailure(osError('EMFILE'), failure, 'darwin').fix).toContain('ulimit -n');
  });
});
