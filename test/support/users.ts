import { existsSync } from 'node:fs';

/**
 * Running a command as another user, where permissions must bite (root reads and writes everything): root on Linux
 * drops to that uid through setpriv. No account is needed, a uid is a number.
 */

/** nobody: an unprivileged user with a passwd entry (its home, /nonexistent, cannot be made). */
export const NOBODY = 65534;
/** A uid without a passwd entry, as `docker run -u 48213` gives: Node cannot tell its home folder. */
export const NAMELESS = 48213;
/** Whether this process can run commands as another user: root on Linux, with setpriv. */
export const canDropPrivileges = process.platform === 'linux' && process.getuid?.() === 0 && existsSync('/usr/bin/setpriv');

/** `command` run as `uid` (that number its group too, no supplementary groups): the file and arguments to spawn. */
export function asUser(uid: number, command: string[]): [string, string[]] {
  return ['setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', ...command]];
}
