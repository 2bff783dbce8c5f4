import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, copyFile, lstat, mkdir, readdir, readFile, readlink, rename, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { writeJsonAtomic } from '../../common/fs-atomic.js';
import { digestFile } from '../../common/integrity.js';
import { UserError } from '../../common/errors.js';

/**
 * The backup under `~/.ao/backups/legacy-<timestamp>/`: a copy of every legacy
 * file with its sha512 in `manifest.json`, so a rollback can prove the legacy
 * data is byte-identical (and restore any file that is not). The backup is
 * built in `<dir>.partial` and renamed into place with its manifest inside.
 */
export const MANIFEST = 'manifest.json';

export interface BackupRoots {
  /** `~/.agent-orchestrator` */
  legacyBase: string;
  /** The global config when it lives outside the base dir (`$AO_GLOBAL_CONFIG`, XDG). */
  globalConfig?: string;
  /** A prior `~/.ao/ao.db` (the rewrite's store). */
  store?: string;
  /** A prior `~/.ao/pipelines`. */
  pipelines?: string;
}

export type RootKey = keyof BackupRoots;

export interface ManifestEntry {
  root: RootKey;
  /** '/'-joined path inside the root ('' when the root is a single file). */
  path: string;
  type: 'file' | 'symlink';
  integrity?: string;
  size?: number;
  mode?: number;
  target?: string;
}

export interface BackupManifest {
  schema: 1;
  createdAt: string;
  legacyVersion?: string;
  roots: Partial<Record<RootKey, string>>;
  files: ManifestEntry[];
  /** Worktrees are not copied (they are git checkouts the cutover never touches); their paths are recorded. */
  worktrees: string[];
  bytes: number;
  tarball?: { file: string; integrity: string; source: 'registry' | 'installed' };
}

/** Which legacy paths exist for this user (`home` is the user's home directory). */
export function legacyRoots(home: string, aoHome: string, env: NodeJS.ProcessEnv): BackupRoots {
  const legacyBase = join(home, '.agent-orchestrator');
  const roots: BackupRoots = { legacyBase };
  const configCandidates = [env.AO_GLOBAL_CONFIG, env.XDG_CONFIG_HOME ? join(env.XDG_CONFIG_HOME, 'agent-orchestrator', 'config.yaml') : undefined];
  for (const c of configCandidates) {
    if (c && !c.startsWith(legacyBase + sep)) {
      roots.globalConfig = c;
      break;
    }
  }
  roots.store = join(aoHome, 'ao.db');
  roots.pipelines = join(aoHome, 'pipelines');
  return roots;
}

export function backupDirName(now = new Date()): string {
  return `legacy-${now.toISOString().replace(/[:.]/g, '-')}`;
}

const COPY_CONCURRENCY = 32;
const WHOLE_FILE_LIMIT = 16 * 1024 * 1024;

async function exists(p: string): Promise<boolean> {
  try {
    await lstat(p);
    return true;
  } catch {
    return false;
  }
}

interface WalkItem {
  abs: string;
  rel: string;
}

/** Lists a root's files and symlinks; `worktrees/` folders are recorded, not descended into. */
async function walk(root: string, worktrees: string[]): Promise<WalkItem[]> {
  const info = await lstat(root);
  if (!info.isDirectory()) return [{ abs: root, rel: '' }];
  const out: WalkItem[] = [];
  const visit = async (dir: string) => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const abs = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name === 'worktrees') worktrees.push(abs);
        else await visit(abs);
      } else if (entry.isFile() || entry.isSymbolicLink()) {
        out.push({ abs, rel: relative(root, abs).split(sep).join('/') });
      }
    }
  };
  await visit(root);
  return out;
}

async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Copies one file and hashes the bytes it copied (one read). */
async function copyHashed(src: string, dest: string, size: number): Promise<string> {
  if (size <= WHOLE_FILE_LIMIT) {
    const data = await readFile(src);
    await writeFile(dest, data);
    return `sha512-${createHash('sha512').update(data).digest('base64')}`;
  }
  const hash = createHash('sha512');
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  await pipeline(createReadStream(src), tap, createWriteStream(dest));
  return `sha512-${hash.digest('base64')}`;
}

export function backupPathOf(backupDir: string, entry: Pick<ManifestEntry, 'root' | 'path'>): string {
  return join(backupDir, 'files', entry.root, ...(entry.path ? entry.path.split('/') : ['_']));
}

