import { chmod, copyFile, link, mkdir, stat } from 'node:fs/promises';
import type { AppFormat } from './app-manifest.js';
import { refuse, type PlannedEntry } from './archive-plan.js';
import { inside } from './archive-write.js';
import { fileSystemFailure, isFileSystemError } from './file-system-error.js';
import { extractTarGz } from './tar-extract.js';
import { extractZip } from './zip-extract.js';

/**
 * Unpacks a verified artifact into a staging folder, by format: zip-extract.ts, tar-extract.ts, or
 * one file copied (an AppImage, a Windows installer). Each checks the whole entry list first
 * (archive-plan.ts), so a hostile archive writes nothing. Returns every entry, files and hardlinks
 * with the digest of their bytes as written (what `ao-app verify` re-hashes).
 */
export type { PlannedEntry } from './archive-plan.js';

/** Links `to` to `from`; false where it cannot (another disk, a file system without hard links). */
const hardLinked = (from: string, to: string): Promise<boolean> =>
  link(from, to).then(
    () => true,
    () => false,
  );

async function extractAppImage(
  format: AppFormat,
  artifact: string,
  staging: string,
  file: string,
  integrity: string | undefined,
  own: boolean,
): Promise<PlannedEntry[]> {
  const dest = inside(staging, file);
  // The caller's own verified download is the app: linked, not copied, it needs no second copy's room on the disk (the
  // Linux app is one AppImage). Another disk, or one without hard links, gets a copy.
  if (!(own && downloadBecomesApp(format) && (await hardLinked(artifact, dest)))) await copyFile(artifact, dest);
  await chmod(dest, 0o755);
  return [{ path: file, type: 'file', mode: 0o755, size: (await stat(dest)).size, integrity }];
}

async function unpack(
  format: AppFormat,
  artifact: string,
  staging: string,
  cap: number,
  file: string,
  integrity: string | undefined,
  own: boolean,
  midway?: () => Promise<void>,
): Promise<PlannedEntry[]> {
  // Its mode given: under umask 000 (an old WSL default) the version's folder had been 0777, one others could write.
  await mkdir(staging, { recursive: true, mode: 0o755 });
  if (format === 'zip') return extractZip(artifact, staging, cap, midway);
  if (format === 'tar.gz') return extractTarGz(artifact, staging, cap);
  // An AppImage runs as it is; a Windows installer is kept as verified and run from the version folder.
  return extractAppImage(format, artifact, staging, file, integrity, own);
}

/**
 * `integrity`: the artifact's verified sha512, recorded for a single-file app (AppImage, exe). `own`: the artifact is the
 * caller's verified download, deleted once installed, so an AppImage may become it (a hard link); a release's
 * artifact is never linked (the app's mode would change it). `midway` (tests): awaited inside a zip's unpack (extractZip).
 */
export async function extractArtifact(
  format: AppFormat,
  artifact: string,
  staging: string,
  cap: number,
  file: string,
  integrity?: string,
  own = false,
  midway?: () => Promise<void>,
): Promise<PlannedEntry[]> {
  try {
    return await unpack(format, artifact, staging, cap, file, integrity, own, midway);
  } catch (err) {
    if (!isFileSystemError(err)) throw err;
    // The archive is fine and verified; this disk or this process is not.
    throw fileSystemFailure(err, {
      what: 'cannot write the desktop app',
      whatWhenFull: 'the disk filled up while unpacking the desktop app',
      where: staging,
      kept: 'nothing was installed; the verified download is kept',
      again: 'then run ao-app install again: it unpacks without downloading again',
    });
  }
}

/** The `.app` bundle (a folder) at the top of the unpacked entries, if any: what `ao start` opens on macOS. */
export function topLevelBundle(entries: Array<Pick<PlannedEntry, 'path' | 'type'>>): string | undefined {
  for (const e of entries) {
    const [top, ...inside] = e.path.split('/');
    if (top!.endsWith('.app') && (inside.length > 0 || e.type === 'dir')) return top;
  }
  return undefined;
}

/**
 * Refuses a macOS archive with no `.app` at its top (a bundle zipped one folder too deep): installed,
 * it would leave nothing `ao start` can open. Users' ao-app and the release check both ask it.
 */
export function checkOpenableApp(targetId: string, format: AppFormat, archive: string, entries: Array<Pick<PlannedEntry, 'path' | 'type'>>): void {
  if (targetId.startsWith('darwin-') && (format === 'zip' || format === 'tar.gz') && !topLevelBundle(entries))
    throw refuse(archive, 'it holds no .app bundle at its top, the folder ao start opens on macOS');
}

/**
 * The download that becomes the app itself (a hard link, extractArtifact's `own`): the Linux AppImage. The Windows
 * installer is copied: it runs from the version folder, and Windows may refuse to delete a name of a running program.
 */
export const downloadBecomesApp = (format: AppFormat): boolean => format === 'AppImage';
