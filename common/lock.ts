import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { link, lstat, mkdir, open, readFile, rename, rm, stat, utimes } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from './errors.js';
import { DISK_FULL } from './file-system-error.js';
import { procStatFields } from './proc-stat.js';
import { processStartId, recordedProcessAlive } from './process-identity.js';

/**
 * An exclusive lock file with stale-lock reclaim. The holder writes its pid, its
 * start id (process-identity.ts), host and a random token and keeps the file's mtime fresh. On this host the pid
 * decides: a live holder is trusted however old its heartbeat (a blocked event
 * loop, a suspended laptop), a dead one (or a pid now naming another process) is taken over. A holder on another host
 * (a shared folder) is judged by its heartbeat: stopped for `staleMs`, taken over.
 * A release removes the lock only if it still carries the holder's own token.
 * Node built-ins only: this ships inside @aoagents/ao.
 */
export interface LockOptions {
  /** What the lock protects, for the error a second process sees. */
  purpose: string;
  /** How long to wait for a live holder before giving up. */
  waitMs?: number;
  staleMs?: number;
  /** Told once, when a live holder makes us wait: who holds the lock (a wait of minutes must not look like a hang). */
  onWait?: (holder: string) => void;
  /** Ends the wait when it fires (`EINTERRUPTED`): the cutover's Ctrl-C, which must not sit out another holder's minutes. */
  signal?: AbortSignal;
  /**
   * For a command that may need no space (one that only reads, one that frees it, an install with nothing to do): on a full disk, where its pid cannot be
   * written, the lock is held as the empty file made for it. Exclusive all the same, and kept fresh by the heartbeat, so
   * others wait for it as for any holder whose pid they cannot read; its release deletes that very file (by its inode).
   */
  emptyOnFullDisk?: boolean;
}

export interface Lock {
  release(): Promise<void>;
}

interface Holder {
  pid: number;
  host: string;
  acquiredAt: string;
  token: string;
  startId?: string;
}

/** The stale lock's content when it is stale, so a reclaimer can check it took that very file. */
async function staleContent(path: string, staleMs: number): Promise<string | undefined> {
  try {
    const [text, info] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    let holder: Partial<Holder> = {};
    try {
      holder = JSON.parse(text) as Holder;
    } catch {
      // A holder killed between create and write leaves an empty file: judge by age.
    }
    if (holder.host === hostname() && typeof holder.pid === 'number') return recordedProcessAlive(holder.pid, holder.startId) ? undefined : text;
    return Date.now() - info.mtimeMs > staleMs ? text : undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? '' : undefined;
  }
}

function tokenOf(text: string): string | undefined {
  try {
    return (JSON.parse(text) as Partial<Holder>).token;
  } catch {
    return undefined;
  }
}

/** Moves the lock aside and deletes it if it is ours; a lock someone else holds now is put back. */
async function removeIfOurs(path: string, ours: (file: string) => Promise<boolean>): Promise<void> {
  if (!(await ours(path))) return;
  const aside = `${path}.release-${process.pid}-${Date.now()}`;
  try {
    await rename(path, aside);
  } catch {
    return;
  }
  if (!(await ours(aside))) await link(aside, path).catch(() => undefined);
  await rm(aside, { force: true });
}

/** A lock file carrying `token`. */
const carries = (token: string) => async (file: string) => tokenOf(await readFile(file, 'utf8').catch(() => '')) === token;

/** The empty lock file made on a full disk, known by its inode: it carries no token. */
const isFile = (made: { dev: number; ino: number }) => async (file: string) => {
  const info = await lstat(file).catch(() => undefined);
  return info?.dev === made.dev && info.ino === made.ino;
};

/** Something other than a lock file at the lock's path (a folder, a link) would never be released: say so now, not after the wait. */
async function refuseNonLock(path: string): Promise<void> {
  const info = await lstat(path).catch(() => undefined);
  if (!info || info.isFile()) return;
  throw new UserError({
    what: `${path} is not a lock file`,
    why: `it is ${info.isDirectory() ? 'a folder' : info.isSymbolicLink() ? 'a symbolic link' : 'not a regular file'}, which no process holding the lock would have made`,
    fix: `remove ${path} (rm -r ${JSON.stringify(path)}), then run the command again`,
    code: 'EBADLOCK',
  });
}

/** Why a stale lock cannot be moved aside by this user: the folder is not theirs to write, or the disk is read-only. */
/** Errors that say this user may not create or move files in a folder (not theirs, a read-only disk): no retry changes them. */
export const CANNOT_WRITE = new Set(['EACCES', 'EPERM', 'EROFS']);

