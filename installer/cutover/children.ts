import { readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { procStatFields } from '../../common/proc-stat.js';
import { pidAlive, processEnded, processStartId, recordedProcessAlive } from '../../common/process-identity.js';
import type { Journal } from './journal.js';

/**
 * Commands that write (the package install, the rewrite's import, the rollback's reinstall) run in a
 * process group of their own, so killing the cutover leaves them running. Each is recorded in the journal
 * as soon as it starts, and a recovery waits for (then stops) the one a crash left behind before it
 * decides anything: otherwise the recovery and the orphan would write the same files at once.
 * The leader's start id is recorded too: after a reboot or pid reuse the same number may lead an unrelated
 * group, which must be neither waited for nor killed.
 */
export function trackChild(journal: Journal, pid: number, command: string): Promise<void> {
  return journal.update({ child: { pid, command, startedAt: new Date().toISOString(), startId: processStartId(pid) } });
}

export function untrackChild(journal: Journal): Promise<void> {
  return journal.update({ child: undefined });
}

/**
 * Whether a process of the group still runs. A group's id is its leader's pid; Windows has no groups, so the leader
 * stands for it. On Linux a group of zombies alone (a finished npm in a container whose PID 1 reaps nothing) answers
 * kill(0) for good but runs nothing: only a member that has not ended counts.
 */
function groupAlive(pgid: number): boolean {
  if (process.platform === 'win32') return pidAlive(pgid);
  if (!pidAlive(-pgid)) return false;
  if (process.platform !== 'linux') return true;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const [state, , pgrp] = procStatFields(Number(entry));
      if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X') return true;
    } catch {
      // ended while listed
    }
  }
  return false;
}

/**
 * Whether the recorded command's group still runs. A pid is not reused while a group still carries it as
 * its id, so a live group whose leader has exited (reaped or not: a zombie leader's scripts write on) is still
 * ours; a live leader with another start id is not.
 */
function recordedGroupAlive(child: NonNullable<Journal['data']['child']>): boolean {
  return groupAlive(child.pid) && (!pidAlive(child.pid) || processEnded(child.pid) || recordedProcessAlive(child.pid, child.startId));
}

export async function settleOrphanedChild(journal: Journal, log: (line: string) => void, waitMs = 10 * 60_000): Promise<void> {
  const child = journal.data.child;
  if (!child) return;
  if (recordedGroupAlive(child)) {
    log(`  waiting for \`${child.command}\` (pid ${child.pid}), left running by the interrupted run, to finish`);
    const deadline = Date.now() + waitMs;
    while (recordedGroupAlive(child) && Date.now() < deadline) await sleep(200);
    for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
      if (!recordedGroupAlive(child)) break;
      log(`  stopping it (${signal})`);
      try {
        process.kill(process.platform === 'win32' ? child.pid : -child.pid, signal);
      } catch {
        // Gone meanwhile.
      }
      for (let i = 0; i < 50 && recordedGroupAlive(child); i++) await sleep(100);
    }
  }
  await untrackChild(journal);
}
