import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Stats } from 'node:fs';
import { type FileHandle, link, lstat, mkdir, open, readdir, readFile, rename, rm, stat, utimes } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from './errors.js';
import { DISK_FULL } from './file-system-error.js';
import { procStatFields } from './proc-stat.js';
import { removeCommandFor } from './shell-quote.js';
import { processStartId, recordedProcessAlive } from './process-identity.js';

/**
 * An exclusive lock file with stale-lock reclaim. The holder writes its pid, its
 * start id (process-identity.ts), host and a random token (held empty on a full disk: in the name of a hard link to it,
 * `emptyOnFullDisk`) and keeps the file's mtime fresh. On this host the pid
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
   * For a command that may need no space (one that only reads, one that frees it, an install with nothing to do): on a
   * full disk, where its pid cannot be written, the lock is held as the empty file made for it, with a hard link to it
   * beside it whose name says who holds it (`<lock>.holder-<pid>.<token>.<host>.<start id>.held`: a name needs no data block).
   * Judged by that holder as any lock: on this host a live one is waited for however old the heartbeat, a stopped one
   * is ELOCKED, a dead one reclaimed. Its release deletes the lock only while the link names its token, then the link.
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

/**
 * The stale lock's identity (readLock) when it is stale, so a reclaimer can check it took that very file;
 * '' when the lock is gone. Judged from one reading of the file: the holder and the identity are of the same lock.
 */
async function staleIdentity(path: string, staleMs: number): Promise<string | undefined> {
  try {
    const { identity, holder, info } = await readLock(path);
    // A holder killed between create and write (or between creating an empty lock and naming it) names no one: judge by age.
    if (holder?.host === hostname() && typeof holder.pid === 'number') return recordedProcessAlive(holder.pid, holder.startId) ? undefined : identity;
    return Date.now() - info.mtimeMs > staleMs ? identity : undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? '' : undefined;
  }
}

/**
 * The lock `file` (the lock at `path`, or that lock moved aside): its identity, which tells it from any other (its JSON,
 * or for an empty one, which may all look alike, its inode, birth time and holder's token), and its holder: the JSON, or for a lock held
 * empty on a full disk the hard link to it its holder made beside it, whose name says who (a name needs no data block).
 */
async function readLock(file: string, path = file): Promise<{ identity: string; holder?: Partial<Holder>; link?: string; info: Stats }> {
  const [text, info] = await Promise.all([readFile(file, 'utf8'), lstat(file)]);
  if (text === '') {
    const named = await emptyLockHolder(path, info);
    // Where there is no birth time (NFS, ext4 with small inodes) the next lock may get the same inode: its token tells them apart.
    return { identity: `${info.dev}:${info.ino}:${info.birthtimeMs}:${named?.holder.token ?? ''}`, info, ...named };
  }
  try {
    return { identity: text, holder: JSON.parse(text) as Partial<Holder>, info };
  } catch {
    return { identity: text, info };
  }
}

/** Who holds the lock at `path`, undefined when it cannot tell. */
const readHolder = (path: string) =>
  readLock(path).then(
    (lock) => lock.holder,
    () => undefined,
  );

/**
 * `<lock>.holder-<pid>.<token>.<host>.<start id>.held` (host and start id in base64url, which has no dot): who holds an
 * empty lock. Ending in a tag: with no start id (every holder on Windows) it had ended in a dot, which Windows drops.
 */
const holderLinkName = (path: string, me: Holder) =>
  `${path}.holder-${me.pid}.${me.token}.${Buffer.from(me.host).toString('base64url')}.${Buffer.from(me.startId ?? '').toString('base64url')}.held`;
const HOLDER_LINK = /\.holder-(\d+)\.([0-9a-f-]{36})\.([\w-]*)\.([\w-]*)\.held$/;

/** The holder link of the empty lock `info` (the same inode), and who it names. */
async function emptyLockHolder(path: string, info: Stats): Promise<{ link: string; holder: Partial<Holder> } | undefined> {
  const prefix = `${basename(path)}.holder-`;
  for (const name of await readdir(dirname(path)).catch(() => [] as string[])) {
    const found = name.startsWith(prefix) ? HOLDER_LINK.exec(name) : null;
    if (!found) continue;
    const link = join(dirname(path), name);
    const linked = await lstat(link).catch(() => undefined);
    if (linked?.dev !== info.dev || linked.ino !== info.ino) continue;
    const startId = Buffer.from(found[4]!, 'base64url').toString();
    return {
      link,
      holder: {
        pid: Number(found[1]),
        token: found[2]!,
        host: Buffer.from(found[3]!, 'base64url').toString(),
        startId: startId || undefined,
        // Since its birth, where the file system keeps one (not NFS, not ext4 with small inodes: 1970 there).
        ...(info.birthtimeMs ? { acquiredAt: info.birthtime.toISOString() } : {}),
      },
    };
  }
  return undefined;
}

