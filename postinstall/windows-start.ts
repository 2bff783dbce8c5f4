import { UserError } from '../common/errors.js';
import { quotePathFor } from '../common/shell-quote.js';

/** What Node's code for a start Windows refused means (libuv's translation of the Windows error). */
function meaning(code: string | undefined, verified: boolean): string {
  switch (code) {
    case 'EFTYPE':
      return 'Windows says it is no program it can run (damaged, or built for another CPU)';
    case 'ENOENT':
      return verified
        ? 'the file is gone since it was verified (an antivirus quarantines a file so)'
        : 'Windows finds no program by that name (a name without .exe is not looked for as one)';
    case 'EACCES':
    case 'EPERM':
      return 'Windows refused to start it (an antivirus or an application control policy blocks it)';
    default:
      return 'Windows did not start it and gave no reason Node knows (an antivirus blocking it is the usual cause)';
  }
}

/**
 * Windows has no exec bit, no chmod and no noexec mount: every file there stats as mode 666, and the POSIX fix had been
 * printed ("it is not executable (mode 666) ... chmod +x") for a batch file (Node starts one only through cmd.exe:
 * EINVAL) and for a file that is no Windows program (EFTYPE, or ENOENT for a name without .exe). `reinstall`: the command
 * that puts the package's own verified binary back; none for an AO_BINARY_PATH.
 */
export function cannotRunOnWindows(binary: string, err: NodeJS.ErrnoException, reinstall: string | undefined): UserError {
  const batch = reinstall === undefined && /\.(cmd|bat)$/i.test(binary);
  const why = batch
    ? 'Node starts a .cmd or .bat file only through cmd.exe, and the launcher starts the binary itself'
    : meaning(err.code, reinstall !== undefined);
  const fix =
    reinstall !== undefined
      ? `check that no antivirus blocks or quarantined it (dir ${quotePathFor('win32', binary)}), then reinstall ao: ${reinstall}`
      : batch
        ? 'point AO_BINARY_PATH at the .exe that script runs, or unset it'
        : "point AO_BINARY_PATH at ao's Windows program (an .exe built for this machine), or unset it";
  return new UserError({ what: `cannot run ${binary}`, why: `${err.message}: ${why}`, fix, code: 'EAOSPAWN' });
}
