import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pidAlive } from '../../../common/process-identity.js';
import { settleOrphanedChild, trackChild } from '../../../installer/cutover/children.js';
import { Journal } from '../../../installer/cutover/journal.js';

/** A process group leader that lives until killed, as an orphaned `npm install -g` would. */
async function groupLeader() {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore', detached: true });
  await new Promise((resolve) => child.once('spawn', resolve));
  return child;
}

describe('a recovery and the command a crash left running', () => {
  it('waits for the recorded command, then stops it', async () => {
    const journal = await Journal.create(await mkdtemp(join(tmpdir(), 'ao-children-')), { command: 'update', target: '0.10.0' });
    const orphan = await groupLeader();
    await trackChild(journal, orphan.pid!, 'npm install -g @aoagents/ao@0.10.0');
    const lines: string[] = [];
    await settleOrphanedChild(journal, (l) => lines.push(l), 300);
    expect(pidAlive(orphan.pid!)).toBe(false);
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
      const lines: string[] = [];
      await settleOrphanedChild(journal, (l) => lines.push(l), 300);
      expect(pidAlive(grandchild)).toBe(false);
      expect(lines.join('\n')).toMatch(/waiting for `npm install -g @aoagents\/ao@0.10.0`[\s\S]*stopping it \(SIGTERM\)/);
    } finally {
      if (pidAlive(grandchild)) process.kill(grandchild, 'SIGKILL');
    }
  });
});