type LockReading = Awaited<ReturnType<typeof readLock>>;

/** Moves the lock aside and deletes it (and, held empty, its holder link) if it is `ours`; a lock someone else holds now is put back. */
async function removeIfOurs(path: string, ours: (lock: LockReading) => boolean): Promise<void> {
  const now = await readLock(path).catch(() => undefined);
  if (!now || !ours(now)) return;
  // One that cannot be moved (gone, moved by a reclaimer, a folder this user may not write) is left as it is.
  await takeAside(path, 'release', ours).catch((err: NodeJS.ErrnoException) => {
    if (err.syscall !== 'rename') throw err;
  });
}

/**
 * Moves the lock at `path` aside (`<path>.<tag>-<pid>-<ms>`), then judges what was moved, which another process may have
 * replaced since it was read: deleted with its holder link when `wanted`, else linked back. Throws what the rename
 * throws. The one sequence for a release and a stale reclaim, which had each written it out.
 */
async function takeAside(path: string, tag: string, wanted: (lock: LockReading) => boolean): Promise<void> {
  const aside = `${path}.${tag}-${process.pid}-${Date.now()}`;
  await rename(path, aside);
  const moved = await readLock(aside, path).catch(() => undefined);
  const taken = moved !== undefined && wanted(moved);
  if (!taken) await link(aside, path).catch(() => undefined);
  await rm(aside, { force: true });
  if (taken && moved.link) await rm(moved.link, { force: true });
}

/**
 * Holds the lock just made as the empty file on a full disk: named by a hard link beside it, or where the file system
 * makes none (FAT/exFAT, some SMB/NFS shares, a full btrfs or directory block) unnamed, judged by its heartbeat then and
 * known by its identity. Says how to tell the lock is still ours; undefined where even that fails.
 */
async function holdEmpty(handle: FileHandle, path: string, me: Holder): Promise<((lock: LockReading) => boolean) | undefined> {
  try {
    await handle.truncate(0);
    const named = await link(path, holderLinkName(path, me)).then(
      () => true,
      () => false,
    );
    if (named) return (lock) => lock.holder?.token === me.token;
    const { identity } = await readLock(path);
    return (lock) => lock.identity === identity;
  } catch {
    return undefined;
  }
}

/** Something other than a lock file at the lock's path (a folder, a link) would never be released: say so now, not after the wait. */
async function refuseNonLock(path: string): Promise<void> {
  const info = await lstat(path).catch(() => undefined);
  if (!info || info.isFile()) return;
  // A link to a folder is deleted alone: cmd's del of one deletes the files in the folder it names.
  const kind = info.isDirectory() ? 'tree' : (await stat(path).catch(() => undefined))?.isDirectory() ? 'link' : 'file';
  throw new UserError({
    what: `${path} is not a lock file`,
    why: `it is ${info.isDirectory() ? 'a folder' : info.isSymbolicLink() ? 'a symbolic link' : 'not a regular file'}, which no process holding the lock would have made`,
    fix: `remove ${path} (${removeCommandFor(process.platform, path, kind)}), then run the command again`,
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
      let ours = (lock: LockReading) => lock.holder?.token === me.token;
      try {
        await handle.writeFile(JSON.stringify(me));
      } catch (err) {
        // Held empty (a part of the pid written is no pid either), named by a hard link beside it that says who holds it
        // (an entry needs no data block); where that fails too, as below.
        const held = options.emptyOnFullDisk && DISK_FULL.has((err as NodeJS.ErrnoException).code ?? '') ? await holdEmpty(handle, path, me) : undefined;
        if (held) ours = held;
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
    const stale = await staleIdentity(path, staleMs);
    if (stale !== undefined) {
      // Only the file we judged: another reclaimer may have replaced it with a live lock in between; that is put back.
      try {
        await takeAside(path, 'stale', (moved) => moved.identity === stale);
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
  const holder = await readHolder(path);
  if (holder?.host !== hostname() || typeof holder.pid !== 'number') return undefined;
  try {
    return procStatFields(holder.pid)[0] === 'T' ? holder.pid : undefined;
  } catch {
    return undefined;
  }
}

/** Who holds the lock, as a person reads it. */
async function holderOf(path: string): Promise<string> {
  const holder = await readHolder(path);
  if (!holder || typeof holder.pid !== 'number') return 'another process';
  return `pid ${holder.pid} on ${holder.host}${holder.acquiredAt ? ` (since ${holder.acquiredAt})` : ''}`;
}
