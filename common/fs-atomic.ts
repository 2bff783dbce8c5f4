import { closeSync, fsyncSync, openSync, readdirSync, rmSync } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pidAlive } from './process-identity.js';

/**
 * File operations that either happen whole or not at all, so a crash at any
 * moment leaves the old content or the new one, never half of either.
 * Node built-ins only: this ships inside @aoagents/ao.
 */

const RETRYABLE = new Set(['EPERM', 'EBUSY', 'EACCES', 'ENOTEMPTY']);

/**
 * rename() that waits out Windows antivirus and indexers, which hold freshly
 * written files for seconds (rustup and Volta retry for about 28 s too).
 */
export async function renameWithRetry(from: string, to: string, budgetMs = process.platform === 'win32' ? 28_000 : 0): Promise<void> {
  const deadline = Date.now() + budgetMs;
  for (let delay = 10; ; delay = Math.min(delay * 2, 1000)) {
    try {
      await rename(from, to);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (!RETRYABLE.has(code) || Date.now() + delay > deadline) throw err;
      await sleep(delay);
    }
  }
}

/** Flushes a directory entry so a rename inside it survives power loss (no-op where unsupported). */
export function fsyncDir(dir: string): void {
  if (process.platform === 'win32') return;
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export function tempSibling(path: string, tag = 'tmp'): string {
  return join(dirname(path), `${tempSiblingPrefix(path, tag)}${process.pid}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`);
}

/**
 * Removes the temp siblings of `path` (tempSibling(path, tag), files or folders) that a run killed between writing one and its
 * rename left, in a folder no lock of ours covers: one whose pid still runs may be renamed any moment and stays.
 * `ownIsStale`: our own pid's goes too, for a one-shot process that writes its own only after this (a container's
 * fresh pid namespace hands out the pid the killed run had); a library caller may have a write of its own in flight.
 */
export function removeKilledTempSiblings(path: string, tag = 'tmp', ownIsStale = false): void {
  const prefix = tempSiblingPrefix(path, tag);
  const dir = dirname(path);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number.parseInt(name.slice(prefix.length), 10);
    const live = pid > 0 && pidAlive(pid) && !(ownIsStale && pid === process.pid);
    if (live) continue;
    try {
      // recursive: a killed run may have left a temp folder (the fallback fetch's staging) as well as a file.
      rmSync(join(dir, name), { recursive: true, force: true });
    } catch {
      // another user's in a shared folder (a sticky or shared AO_CACHE_DIR): theirs to remove, and no reason to fail
    }
  }
}

/** How every name tempSibling(path, tag) gives begins (a run killed before its rename left one). */
export function tempSiblingPrefix(path: string, tag = 'tmp'): string {
  return `.${basename(path)}.${tag}-`;
}

export interface AtomicWriteOptions {
  /**
   * Flush the file and its folder before returning (the default), so the new content survives a power cut.
   * Off for a file whose reader takes one a power cut emptied for none (and then does the work again): each
   * flush commits the file system's journal (strace -T: 20 to 80 ms on a journaled ext4 right after an app's 3,000
   * files were created). The rename stays atomic either way: a killed process leaves the old file or the new one.
   */
  durable?: boolean;
}

/** Writes to a temp sibling, then renames it over the target; flushed to disk unless `durable: false`. */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644, { durable = true }: AtomicWriteOptions = {}): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = tempSibling(path);
  const handle = await open(tmp, 'w', mode);
  try {
    await handle.writeFile(data);
    if (durable) await handle.sync();
  } catch (err) {
    await handle.close();
    await rm(tmp, { force: true });
    throw err;
  }
  await handle.close();
  try {
    await renameWithRetry(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  if (durable) fsyncDir(dirname(path));
}

export async function writeJsonAtomic(path: string, value: unknown, mode?: number, options?: AtomicWriteOptions): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`, mode, options);
}
