import { setTimeout as sleep } from 'node:timers/promises';
import { pidAlive, processStartId, recordedProcessAlive } from '../../common/process-identity.js';
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

/** A process group's id is its leader's pid; Windows has no groups, so the leader stands for it. */
const groupAlive = (pgid: number): boolean => pidAlive(process.platform === 'win32' ? pgid : -pgid);

/**
 * Whether the recorded command's group still runs. A pid is not reused while a group still carries it as
 * its id, so a live group whose leader has exited is still ours; a live leader with another start id is not.
 */
function recordedGroupAlive(child: NonNullable<Journal['data']['child']>): boolean {
  return groupAlive(child.pid) && (!pidAlive(child.pid) || recordedProcessAlive(child.pid, child.startId));
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
