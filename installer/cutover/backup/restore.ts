import { chmod, copyFile, mkdir, readlink, rename, rm, stat, symlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { type BackupManifest, backupPathOf, livePathOf, type ManifestEntry, type RootKey } from './manifest.js';
import { display, type FsPath, joinRaw, relOf } from './raw-names.js';
import { COPY_CONCURRENCY, hashFile, pool } from './walk.js';

export interface RestoreResult {
  checked: number;
  restored: string[];
  failed: string[];
}

/**
 * Proves the files under `keys` are what the backup recorded, restoring any file or symlink that differs
 * (bytes, mode or link target) or went missing: copied beside it under a hidden temporary name, its sha512
 * checked, given its recorded mode, then renamed into place. A file that cannot be restored is named in
 * `failed` and the others still are. The legacy files by default (the cutover only reads them, so normally
 * none is restored); a rollback also puts back the store and `~/.ao/legacy` this way.
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
    if (entry.mode !== undefined && (info.mode & 0o777) !== entry.mode) return false;
    return (await hashFile(live)) === entry.integrity;
  } catch {
    return false;
  }
}
