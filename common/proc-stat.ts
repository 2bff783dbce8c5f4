import { readFileSync } from 'node:fs';

/**
 * The fields of `/proc/<pid>/stat` after the command name, which may hold spaces and parentheses (so they
 * are counted from its last ')'): [0] the state (field 3), [1] ppid, [2] pgrp, [3] session, [4] tty_nr,
 * [5] tpgid, ..., [19] the start time in clock ticks. Linux only; throws when the process is gone.
 * Node built-ins only: the launcher imports this.
 */
export function procStatFields(pid: number | 'self'): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}
