import { readFile } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { UserError } from '../../../common/errors.js';
import { type FsPath, joinRaw, relOf } from './raw-names.js';
import type { RewritePaths } from '../rewrite.js';

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
export function legacyRoots(home: string, { aoHome, dataDir }: Pick<RewritePaths, 'aoHome' | 'dataDir'>, env: NodeJS.ProcessEnv): BackupRoots {
  const legacyBase = join(home, '.agent-orchestrator');
  const roots: BackupRoots = { legacyBase };
  const configCandidates = [env.AO_GLOBAL_CONFIG, env.XDG_CONFIG_HOME ? join(env.XDG_CONFIG_HOME, 'agent-orchestrator', 'config.yaml') : undefined];
  for (const c of configCandidates) {
    if (c && !c.startsWith(legacyBase + sep)) {
      roots.globalConfig = c;
      break;
    }
  }
  roots.store = dataDir;
  roots.legacyRecord = join(aoHome, 'legacy');
  roots.pipelines = join(aoHome, 'pipelines');
  return roots;
}

export function backupDirName(now = new Date()): string {
  return `legacy-${now.toISOString().replace(/[:.]/g, '-')}`;
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

export function backupPathOf(backupDir: string, entry: Pick<ManifestEntry, 'root' | 'path' | 'pathBytes'>): FsPath & string {
  const rel = relOf(entry);
  return joinRaw(join(backupDir, 'files', entry.root), ...(rel.length ? rel : [Buffer.from('_')])) as string;
}

/** Where a manifest entry lives in the user's tree. */
export function livePathOf(manifest: Pick<BackupManifest, 'roots'>, entry: Pick<ManifestEntry, 'root' | 'path' | 'pathBytes'>): FsPath & string {
  return joinRaw(manifest.roots[entry.root]!, ...relOf(entry)) as string;
}
