import { describe, expect, it, vi } from 'vitest';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildSync } from 'esbuild';
import { acquireLock } from '../../common/lock.js';
import { REPO_ROOT } from '../../common/paths.js';
import { processStartId } from '../../common/process-identity.js';
import { neverReaping, untilZombie } from '../support/zombie.js';

const dir = () => mkdtempSync(join(tmpdir(), 'lock-'));

/** A real process that takes the lock and then hangs until killed. */
function holderProcess(lockPath: string, options: Record<string, unknown> = {}, through: string[] = []): Promise<import('node:child_process').ChildProcess> {
  // Node 20 cannot run TypeScript: bundle the real lock module for the child.
  const bundled = join(dir(), 'lock.mjs');
  buildSync({ entryPoints: [join(REPO_ROOT, 'common', 'lock.ts')], bundle: true, platform: 'node', format: 'esm', outfile: bundled, logLevel: 'error' });
  const lockModule = pathToFileURL(bundled).href;
  const code = `const { acquireLock } = await import(${JSON.stringify(lockModule)});
    await acquireLock(${JSON.stringify(lockPath)}, { purpose: 'test', ...${JSON.stringify(options)} });
    process.stdout.write('locked\\n'); setInterval(() => {}, 1000);`;
  const [command, ...prefix] = [...through, process.execPath];
  const child = spawn(command!, [...prefix, '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', () => resolve(child));
    child.once('exit', (c) => reject(new Error(`holder exited ${c}`)));
  });
}

/** Stops `holder` as Ctrl-Z does, and waits until it is stopped. */
async function stopped(holder: ChildProcess): Promise<void> {
  holder.kill('SIGSTOP');
  while (readFileSync(`/proc/${holder.pid}/stat`, 'utf8').split(') ')[1]![0] !== 'T') await new Promise((r) => setTimeout(r, 10));
}

