import { lstat, readdir, readlink } from 'node:fs/promises';
import { digestFile } from '../../../common/integrity.js';
import type { BackupRoots, RootKey } from './manifest.js';
import { STORE_FILES } from '../rewrite.js';
import { display, entryPath, type FsPath, joinRaw } from './raw-names.js';

// Listing a tree under its raw names, and what is built on that: the pool the copy and the proof share,
// the hash of a whole tree (tests, the rehearsal) and the size of the roots (the disk-space check).

export const COPY_CONCURRENCY = 32;

export async function exists(p: FsPath): Promise<boolean> {
  try {
    await lstat(p);
    return true;
  } catch {
    return false;
  }
}

export interface WalkItem {
  abs: FsPath;
  /** Path inside the root, as raw name segments. */
  rel: Buffer[];
}

interface Walked {
  items: WalkItem[];
  unreadable: Array<{ rel: Buffer[]; reason: string }>;
}

/** Lists a root's files and symlinks; `worktrees/` folders are recorded, not descended into; what cannot be listed is named. */
export async function walk(root: string, worktrees: string[], keep?: (rel: Buffer[]) => boolean): Promise<Walked> {
  const out: Walked = { items: [], unreadable: [] };
  const info = await lstat(root);
  if (!info.isDirectory()) return { items: [{ abs: root, rel: [] }], unreadable: [] };
  const visit = async (dir: FsPath, rel: Buffer[]) => {
    let entries: Array<{ name: Buffer; isDirectory(): boolean; isFile(): boolean; isSymbolicLink(): boolean }>;
    try {
      entries = (await readdir(dir, { withFileTypes: true, encoding: 'buffer' } as never)) as never;
    } catch (err) {
      out.unreadable.push({ rel, reason: `cannot list: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
      return;
    }
    for (const entry of entries) {
      const name = Buffer.from(entry.name);
      const abs = joinRaw(dir, name);
      const childRel = [...rel, name];
      if (keep && !keep(childRel)) continue;
      if (entry.isDirectory()) {
        if (name.toString() === 'worktrees') worktrees.push(display(abs));
        else await visit(abs, childRel);
      } else if (entry.isFile() || entry.isSymbolicLink()) out.items.push({ abs, rel: childRel });
      else out.unreadable.push({ rel: childRel, reason: 'not a regular file (socket, fifo or device)' });
    }
  };
  await visit(root, []);
  return out;
}

export async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export async function hashFile(p: FsPath): Promise<string> {
  return (await digestFile(p)).integrity;
}

/** Only the store's three files are the store (the data folder also holds caches the rewrite rebuilds). */
const STORE_NAMES = new Set<string>(STORE_FILES);
export const keepOf = (key: RootKey) => (key === 'store' ? (rel: Buffer[]) => rel.length === 1 && STORE_NAMES.has(rel[0]!.toString()) : undefined);

/** A hash of every file under `dir` (path -> sha512), for tests and the rehearsal to compare a home before and after. */
export async function hashTree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  if (!(await exists(dir))) return out;
  const { items } = await walk(dir, []);
  await pool(items, COPY_CONCURRENCY, async (item) => {
    const key = entryPath(item.rel);
    const info = await lstat(item.abs);
    out[key.pathBytes ? `bytes:${key.pathBytes}` : key.path] = info.isSymbolicLink()
      ? `link:${await readlink(item.abs)}`
      : await hashFile(item.abs).catch((err: NodeJS.ErrnoException) => `unreadable:${err.code}`);
  });
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

/** Total bytes under the roots that exist (worktrees excluded), for the disk-space check. */
export async function measureRoots(roots: BackupRoots): Promise<number> {
  let bytes = 0;
  for (const [key, root] of Object.entries(roots) as Array<[RootKey, string | undefined]>) {
    if (!root || !(await exists(root))) continue;
    for (const item of (await walk(root, [], keepOf(key))).items) bytes += (await lstat(item.abs)).size;
  }
  return bytes;
}
