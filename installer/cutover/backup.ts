import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, copyFile, lstat, mkdir, readdir, readFile, readlink, rename, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { basename, dirname, join, sep } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { writeJsonAtomic } from '../../common/fs-atomic.js';
import { UserError } from '../../common/errors.js';
import { digestFile, integrityOf, integrityOfHash } from '../../common/integrity.js';

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
  /** A prior rewrite store: its folder (`AO_DATA_DIR`, else `~/.ao/data`), of which only `ao.db`, `-wal` and `-shm` are kept. */
  store?: string;
  /** A prior `~/.ao/legacy` (bundle and import record of an earlier import). */
  legacyRecord?: string;
  /** A prior `~/.ao/pipelines`. */
  pipelines?: string;
}

export type RootKey = keyof BackupRoots;

export interface ManifestEntry {
  root: RootKey;
  /** '/'-joined path inside the root ('' when the root is a single file). */
  path: string;
  /** The raw bytes of `path` (base64) when the name is not valid UTF-8: such names are copied byte for byte. */
  pathBytes?: string;
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
  /** Entries that could not be read (or are not files): left where they are, named here, never a reason to stop. */
  unreadable: Array<{ root: RootKey; path: string; reason: string }>;
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
  roots.store = env.AO_DATA_DIR || join(aoHome, 'data');
  roots.legacyRecord = join(aoHome, 'legacy');
  roots.pipelines = join(aoHome, 'pipelines');
  return roots;
}

export function backupDirName(now = new Date()): string {
  return `legacy-${now.toISOString().replace(/[:.]/g, '-')}`;
}

const COPY_CONCURRENCY = 32;
const WHOLE_FILE_LIMIT = 16 * 1024 * 1024;

/**
 * Paths are handled as bytes: a legacy name that is not valid UTF-8 is still a file the user owns, so it is
 * read, copied and checked under its raw name (a string would have turned it into a name that does not exist).
 */
type FsPath = string | Buffer;
const SEP = Buffer.from(sep);

function isUtf8(b: Buffer): boolean {
  return Buffer.from(b.toString('utf8'), 'utf8').equals(b);
}

function joinRaw(base: FsPath, ...names: Buffer[]): FsPath {
  if (typeof base === 'string' && names.every(isUtf8)) return join(base, ...names.map((n) => n.toString('utf8')));
  return Buffer.concat([Buffer.from(base), ...names.flatMap((n) => [SEP, n])]);
}

const display = (p: FsPath) => (typeof p === 'string' ? p : p.toString('utf8'));

async function exists(p: FsPath): Promise<boolean> {
  try {
    await lstat(p);
    return true;
  } catch {
    return false;
  }
}

interface WalkItem {
  abs: FsPath;
  /** Path inside the root, as raw name segments. */
  rel: Buffer[];
}

const relString = (rel: Buffer[]) => rel.map((n) => n.toString('utf8')).join('/');

function entryPath(rel: Buffer[]): Pick<ManifestEntry, 'path' | 'pathBytes'> {
  const path = relString(rel);
  return rel.every(isUtf8) ? { path } : { path, pathBytes: Buffer.from(rel.map((n) => n.toString('latin1')).join('\u0000'), 'latin1').toString('base64') };
}

function relOf(entry: Pick<ManifestEntry, 'path' | 'pathBytes'>): Buffer[] {
  if (entry.pathBytes)
    return Buffer.from(entry.pathBytes, 'base64')
      .toString('latin1')
      .split('\u0000')
      .map((n) => Buffer.from(n, 'latin1'));
  return entry.path ? entry.path.split('/').map((n) => Buffer.from(n, 'utf8')) : [];
}

interface Walked {
  items: WalkItem[];
  unreadable: Array<{ rel: Buffer[]; reason: string }>;
}