/** Backs up every root that exists into `backupDir` (created via `<backupDir>.partial`). */
export async function createBackup(backupDir: string, roots: BackupRoots, extra: { legacyVersion?: string; writeExtras?: (partialDir: string) => Promise<BackupManifest['tarball'] | undefined> } = {}): Promise<BackupManifest> {
  const partial = `${backupDir}.partial`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  const manifest: BackupManifest = { schema: 1, createdAt: new Date().toISOString(), legacyVersion: extra.legacyVersion, roots: {}, files: [], worktrees: [], bytes: 0 };
  for (const key of Object.keys(roots) as RootKey[]) {
    const root = roots[key];
    if (!root || !(await exists(root))) continue;
    manifest.roots[key] = root;
    const items = await walk(root, manifest.worktrees);
    const entries: ManifestEntry[] = [];
    await pool(items, COPY_CONCURRENCY, async (item) => {
      const dest = backupPathOf(partial, { root: key, path: item.rel });
      await mkdir(dirname(dest), { recursive: true });
      const info = await lstat(item.abs);
      if (info.isSymbolicLink()) {
        const target = await readlink(item.abs);
        await symlink(target, dest);
        entries.push({ root: key, path: item.rel, type: 'symlink', target });
        return;
      }
      const integrity = await copyHashed(item.abs, dest, info.size);
      await chmod(dest, info.mode & 0o777);
      await utimes(dest, info.atime, info.mtime);
      manifest.bytes += info.size;
      entries.push({ root: key, path: item.rel, type: 'file', integrity, size: info.size, mode: info.mode & 0o777 });
    });
    manifest.files.push(...entries.sort((a, b) => a.path.localeCompare(b.path)));
  }
  if (extra.writeExtras) manifest.tarball = await extra.writeExtras(partial);
  await writeJsonAtomic(join(partial, MANIFEST), manifest);
  await rm(backupDir, { recursive: true, force: true });
  await rename(partial, backupDir);
  return manifest;
}

export async function readManifest(backupDir: string): Promise<BackupManifest> {
  try {
    return JSON.parse(await readFile(join(backupDir, MANIFEST), 'utf8')) as BackupManifest;
  } catch (cause) {
    throw new UserError({ what: 'cannot read the backup manifest', why: `${join(backupDir, MANIFEST)} is missing or not JSON`, fix: `your legacy files are in ${backupDir}/files; copy them back by hand if needed`, code: 'EBACKUP', cause });
  }
}

export interface VerifyResult {
  checked: number;
  restored: string[];
  failed: string[];
}

/**
 * Proves the legacy files are what the backup recorded, restoring any file
 * that differs or went missing (the cutover only reads them, so normally none).
 */
export async function verifyAndRestore(backupDir: string, manifest: BackupManifest, keys: RootKey[] = ['legacyBase', 'globalConfig']): Promise<VerifyResult> {
  const result: VerifyResult = { checked: 0, restored: [], failed: [] };
  await pool(
    manifest.files.filter((f) => keys.includes(f.root)),
    COPY_CONCURRENCY,
    async (entry) => {
      const live = entry.path ? join(manifest.roots[entry.root]!, ...entry.path.split('/')) : manifest.roots[entry.root]!;
      result.checked++;
      const tmp = join(dirname(live), `.${basename(live)}.ao-restore-${process.pid}`);
      try {
        if (await matches(live, entry)) return;
        const saved = backupPathOf(backupDir, entry);
        await mkdir(dirname(live), { recursive: true });
        await rm(tmp, { force: true });
        if (entry.type === 'symlink') await symlink(entry.target!, tmp);
        else {
          await copyFile(saved, tmp);
          if ((await digestFile(tmp)).integrity !== entry.integrity) throw new Error(`the backup copy ${saved} does not match its recorded sha512`);
          await chmod(tmp, entry.mode ?? 0o644);
        }
        await rename(tmp, live);
        result.restored.push(live);
      } catch (err) {
        await rm(tmp, { force: true }).catch(() => undefined);
        result.failed.push(`${live}: ${(err as Error).message}`);
      }
    },
  );
  return result;
}

async function matches(live: string, entry: ManifestEntry): Promise<boolean> {
  try {
    if (entry.type === 'symlink') return (await readlink(live)) === entry.target;
    const info = await stat(live);
    if (info.size !== entry.size) return false;
    return (await digestFile(live)).integrity === entry.integrity;
  } catch {
    return false;
  }
}

/** A hash of every file under `dir` (path -> sha512), for tests and the rehearsal to compare a home before and after. */
export async function hashTree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  if (!(await exists(dir))) return out;
  const items = await walk(dir, []);
  await pool(items, COPY_CONCURRENCY, async (item) => {
    const info = await lstat(item.abs);
    out[item.rel] = info.isSymbolicLink() ? `link:${await readlink(item.abs)}` : (await digestFile(item.abs)).integrity;
  });
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

/** Total bytes under the roots that exist (worktrees excluded), for the disk-space check. */
export async function measureRoots(roots: BackupRoots): Promise<number> {
  let bytes = 0;
  for (const root of Object.values(roots)) {
    if (!root || !(await exists(root))) continue;
    for (const item of await walk(root, [])) bytes += (await lstat(item.abs)).size;
  }
  return bytes;
}