describe('acquireLock', () => {
  it('refuses a second holder with the holder named and a way out', async () => {
    const path = join(dir(), 'x.lock');
    const first = await acquireLock(path, { purpose: 'ao-app install' });
    await expect(acquireLock(path, { purpose: 'ao-app install' })).rejects.toThrow(/ao-app install is already running: pid \d+ on .* holds .*x\.lock/);
    await first.release();
    const second = await acquireLock(path, { purpose: 'ao-app install' });
    await second.release();
    expect(existsSync(path)).toBe(false);
  });

  it('refuses at once, without waiting, a lock path that is a folder', async () => {
    const path = join(dir(), 'app.lock');
    mkdirSync(path);
    const started = Date.now();
    await expect(acquireLock(path, { purpose: 'test', waitMs: 60_000 })).rejects.toMatchObject({ code: 'EBADLOCK', why: expect.stringContaining('a folder') });
    // Well under the wait it was given: the folder is never going to be released.
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(existsSync(path)).toBe(true);
  });

  it('waits for a live holder to release', async () => {
    const path = join(dir(), 'x.lock');
    const first = await acquireLock(path, { purpose: 't' });
    setTimeout(() => void first.release(), 200);
    const second = await acquireLock(path, { purpose: 't', waitMs: 5000 });
    await second.release();
  });

  it('keeps waiting for a live holder when the wall clock steps forward (NTP, a laptop waking up)', async () => {
    const path = join(dir(), '.lock');
    const held = await acquireLock(path, { purpose: 'test' });
    const wall = Date.now.bind(Date);
    let step = 0;
    const clock = vi.spyOn(Date, 'now').mockImplementation(() => wall() + step);
    try {
      const waiting = acquireLock(path, { purpose: 'test', waitMs: 60_000 });
      // On the wall clock the 60 s wait had ended at the step: "already running", the holder still at work.
      step = 3_600_000;
      setTimeout(() => void held.release(), 300);
      await (await waiting).release();
    } finally {
      clock.mockRestore();
    }
  });

  it('reclaims the lock of a process that was SIGKILLed', async () => {
    const path = join(dir(), 'x.lock');
    const holder = await holderProcess(path);
    await expect(acquireLock(path, { purpose: 't' })).rejects.toThrow(/already running/);
    holder.kill('SIGKILL');
    await new Promise((r) => holder.once('exit', r));
    const lock = await acquireLock(path, { purpose: 't' });
    expect(JSON.parse(readFileSync(path, 'utf8')).pid).toBe(process.pid);
    await lock.release();
  });

  it('trusts a live holder on this host however old its heartbeat (a blocked event loop, a suspended laptop)', async () => {
    const path = join(dir(), 'x.lock');
    const holder = await holderProcess(path);
    try {
      const old = new Date(Date.now() - 10 * 60_000);
      utimesSync(path, old, old);
      await expect(acquireLock(path, { purpose: 't', staleMs: 1000 })).rejects.toThrow(/already running/);
      expect(JSON.parse(readFileSync(path, 'utf8')).pid).toBe(holder.pid);
    } finally {
      holder.kill('SIGKILL');
    }
  });

  /** Stops `holder` as Ctrl-Z does; the kernel stops it asynchronously, so this waits until /proc says so. */
  // A Ctrl-Z instead of a Ctrl-C on a slow download, then the command again: it waited its whole wait (15 minutes for
  // ao-app install) for a holder that cannot finish until someone resumes it, then said "wait for it to finish".
  it.runIf(process.platform === 'linux')(
    'refuses within a second a holder that stays stopped (Ctrl-Z), saying how to resume or end it',
    async () => {
      const path = join(dir(), 'x.lock');
      const holder = await holderProcess(path);
      try {
        await stopped(holder);
        await expect(acquireLock(path, { purpose: 'the desktop app installer', waitMs: 15 * 60_000 })).rejects.toMatchObject({
          code: 'ELOCKED',
          why: expect.stringContaining(`pid ${holder.pid}`),
          fix: expect.stringMatching(new RegExp(`fg.*kill -CONT ${holder.pid}.*kill ${holder.pid}`)),
        });
        expect(JSON.parse(readFileSync(path, 'utf8')).pid).toBe(holder.pid);
      } finally {
        holder.kill('SIGKILL');
      }
    },
    60_000,
  );

  // Ctrl-Z then bg at once, or cpulimit's SIGSTOP/SIGCONT: stopped for a moment, then running again.
  it.runIf(process.platform === 'linux')(
    'waits on a holder stopped only for a moment, as on any holder',
    async () => {
      const path = join(dir(), 'x.lock');
      const holder = await holderProcess(path);
      try {
        await stopped(holder);
        const acquired = acquireLock(path, { purpose: 'the desktop app installer', waitMs: 60_000 });
        // Resumed before a second has passed, then gone (its lock reclaimed): the waiter takes the lock.
        await new Promise((r) => setTimeout(r, 200));
        holder.kill('SIGCONT');
        await new Promise((r) => setTimeout(r, 200));
        holder.kill('SIGKILL');
        const lock = await acquired;
        expect(JSON.parse(readFileSync(path, 'utf8')).pid).toBe(process.pid);
        await lock.release();
      } finally {
        holder.kill('SIGKILL');
      }
    },
    60_000,
  );

  it('takes over a lock whose pid now names another process (the holder died and its pid was reused, or the machine rebooted)', async () => {
    const path = join(dir(), 'x.lock');
    // A live process that is not the holder the lock file names: same pid number, another start.
    const stranger = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    try {
      await new Promise((resolve) => stranger.once('spawn', resolve));
      const dead = { pid: stranger.pid, host: hostname(), acquiredAt: '2026-01-01T00:00:00Z', token: 'old', startId: 'a process that ended' };
      writeFileSync(path, JSON.stringify(dead));
      const lock = await acquireLock(path, { purpose: 't' });
      expect(JSON.parse(readFileSync(path, 'utf8')).pid).toBe(process.pid);
      await lock.release();
    } finally {
      stranger.kill('SIGKILL');
    }
  });

  // A holder killed (SIGKILL, the OOM killer) whose parent has not reaped it: a container whose PID 1 reaps no orphans, a
  // busy parent. Its pid still answers kill(0) and /proc, as a zombie (state Z), until then.
  it.runIf(process.platform === 'linux')('reclaims the lock of a killed holder its parent has not reaped yet (a zombie)', async () => {
    const path = join(dir(), 'x.lock');
    // The child exits at once and its parent never waits for it. (A shell's `true & exec sleep 30` was a race: the
    // shell could reap `true` before its exec, and the pid was gone, in 1 of a few loaded runs.)
    const { parent, printed } = await neverReaping([
      'import os, time',
      'pid = os.fork()',
      'if pid == 0:',
      '    os._exit(0)',
      'print(pid, flush=True)',
      'time.sleep(30)',
    ]);
    try {
      const pid = Number(printed);
      await untilZombie(pid);
      const startId = processStartId(pid);
      writeFileSync(path, JSON.stringify({ pid, host: hostname(), acquiredAt: new Date().toISOString(), token: 'killed', startId }));
      // It had been waited on as a live holder: 15 minutes for ao-app install, then ELOCKED naming a pid `ps` shows <defunct>.
      const lock = await acquireLock(path, { purpose: 't', waitMs: 2000 });
      expect(JSON.parse(readFileSync(path, 'utf8')).pid).toBe(process.pid);
      await lock.release();
    } finally {
      parent.kill('SIGKILL');
    }
  });

  it('releases only a lock carrying its own token, never one another process holds now', async () => {
    const path = join(dir(), 'x.lock');
    const mine = await acquireLock(path, { purpose: 't' });
    // Meanwhile someone judged ours stale and took over: the file is theirs now.
    const theirs = JSON.stringify({ pid: process.pid, host: 'this-host', acquiredAt: new Date().toISOString(), token: 'someone-else' });
    writeFileSync(path, theirs);
    await mine.release();
    expect(readFileSync(path, 'utf8')).toBe(theirs);
  });

  it('reclaims a lock whose heartbeat stopped, even from another host', async () => {
    const path = join(dir(), 'x.lock');
    writeFileSync(path, JSON.stringify({ pid: 1, host: 'elsewhere', acquiredAt: '2026-01-01T00:00:00Z' }));
    await expect(acquireLock(path, { purpose: 't', staleMs: 60_000 })).rejects.toThrow(/pid 1 on elsewhere/);
    const old = new Date(Date.now() - 120_000);
    utimesSync(path, old, old);
    const lock = await acquireLock(path, { purpose: 't', staleMs: 60_000 });
    await lock.release();
  });

  it('lets exactly one of many contenders in at a time', async () => {
    const path = join(dir(), 'x.lock');
    let inside = 0;
    let maxInside = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        const lock = await acquireLock(path, { purpose: 't', waitMs: 10_000 });
        inside++;
        maxInside = Math.max(maxInside, inside);
        await new Promise((r) => setTimeout(r, 10));
        inside--;
        await lock.release();
      }),
    );
    expect(maxInside).toBe(1);
  });
});