/** Lists a root's files and symlinks; `worktrees/` folders are recorded, not descended into; what cannot be listed is named. */
async function walk(root: string, worktrees: string[], keep?: (rel: Buffer[]) => boolean): Promise<Walked> {
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

async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Copies one file and hashes the bytes it copied (one read). */
async function copyHashed(src: FsPath, dest: FsPath, size: number): Promise<string> {
  if (size <= WHOLE_FILE_LIMIT) {
    const data = await readFile(src);
    await writeFile(dest, data);
    return integrityOf(data);
  }
  const hash = createHash('sha512');
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  await pipeline(createReadStream(src), tap, createWriteStream(dest));
  return integrityOfHash(hash);
}

async function hashFile(p: FsPath): Promise<string> {
  return (await digestFile(p)).integrity;
}

export function backupPathOf(backupDir: string, entry: Pick<ManifestEntry, 'root' | 'path' | 'pathBytes'>): FsPath & string {
  const rel = relOf(entry);
  return joinRaw(join(backupDir, 'files', entry.root), ...(rel.length ? rel : [Buffer.from('_')])) as string;
}

/** Where a manifest entry lives in the user's tree. */
export function livePathOf(manifest: Pick<BackupManifest, 'roots'>, entry: Pick<ManifestEntry, 'root' | 'path' | 'pathBytes'>): FsPath & string {
  return joinRaw(manifest.roots[entry.root]!, ...relOf(entry)) as string;
}

/** Copies one root's backed-up files (byte-exact names included) into `destDir`: a private copy of what the backup holds. */
export async function copyRootFromBackup(backupDir: string, manifest: BackupManifest, key: RootKey, destDir: string): Promise<number> {
  await mkdir(destDir, { recursive: true });
  let copied = 0;
  for (const entry of manifest.files.filter((f) => f.root === key)) {
    const rel = relOf(entry);
    if (rel.length === 0) continue;
    const dest = joinRaw(destDir, ...rel);
    await mkdir(joinRaw(destDir, ...rel.slice(0, -1)), { recursive: true });
    if (entry.type === 'symlink') await symlink(entry.target!, dest);
    else await copyFile(backupPathOf(backupDir, entry), dest);
    copied++;
  }
  return copied;
}

/** Only the store's three files are the store (the data folder also holds caches the rewrite rebuilds). */
const STORE_NAMES = new Set(['ao.db', 'ao.db-wal', 'ao.db-shm']);
const keepOf = (key: RootKey) => (key === 'store' ? (rel: Buffer[]) => rel.length === 1 && STORE_NAMES.has(rel[0]!.toString()) : undefined);

/** Backs up every root that exists into `backupDir` (created via `<backupDir>.partial`). */
export async function createBackup(
  backupDir: string,
  roots: BackupRoots,
  extra: { legacyVersion?: string; writeExtras?: (partialDir: string) => Promise<BackupManifest['tarball'] | undefined> } = {},
): Promise<BackupManifest> {
  const partial = `${backupDir}.partial`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  const manifest: BackupManifest = {
    schema: 1,
    createdAt: new Date().toISOString(),
    legacyVersion: extra.legacyVersion,
    roots: {},
    files: [],
    worktrees: [],
    unreadable: [],
    bytes: 0,
  };
  for (const key of Object.keys(roots) as RootKey[]) {
    const root = roots[key];
    if (!root || !(await exists(root))) continue;
    manifest.roots[key] = root;
    const walked = await walk(root, manifest.worktrees, keepOf(key));
    for (const u of walked.unreadable) manifest.unreadable.push({ root: key, path: relString(u.rel), reason: u.reason });
    const entries: ManifestEntry[] = [];
    await pool(walked.items, COPY_CONCURRENCY, async (item) => {
      const named = entryPath(item.rel);
      const dest = backupPathOf(partial, { root: key, ...named });
      await mkdir(dirname(display(dest)), { recursive: true });
      try {
        const info = await lstat(item.abs);
        if (info.isSymbolicLink()) {
          const target = await readlink(item.abs);
          await symlink(target, dest);
          entries.push({ root: key, ...named, type: 'symlink', target });
          return;
        }
        const integrity = await copyHashed(item.abs, dest, info.size);
        await chmod(dest, info.mode & 0o777);
        await utimes(dest, info.atime, info.mtime);
        manifest.bytes += info.size;
        entries.push({ root: key, ...named, type: 'file', integrity, size: info.size, mode: info.mode & 0o777 });
      } catch (err) {
        // Unreadable (permissions, vanished, I/O error): named in the manifest and the report, left where it is.
        await rm(dest, { force: true }).catch(() => undefined);
        manifest.unreadable.push({ root: key, path: named.path, reason: `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
      }
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
    const manifest = JSON.parse(await readFile(join(backupDir, MANIFEST), 'utf8')) as BackupManifest;
    manifest.unreadable ??= [];
    return manifest;
  } catch (cause) {
    throw new UserError({
      what: 'cannot read the backup manifest',
      why: `${join(backupDir, MANIFEST)} is missing or not JSON`,
      fix: `your legacy files are in ${backupDir}/files; copy them back by hand if needed`,
      code: 'EBACKUP',
      cause,
    });
  }
}

export interface RestoreResult {
  checked: number;
  restored: string[];
  failed: string[];
}

/**
 * Proves the legacy files are what the backup recorded, restoring any file
 * that differs or went missing (the cutover only reads them, so normally none).
 */
export async function verifyAndRestore(backupDir: string, manifest: BackupManifest, keys: RootKey[] = ['legacyBase', 'globalConfig']): Promise<RestoreResult> {
  const result: RestoreResult = { checked: 0, restored: [], failed: [] };
  await pool(
    manifest.files.filter((f) => keys.includes(f.root)),
    COPY_CONCURRENCY,
    async (entry) => {
      const live = livePathOf(manifest, entry);
      result.checked++;
      const rel = relOf(entry);
      const root = manifest.roots[entry.root]!;
      const tag = `.ao-restore-${process.pid}`;
      const tmpPath: FsPath = rel.length
        ? joinRaw(root, ...rel.slice(0, -1), Buffer.concat([Buffer.from('.'), rel.at(-1)!, Buffer.from(tag)]))
        : join(dirname(root), `.${basename(root)}${tag}`);
      try {
        if (await matches(live, entry)) return;
        const saved = backupPathOf(backupDir, entry);
        await mkdir(dirname(display(live)), { recursive: true });
        await rm(tmpPath, { force: true });
        if (entry.type === 'symlink') await symlink(entry.target!, tmpPath);
        else {
          await copyFile(saved, tmpPath);
          if ((await hashFile(tmpPath)) !== entry.integrity) throw new Error(`the backup copy ${display(saved)} does not match its recorded sha512`);
          await chmod(tmpPath, entry.mode ?? 0o644);
        }
        await rename(tmpPath, live);
        result.restored.push(display(live));
      } catch (err) {
        await rm(tmpPath, { force: true }).catch(() => undefined);
        result.failed.push(`${display(live)}: ${(err as Error).message}`);
      }
    },
  );
  return result;
}

async function matches(live: FsPath, entry: ManifestEntry): Promise<boolean> {
  try {
    if (entry.type === 'symlink') return (await readlink(live)) === entry.target;
    const info = await stat(live);
    if (info.size !== entry.size) return false;
    return (await hashFile(live)) === entry.integrity;
  } catch {
    return false;
  }
}

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
