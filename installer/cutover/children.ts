import { readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { procStatFields } from '../../common/proc-stat.js';
import { pidAlive, processStartId, recordedProcessAlive, sameProcessStart } from '../../common/process-identity.js';
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

/** /proc's fields of `pid`, or undefined when it ended since it was listed, or cannot be read. */
function statFieldsOrNone(pid: number): string[] | undefined {
  try {
    return procStatFields(pid);
  } catch {
    return undefined;
  }
}

/**
 * Whether a process of the group still runs. A group's id is its leader's pid; Windows has no groups, so the leader
 * stands for it. On Linux a group of zombies alone (a finished npm in a container whose PID 1 reaps nothing) answers
 * kill(0) for good but runs nothing; so once its leader has ended, the group runs while /proc shows a member of it that
 * has not. A member /proc does not show (another user's, under hidepid), or no /proc at all: kill(0) is trusted.
 */
function groupAlive(pgid: number): boolean {
  if (process.platform === 'win32') return pidAlive(pgid);
  if (!pidAlive(-pgid)) return false;
  // The leader is a session leader (run.ts starts it detached): while it runs, so does its group. Read every 200 ms.
  if (process.platform !== 'linux' || recordedProcessAlive(pgid, undefined)) return true;
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return true;
  }
  let seen = 0;
  for (const entry of entries.filter((name) => /^\d+$/.test(name))) {
    const fields = statFieldsOrNone(Number(entry));
    if (fields === undefined || Number(fields[2]) !== pgid) continue;
    if (fields[0] !== 'Z' && fields[0] !== 'X') return true;
    seen++;
  }
  return seen === 0;
}

/**
 * Whether the recorded command's group still runs. A pid is not reused while a group still carries it as its id, so a
 * live group whose leader has exited (reaped or not: a zombie leader's scripts write on) is still ours; a leader, live
 * or a zombie, with another start id is not.
 */
function recordedGroupAlive(child: NonNullable<Journal['data']['child']>): boolean {
  return groupAlive(child.pid) && (!pidAlive(child.pid) || sameProcessStart(child.pid, child.startId));
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