export async function acquireLock(path: string, options: LockOptions): Promise<Lock> {
  const staleMs = options.staleMs ?? 30_000;
  // Monotonic: a wall clock stepped forward (NTP, a laptop waking up) had ended a wait for a live holder at once.
  const deadline = performance.now() + (options.waitMs ?? 0);
  await mkdir(dirname(path), { recursive: true });
  let told = false;
  // When the holder was first seen stopped, on consecutive polls: a stop of a moment (Ctrl-Z then bg, cpulimit's
  // SIGSTOP/SIGCONT) is waited on like any holder; one stopped for a second or more is not coming back by itself.
  let stoppedSince: number | undefined;
  for (let delay = 25; ; delay = Math.min(delay * 2, 500)) {
    try {
      // Never writable by others whatever the umask (000 made it 0666): anyone could have put a live pid in it, and every
      // run would wait on that process for its whole wait.
      const handle = await open(path, 'wx', 0o644);
      const me: Holder = {
        pid: process.pid,
        host: hostname(),
        acquiredAt: new Date().toISOString(),
        token: randomUUID(),
        startId: processStartId(process.pid),
      };
      let ours = carries(me.token);
      try {
        await handle.writeFile(JSON.stringify(me));
      } catch (err) {
        // Held empty (a part of the pid written is no pid either), known by its inode; where that fails too, as below.
        const empty =
          options.emptyOnFullDisk && DISK_FULL.has((err as NodeJS.ErrnoException).code ?? '')
            ? await handle.truncate(0).then(
                () => handle.stat(),
                () => undefined,
              )
            : undefined;
        if (empty) ours = isFile(empty);
        else {
          // A full disk: the empty file we created carries no pid, and the next run would wait for it to go stale.
          await handle.close().catch(() => undefined);
          await rm(path, { force: true });
          throw err;
        }
      }
      await handle.close();
      const heartbeat = setInterval(
        () => {
          const now = new Date();
          utimes(path, now, now).catch(() => undefined);
        },
        Math.max(1000, staleMs / 3),
      );
      heartbeat.unref();
      let released = false;
      return {
        async release() {
          if (released) return;
          released = true;
          clearInterval(heartbeat);
          await removeIfOurs(path, ours);
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    await refuseNonLock(path);
    const stale = await staleContent(path, staleMs);
    if (stale !== undefined) {
      // Move the stale lock aside, then make sure it is the file we judged: another
      // reclaimer may have replaced it with a live lock in between; put that back.
      const aside = `${path}.stale-${process.pid}-${Date.now()}`;
      try {
        await rename(path, aside);
        if ((await readFile(aside, 'utf8')) !== stale) await link(aside, path).catch(() => undefined);
        await rm(aside, { force: true });
      } catch (err) {
        // A folder this user may not write (an admin's install, a read-only disk): the stale lock cannot be moved, now
        // or later, and retrying at once would spin for good. The caller hears why, as if it had failed to create it.
        if (CANNOT_WRITE.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
        // Someone else reclaimed it first; try again.
      }
      continue;
    }
    const stopped = await stoppedHolder(path);
    stoppedSince = stopped === undefined ? undefined : (stoppedSince ?? performance.now());
    if (stopped !== undefined && performance.now() - stoppedSince! >= STOPPED_FOR_MS)
      throw new UserError({
        what: `${options.purpose} is already running`,
        why: `${await holderOf(path)} holds ${path}, and that process is stopped (Ctrl-Z, or a SIGSTOP): it cannot finish while stopped`,
        fix: `resume it (fg in the terminal it runs in, or kill -CONT ${stopped}) and let it finish, or end it (kill ${stopped}), then run this again`,
        code: 'ELOCKED',
      });
    if (performance.now() + delay > deadline) {
      const who = await holderOf(path);
      throw new UserError({
        what: `${options.purpose} is already running`,
        why: `${who} holds ${path}`,
        fix: `wait for it to finish; if no such process exists, delete ${path}`,
        code: 'ELOCKED',
      });
    }
    if (!told && options.onWait) {
      told = true;
      options.onWait(await holderOf(path));
    }
    await sleep(delay, undefined, { signal: options.signal }).catch(() => undefined);
    if (options.signal?.aborted)
      throw new UserError({
        what: `${options.purpose} was interrupted while it waited for the lock`,
        why: `${await holderOf(path)} holds ${path}`,
        fix: 'run it again once that one has finished',
        code: 'EINTERRUPTED',
      });
  }
}

const STOPPED_FOR_MS = 1000;

/**
 * The pid of a holder on this host stopped by job control (Ctrl-Z: state T in /proc), which no wait sees finish.
 * Linux only; elsewhere, or when it cannot tell, undefined.
 */
async function stoppedHolder(path: string): Promise<number | undefined> {
  try {
    const holder = JSON.parse(await readFile(path, 'utf8')) as Partial<Holder>;
    if (holder.host !== hostname() || typeof holder.pid !== 'number') return undefined;
    return procStatFields(holder.pid)[0] === 'T' ? holder.pid : undefined;
  } catch {
    return undefined;
  }
}

/** Who holds the lock, as a person reads it. */
async function holderOf(path: string): Promise<string> {
  try {
    const holder = JSON.parse(await readFile(path, 'utf8')) as Holder;
    return `pid ${holder.pid} on ${holder.host} (since ${holder.acquiredAt})`;
  } catch {
    return 'another process';
  }
}