// A command that needs no space (ao-app verify reads, remove frees it) on a disk with not a byte left: its lock is the
// empty file it made, still exclusive, and gone once released. It had failed writing its pid, ENOSPC.
describe.runIf(process.platform === 'linux' && process.getuid?.() === 0)('acquireLock on a disk with no byte left', () => {
  const options = { purpose: 'ao-app remove', emptyOnFullDisk: true };

  /** A full disk of `type` (a loop-mounted image for ext4), mounted for `use`. */
  async function onFullDisk(type: 'tmpfs' | 'ext4' | 'ext4 without birth times', use: (disk: string) => Promise<void>): Promise<void> {
    const disk = dir();
    if (type === 'tmpfs') execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', disk]);
    else {
      const image = join(dir(), 'disk.img');
      execFileSync('truncate', ['-s', '16M', image]);
      // 128-byte inodes have no room for a birth time.
      execFileSync('mkfs.ext4', ['-q', '-m', '0', ...(type === 'ext4' ? [] : ['-I', '128']), image]);
      execFileSync('mount', ['-o', 'loop', image, disk]);
    }
    try {
      // dd ends failing with ENOSPC, as it should.
      spawnSync('dd', ['if=/dev/zero', `of=${join(disk, 'filler')}`, 'bs=1k'], { stdio: 'ignore' });
      await use(disk);
    } finally {
      execFileSync('umount', [disk]);
    }
  }

  /** Renames the holder link of `disk`'s x.lock to name a holder on another host, which its pid cannot vouch for. */
  function elsewhere(disk: string): void {
    const link = readdirSync(disk).find((n) => n.startsWith('x.lock.holder-'))!;
    renameSync(join(disk, link), join(disk, link.replace(/\.[\w-]*\.([\w-]*)\.held$/, `.${Buffer.from('elsewhere').toString('base64url')}.$1.held`)));
  }

  it('holds the lock as an empty file that others wait for, and deletes it on release', async () => {
    await onFullDisk('tmpfs', async (disk) => {
      const path = join(disk, 'x.lock');
      const first = await acquireLock(path, options);
      expect(readFileSync(path, 'utf8')).toBe('');
      // Without the option, as install takes it: the disk's error, and no empty file left behind by it.
      await expect(acquireLock(join(disk, 'y.lock'), { purpose: 'ao-app install' })).rejects.toMatchObject({ code: 'ENOSPC' });
      expect(existsSync(join(disk, 'y.lock'))).toBe(false);
      await expect(acquireLock(path, { ...options, waitMs: 300 })).rejects.toMatchObject({ code: 'ELOCKED' });
      await first.release();
      expect(existsSync(path)).toBe(false);
      const second = await acquireLock(path, options);
      await second.release();
    });
  });

  it('keeps the empty lock fresh with its heartbeat: held past staleMs, it is still waited for', async () => {
    await onFullDisk('tmpfs', async (disk) => {
      const path = join(disk, 'x.lock');
      // A heartbeat every second (its floor); stale after 3 s without one.
      const fresh = { ...options, staleMs: 3000 };
      const first = await acquireLock(path, fresh);
      // Named as a holder on another host (a shared folder): only its heartbeat can keep it, not a live pid here.
      elsewhere(disk);
      await new Promise((r) => setTimeout(r, 5000));
      await expect(acquireLock(path, { ...fresh, waitMs: 300 })).rejects.toMatchObject({ code: 'ELOCKED' });
      await first.release();
      expect(existsSync(path)).toBe(false);
    });
  }, 20_000);

  // The empty lock names its holder (a hard link beside it): judged by its pid as any lock on this host. Judged by its
  // heartbeat alone, a holder stopped with Ctrl-Z had it taken over after 30 s with no error.
  it.runIf(process.platform === 'linux')(
    'refuses, saying how to resume it, an empty lock whose holder stays stopped, and never takes it over',
    async () => {
      await onFullDisk('tmpfs', async (disk) => {
        const path = join(disk, 'x.lock');
        const holder = await holderProcess(path, options);
        try {
          expect(readFileSync(path, 'utf8')).toBe('');
          await stopped(holder);
          // Its heartbeat long stopped, as after 30 s stopped.
          const old = new Date(Date.now() - 120_000);
          utimesSync(path, old, old);
          await expect(acquireLock(path, { ...options, staleMs: 30_000, waitMs: 60_000 })).rejects.toMatchObject({
            code: 'ELOCKED',
            why: expect.stringContaining(`pid ${holder.pid}`),
            fix: expect.stringContaining(`kill -CONT ${holder.pid}`),
          });
          expect(existsSync(path)).toBe(true);
        } finally {
          holder.kill('SIGKILL');
        }
        // Killed: its lock is reclaimed at once (no wait for its heartbeat to go stale), its holder link with it.
        await new Promise((r) => holder.once('exit', r));
        const next = await acquireLock(path, options);
        await next.release();
        expect(readdirSync(disk).sort()).toEqual(['filler', 'lost+found'].filter((n) => existsSync(join(disk, n))));
      });
    },
    30_000,
  );

  // ext4 gives a new file the inode just freed: the empty lock taken over (a holder on another host, on a shared folder,
  // whose heartbeat stopped) reuses the taken-over one's inode, and the first holder's release had deleted the second's.
  it('releases only its own empty lock, not the one that took it over in the same inode (ext4)', async () => {
    await onFullDisk('ext4', async (disk) => {
      const path = join(disk, 'x.lock');
      const first = await acquireLock(path, options);
      // As a holder on another host: named so, its heartbeat stopped long ago.
      elsewhere(disk);
      const old = new Date(Date.now() - 120_000);
      utimesSync(path, old, old);
      const second = await acquireLock(path, options);
      await first.release();
      expect(existsSync(path)).toBe(true);
      await second.release();
      expect(existsSync(path)).toBe(false);
    });
  });

  // Without birth times an empty lock was known by its inode alone, which ext4 gives the next lock: a reclaimer that judged
  // the stale lock, then moved aside the live one made meanwhile in its inode, took it for the stale one and deleted it.
  it('a reclaimer tells a new empty lock from the stale one it judged, in the same inode with no birth time; and says no "since 1970"', async () => {
    await onFullDisk('ext4 without birth times', async (disk) => {
      const path = join(disk, 'x.lock');
      // A stale empty lock of a holder on another host.
      const first = await acquireLock(path, options);
      elsewhere(disk);
      const stale = readdirSync(disk).find((n) => n.startsWith('x.lock.holder-'))!;
      await first.release();
      closeSync(openSync(path, 'wx'));
      const inode = statSync(path).ino;
      linkSync(path, join(disk, stale));
      const old = new Date(Date.now() - 120_000);
      utimesSync(path, old, old);
      // A reclaimer held between judging it stale and moving it aside (its rename delayed).
      const bundled = join(dir(), 'lock.mjs');
      buildSync({ entryPoints: [join(REPO_ROOT, 'common', 'lock.ts')], bundle: true, platform: 'node', format: 'esm', outfile: bundled, logLevel: 'error' });
      const code = `const { acquireLock } = await import(${JSON.stringify(pathToFileURL(bundled).href)});
        process.stdout.write('ready\\n');
        await acquireLock(${JSON.stringify(path)}, ${JSON.stringify(options)}).then(() => process.stdout.write('locked\\n'), (e) => process.stdout.write(e.code + '\\n'));`;
      const reclaimer = spawn(
        'strace',
        [
          '-f',
          '-qq',
          '-o',
          '/dev/null',
          '-P',
          path,
          '-e',
          'trace=rename,renameat,renameat2',
          '-e',
          'inject=rename,renameat,renameat2:delay_enter=6000000:when=1',
          process.execPath,
          '--input-type=module',
          '-e',
          code,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let out = '';
      reclaimer.stdout!.on('data', (d) => (out += d));
      while (!out.includes('ready')) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 2000));
      // Meanwhile another process reclaimed it and holds a new empty lock, in the same inode.
      rmSync(path);
      rmSync(join(disk, stale));
      const second = await acquireLock(path, options);
      expect(statSync(path).ino).toBe(inode);
      await new Promise((r) => reclaimer.once('exit', r));
      expect(out).toBe('ready\nELOCKED\n');
      expect(existsSync(path)).toBe(true);
      await expect(acquireLock(path, options)).rejects.toMatchObject({ why: expect.not.stringContaining('since') });
      await second.release();
      expect(existsSync(path)).toBe(false);
    });
  }, 30_000);
  // Windows drops a name's trailing dot, and a holder there has no start id: its link, ending in '.', had named no holder.
  it('names the holder of an empty lock in a link not ending in a dot when it has no start id (as on Windows)', async () => {
    await onFullDisk('tmpfs', async (disk) => {
      const path = join(disk, 'x.lock');
      // Without /proc the holder knows no start id of its own.
      const holder = await holderProcess(path, options, ['unshare', '-m', 'sh', '-c', 'mount -t tmpfs none /proc && exec "$0" "$@"']);
      try {
        expect(readdirSync(disk).find((n) => n.startsWith('x.lock.holder-'))).not.toMatch(/\.$/);
        await expect(acquireLock(path, { ...options, waitMs: 300 })).rejects.toMatchObject({ why: expect.stringContaining(`pid ${holder.pid}`) });
      } finally {
        holder.kill('SIGKILL');
      }
    });
  });
});
