import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pidAlive, recordedProcessAlive } from '../../../common/process-identity.js';
import { settleOrphanedChild, trackChild } from '../../../installer/cutover/children.js';
import { Journal } from '../../../installer/cutover/journal.js';
import { neverReaping, untilZombie, zombieLedGroup } from '../../support/zombie.js';

/** A process group leader that lives until killed, as an orphaned `npm install -g` would. */
async function groupLeader() {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore', detached: true });
  await new Promise((resolve) => child.once('spawn', resolve));
  return child;
}

/** The recovery waits for the recorded npm's group (briefly here), then stops it: `member`, still running in it, ends. */
async function expectWaitedForAndStopped(journal: Journal, member: number): Promise<void> {
  const lines: string[] = [];
  await settleOrphanedChild(journal, (l) => lines.push(l), 300);
  expect(recordedProcessAlive(member, undefined)).toBe(false);
  expect(lines.join('\n')).toMatch(/waiting for `npm install -g @aoagents\/ao@0.10.0`[\s\S]*stopping it \(SIGTERM\)/);
}

describe('a recovery and the command a crash left running', () => {
  it('waits for the recorded command, then stops it', async () => {
    const journal = await Journal.create(await mkdtemp(join(tmpdir(), 'ao-children-')), { command: 'update', target: '0.10.0' });
    const orphan = await groupLeader();
    await trackChild(journal, orphan.pid!, 'npm install -g @aoagents/ao@0.10.0');
    const lines: string[] = [];
    await settleOrphanedChild(journal, (l) => lines.push(l), 300);
    expect(recordedProcessAlive(orphan.pid!, undefined)).toBe(false);
    expect(lines.join('\n')).toMatch(/waiting for `npm install -g @aoagents\/ao@0.10.0`[\s\S]*stopping it \(SIGTERM\)/);
    expect(journal.data.child).toBeUndefined();
  });

  it('leaves alone a process that now holds the recorded pid but is not the command (after a reboot or pid reuse)', async () => {
    const journal = await Journal.create(await mkdtemp(join(tmpdir(), 'ao-children-')), { command: 'update', target: '0.10.0' });
    const stranger = await groupLeader();
    try {
      await journal.update({
        child: { pid: stranger.pid!, command: 'npm install -g @aoagents/ao@0.10.0', startedAt: '2026-01-01T00:00:00Z', startId: 'a process that ended' },
      });
      const lines: string[] = [];
      await settleOrphanedChild(journal, (l) => lines.push(l), 300);
      expect(pidAlive(stranger.pid!)).toBe(true);
      expect(lines).toEqual([]);
      expect(journal.data.child).toBeUndefined();
    } finally {
      stranger.kill('SIGKILL');
    }
  });

  // npm killed while a script it started runs on, in a container whose PID 1 reaps nothing: the leader is a zombie. Counted
  // dead (as a lock holder rightly is), it had let the recovery write beside the script still running in its group.
  it.runIf(process.platform === 'linux')(
    'waits for and stops the group when its leader is a zombie nobody reaped but a process it started still runs',
    async () => {
      const journal = await Journal.create(await mkdtemp(join(tmpdir(), 'ao-children-')), { command: 'update', target: '0.10.0' });
      const { parent, leader, member: grandchild } = await zombieLedGroup();
      try {
        await trackChild(journal, leader, 'npm install -g @aoagents/ao@0.10.0');
        await expectWaitedForAndStopped(journal, grandchild);
      } finally {
        if (pidAlive(grandchild)) process.kill(grandchild, 'SIGKILL');
        parent.kill('SIGKILL');
      }
    },
  );

  // After a reboot or pid reuse, a zombie leader whose script runs on is some other command's group: its start id is
  // still there to compare, and the zombie rule had skipped the comparison (waited for, then SIGTERMed a stranger).
  it.runIf(process.platform === 'linux')('leaves alone a zombie-led group that now holds the recorded pid but is not the command', async () => {
    const journal = await Journal.create(await mkdtemp(join(tmpdir(), 'ao-children-')), { command: 'update', target: '0.10.0' });
    const { parent, leader, member: grandchild } = await zombieLedGroup();
    try {
      await journal.update({ child: { pid: leader, command: 'npm install -g old', startedAt: new Date().toISOString(), startId: 'another-boot:123' } });
      const lines: string[] = [];
      await settleOrphanedChild(journal, (l) => lines.push(l), 3_000);
      expect(lines).toEqual([]);
      expect(recordedProcessAlive(grandchild, undefined)).toBe(true);
    } finally {
      process.kill(grandchild, 'SIGKILL');
      parent.kill('SIGKILL');
    }
  });

  // The same container, npm finished with nothing left in its group: a zombie alone, which never goes away. Read as a live
  // group, it would have held the recovery its whole 10 minutes, then sent it signals it cannot take.
  it.runIf(process.platform === 'linux')('does not wait for a group whose only member is a finished leader nobody reaped', async () => {
    const journal = await Journal.create(await mkdtemp(join(tmpdir(), 'ao-children-')), { command: 'update', target: '0.10.0' });
    const { parent, printed } = await neverReaping([
      'import os, time',
      'pid = os.fork()',
      'if pid == 0:',
      '    os.setsid()',
      '    os._exit(0)',
      'print(pid, flush=True)',
      'time.sleep(60)',
    ]);
    const leader = Number(printed);
    try {
      await untilZombie(leader);
      await trackChild(journal, leader, 'npm install -g @aoagents/ao@0.10.0');
      const lines: string[] = [];
      // A short wait: were the group taken for live, the settle would end in signals and the lines say so.
      await settleOrphanedChild(journal, (l) => lines.push(l), 3_000);
      expect(lines).toEqual([]);
      expect(journal.data.child).toBeUndefined();
    } finally {
      parent.kill('SIGKILL');
    }
  });

  it('waits for and stops the group when its leader has exited but a process it started still runs in it', async () => {
    const journal = await Journal.create(await mkdtemp(join(tmpdir(), 'ao-children-')), { command: 'update', target: '0.10.0' });
    // npm exiting while a script it started runs on in its group: the leader prints the script's pid, exits when told.
    const script = [
      "const c = require('node:child_process').spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });",
      'c.unref(); console.log(c.pid);',
      "process.stdin.on('end', () => process.exit(0)).resume();",
    ].join(' ');
    const leader = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'ignore'], detached: true });
    const grandchild = Number(await new Promise<string>((resolve) => leader.stdout.once('data', (d) => resolve(String(d)))));
    await trackChild(journal, leader.pid!, 'npm install -g @aoagents/ao@0.10.0');
    leader.stdin.end();
    await new Promise((resolve) => leader.once('close', resolve));
    expect([pidAlive(leader.pid!), pidAlive(grandchild)]).toEqual([false, true]);
    try {
      await expectWaitedForAndStopped(journal, grandchild);
    } finally {
      if (pidAlive(grandchild)) process.kill(grandchild, 'SIGKILL');
    }
  });
});
