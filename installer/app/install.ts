import { createHash } from 'node:crypto';
import { closeSync, lstatSync, openSync, readdirSync, readSync, type Dirent, type Stats } from 'node:fs';
import { access, chmod, constants, lstat, readdir, readFile, readlink, rm, rmdir, stat, statfs, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import type { Dispatcher } from 'undici';
import { UserError } from '../../common/errors.js';
import { redactUrlSetting } from '../../common/redact.js';
import { isObject } from '../../common/is-object.js';
import { clearEnvFor, letEveryoneReadCommand, removeCommandFor, setEnvFor } from '../../common/shell-quote.js';
import { DISK_FULL, freeSpaceCheck, inUseOnWindows, isFileSystemError } from '../../common/file-system-error.js';
import { absoluteUserPath, homeDir, localPath, utf8Path } from '../../common/home.js';
import { algorithmOf, digestFile, integrityOfHash, type DigestAlgorithm } from '../../common/integrity.js';
import {
  fsyncDir,
  removeKilledTempSiblings,
  renameWithRetry,
  tempSibling,
  tempSiblingPrefix,
  writeFileAtomic,
  writeJsonAtomic,
} from '../../common/fs-atomic.js';
import { acquireLock, CANNOT_WRITE, type Lock } from '../../common/lock.js';
import { makeFolderLevels } from '../../common/make-folder.js';
import { removeTree } from '../../common/remove-tree.js';
import { removeIfInterrupted } from './interrupt-cleanup.js';
import { settle } from '../../common/streaming-memory.js';
import type { Progress } from '../../common/progress.js';
import { download } from './download.js';
import { discardOtherDownloads, discardPartial, isDownloadFileName, isSidecarTempName, partialPath, usablePartialSize } from './partial-file.js';
import { clearAppState, physical, recordAppState, type RecordOutcome } from './app-state.js';
import { checkOpenableApp, extractArtifact, downloadBecomesApp, topLevelBundle, type PlannedEntry } from '../../common/app-extract.js';
import { cleanPath, COMPLETION_MARKER } from '../../common/archive-plan.js';
import { OTHERS_WRITE } from '../../common/archive-write.js';
import { applyTrustChange, checkEntryTrust, pinnedKeys, rememberedTrust, TRUST_FILE, type TrustedKey, trustStoreFile } from './trust.js';
import { runWindowsInstaller } from './windows-installer.js';
import { refuseFolderOthersCanWrite, refuseRootInOthersFolder } from './foreign-owner.js';
import {
  hostTargetId,
  invalidAppManifest,
  isHttpUrl,
  isVersionFolderName,
  validateAppManifest,
  type AppManifest,
  type AppTarget,
} from '../../common/app-manifest.js';

/**
 * Installs the desktop app side by side under `<root>/versions/<version>-<target>/`,
 * commits it with a marker written last, then switches the `current` pointer
 * atomically (a symlink renamed over the old one on POSIX; `current.json`
 * rewritten atomically on Windows). The previous version stays until the new
 * one is complete, so a process killed at any moment leaves a launchable app.
 */

/**
 * The marker's fields, its entries' included: JSON.stringify writes only these. Spelled as an object that must
 * name every key of Marker and its entries, and no other, so a field added to either cannot be left out.
 */
const MARKER_KEYS = Object.keys({
  version: 1,
  target: 1,
  integrity: 1,
  installedAt: 1,
  entries: 1,
  path: 1,
  type: 1,
  size: 1,
  link: 1,
} satisfies Record<keyof Marker | keyof Marker['entries'][number], 1>);

interface Marker {
  version: string;
  target: string;
  integrity: string;
  installedAt: string;
  /** Every entry, files with their sha512: what `ao-app verify` re-hashes. */
  entries: Array<Pick<PlannedEntry, 'path' | 'type' | 'size' | 'link' | 'integrity'>>;
}

export interface InstallOptions {
  manifest: AppManifest | unknown;
  /** Matrix target id; the host's by default. */
  target?: string;
  /** Default AO_APP_DIR or ~/.ao/app. */
  root?: string;
  progress?: Progress;
  dispatcher?: Dispatcher;
  /** Free bytes at a path; statfs by default (tests inject a small disk). */
  freeSpace?: (dir: string) => Promise<number>;
  /** How long to wait for another fetcher's lock. */
  lockWaitMs?: number;
  retries?: number;
  stallTimeoutMs?: number;
  /** The download gives up after this long in all. */
  deadlineMs?: number;
  backoffBaseMs?: number;
  /** Keys compiled into the build (trusted-keys.json by default); keys this machine remembered are added. */
  trustedKeys?: TrustedKey[];
  /** Where to write app-state.json for the real `ao start` (the CLI passes ~/.ao); none when absent. */
  stateDir?: string;
  /** Stops a wait for another ao-app's lock or the download when it fires (the cutover's Ctrl-C): `EINTERRUPTED`, the bytes kept for the next run. */
  signal?: AbortSignal;
  /** Parks the process at a named step (tests SIGKILL it there); `unpacking` is inside a zip's unpack, its files written. */
  checkpoint?: (step: 'downloaded' | 'unpacking' | 'extracted' | 'committed') => Promise<void>;
}

export interface InstallResult {
  status: 'installed' | 'already-installed';
  version: string;
  target: string;
  path: string;
  resumedFrom: number;
  fetched: number;
  /** What `ao start` should open (the .app, the AppImage, the installed exe), when the format has one. */
  appPath?: string;
  /** The app-state.json written (or kept, and why). */
  appState?: RecordOutcome;
  /** Older versions that could not be removed yet (sweepOld), each with why; the next install removes them. */
  leftBehind?: { path: string; why: string }[];
}

export function defaultRoot(env: NodeJS.ProcessEnv = process.env, platform: string = process.platform): string {
  // Absolute from here on: a relative AO_APP_DIR must mean the same folder in every step.
  if (!env.AO_APP_DIR) return utf8Path(absoluteUserPath(join(homeDir(env), '.ao', 'app'), env));
  const setting = env.AO_APP_DIR;
  // In the user's shell: cmd.exe has no export, no unset and no ~.
  const [example, usual] = platform === 'win32' ? ['%USERPROFILE%\\ao-app', '%USERPROFILE%\\.ao\\app'] : ['~/ao-app', '~/.ao/app'];
  return localPath(
    setting,
    (why) => {
      throw new UserError({
        what: `AO_APP_DIR=${setting} is an address, not a folder on this machine`,
        why,
        fix: `set AO_APP_DIR to a folder on this machine (like ${setEnvFor(platform, 'AO_APP_DIR', example)}), or clear it (${clearEnvFor(platform, 'AO_APP_DIR')}) for ${usual}`,
        code: 'EUSAGE',
      });
    },
    env,
  );
}

/**
 * `<root>/versions/<version>-<target>`. The manifest was validated (a semver version, a matrix target id);
 * this checks again that the name is one plain folder inside versions/, since install deletes and replaces it.
 */
export function versionFolder(root: string, version: string, target: string): string {
  const versions = join(root, 'versions');
  const name = `${version}-${target}`;
  const dir = join(versions, name);
  if (dirname(dir) !== versions || basename(dir) !== name || name.startsWith('.') || name.includes('\0'))
    throw invalidAppManifest(
      `its version ${JSON.stringify(version).slice(0, 80)} and target ${JSON.stringify(target).slice(0, 40)} do not name a folder inside ${versions}`,
    );
  return dir;
}

function pickTarget(manifest: AppManifest, target: string): AppTarget {
  // Its own entries only: `constructor` or `toString` had found Object.prototype's, an entry with no file or hash.
  const entry = Object.hasOwn(manifest.targets, target) ? manifest.targets[target] : undefined;
  if (!entry) {
    throw new UserError({
      what: `there is no desktop app for this platform (${target})`,
      why: `release ${manifest.version} ships the desktop app for ${Object.keys(manifest.targets).join(', ') || 'no platform'} only`,
      fix: 'use the ao CLI without the desktop app here (every ao command works), or run ao-app on one of those platforms',
      code: 'EAPPTARGET',
    });
  }
  const base = process.env.AO_APP_BASE_URL;
  if (!base) return entry;
  // Checked here, where it is applied, for every caller (ao-app and ao update alike): anything but an http(s) URL
  // failed every attempt, or crashed, far from its cause.
  if (!isHttpUrl(base)) {
    throw new UserError({
      // Redacted here: written without its scheme, no URL in the message matches it, and the output's redaction missed its token.
      what: `AO_APP_BASE_URL=${redactUrlSetting(base)} is not an http(s) URL`,
      why: !base.includes('://')
        ? 'it does not start with https:// or http://'
        : URL.canParse(base)
          ? `ao-app downloads only over http or https, not ${new URL(base).protocol}`
          : 'it does not parse as a URL',
      fix: `${clearEnvFor(process.platform, 'AO_APP_BASE_URL')}, or set it to the http(s) folder holding the release files: ${setEnvFor(process.platform, 'AO_APP_BASE_URL', 'https://mirror.example.com/ao/')}`,
      code: 'EUSAGE',
    });
  }
  // The file name goes into the path: a query (a private mirror's ?token=) stays a query, a fragment is dropped.
  const url = new URL(base);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/${encodeURIComponent(entry.file)}`;
  url.hash = '';
  return { ...entry, urls: [url.toString()] };
}

async function freeBytes(dir: string): Promise<number> {
  const info = await statfs(dir);
  return Number(info.bavail) * Number(info.bsize);
}

/** downloads/ and versions/ on one disk: a single-file app's verified download becomes the app there (a hard link), no copy. */
async function oneDisk(root: string): Promise<boolean> {
  const [d, v] = await Promise.all([stat(join(root, 'downloads')), stat(join(root, 'versions'))]);
  return d.dev === v.dev;
}

/**
 * The disk that cannot hold its part, if any: the rest of the download goes into downloads/, the unpacked app into
 * versions/. Either may be linked to another disk (a user who moved the app off a half-full laptop disk), so each disk
 * is asked for what lands on it; one disk for both is asked for the sum, or for the download alone when it becomes the app.
 */
async function shortOfSpace(
  root: string,
  downloadBytes: number,
  unpackBytes: number,
  becomesApp: boolean,
  freeSpace: (dir: string) => Promise<number>,
): Promise<{ dir: string; free: number; need: number; what: string } | undefined> {
  const downloads = join(root, 'downloads');
  const versions = join(root, 'versions');
  const [r, v] = await Promise.all([stat(root), stat(versions)]);
  const dir = r.dev === v.dev ? root : versions;
  const parts = (await oneDisk(root))
    ? [
        becomesApp
          ? { dir, need: downloadBytes, what: 'the download (which becomes the app) needs' }
          : { dir, need: downloadBytes + unpackBytes, what: 'the download and the unpacked app need' },
      ]
    : [
        { dir: downloads, need: downloadBytes, what: 'the download needs' },
        { dir: versions, need: unpackBytes, what: 'the unpacked app needs' },
      ];
  for (const part of parts) {
    const free = await freeSpace(part.dir);
    if (free < part.need) return { ...part, free };
  }
  return undefined;
}

/** An optional field of a marker entry: absent, or of its type. */
const absentOr = (value: unknown, type: 'string' | 'number') => value === undefined || typeof value === type;

/**
 * Each entry a relative path staying inside the version (verify reads them all), a type, and its size, digest and link
 * target of their types; the release fields as strings. A marker of another shape (edited by hand, restored from
 * elsewhere) is none: the version is not complete. A digest that was no string had ended verify and install with a
 * TypeError (exit 70), and install could not put the version back.
 */
function isMarker(data: unknown): data is Marker {
  if (!isObject(data) || !['version', 'target', 'integrity'].every((key) => typeof data[key] === 'string') || !Array.isArray(data.entries)) return false;
  return data.entries.every(
    (e: unknown) =>
      isObject(e) &&
      typeof e.type === 'string' &&
      typeof e.path === 'string' &&
      !isAbsolute(e.path) &&
      !e.path.split(/[\\/]/).includes('..') &&
      absentOr(e.size, 'number') &&
      absentOr(e.integrity, 'string') &&
      absentOr(e.link, 'string'),
  );
}

/** The version's completion marker; undefined when it is missing, not JSON, or not a marker. */
async function readMarker(dir: string): Promise<Marker | undefined> {
  try {
    const data: unknown = JSON.parse(await readFile(join(dir, COMPLETION_MARKER), 'utf8'));
    return isMarker(data) ? data : undefined;
  } catch {
    return undefined;
  }
}

/** The version folder `current` points to, or undefined. A folder this user may not read is said so (unreadableApp). */
async function currentVersionDir(root: string): Promise<string | undefined> {
  try {
    if (process.platform === 'win32') {
      const { version } = JSON.parse(await readFile(join(root, 'current.json'), 'utf8')) as { version: string };
      return join(root, 'versions', version);
    }
    // resolve, not join: a link rewritten with an absolute target (ln -sfn) names that folder, not one under root.
    return resolve(root, await readlink(join(root, 'current')));
  } catch (err) {
    refuseUnreadable(root, err);
    return undefined;
  }
}

/**
 * Throws, when `err` says this user may not read there, that the app in `root` cannot be read: an admin's install made
 * under a private umask (077 makes the app folder 0700), or a version folder only its owner may read. verify and where
 * had said "not installed" (or "no completion marker") about an app installed and intact there.
 */
function refuseUnreadable(root: string, err: unknown): void {
  const { code, path, message } = err as NodeJS.ErrnoException;
  if (code !== 'EACCES' && code !== 'EPERM') return;
  throw new UserError({
    what: `cannot read the desktop app in ${root}`,
    why: `${path ?? root}: ${message}: this user may not read that folder`,
    fix: `ask whoever installed it there to let other users read it (${letEveryoneReadCommand(process.platform, root, true)}), or set AO_APP_DIR (or pass --dir) to a folder of your own and run ao-app install`,
    code: 'EAPPDISK',
    cause: err,
  });
}

/**
 * The version's completion marker, with another user's folder this user may not read said so (refuseUnreadable), not taken
 * for none. In a version folder of this user's own, a marker it may not read (mode 000) is damage, which install repairs:
 * it had been told to ask whoever installed it there.
 */
async function readableMarker(root: string, dir: string): Promise<Marker | undefined> {
  await access(join(dir, COMPLETION_MARKER), constants.R_OK).catch(async (err: unknown) => {
    if ((await stat(dir).catch(() => undefined))?.uid !== process.getuid?.()) refuseUnreadable(root, err);
  });
  return readMarker(dir);
}

const CURRENT_LINK_TAG = 'link';
const EXEC_PROBE = '.exec-probe';

/**
 * The temporary names of steps a killed run left: `current`'s next link (or Windows' `current.json`), the
 * remembered keys and the download's resume sidecar (rewritten at every attempt), killed before their rename, and
 * the noexec probe. Called under the lock, so no live run owns one.
 */
async function sweepKilledSteps(root: string): Promise<void> {
  const versions = join(root, 'versions');
  const startsWith = (prefix: string) => (name: string) => name.startsWith(prefix);
  const leftovers = [
    [root, startsWith(tempSiblingPrefix(join(root, 'current'), CURRENT_LINK_TAG))],
    [root, startsWith(tempSiblingPrefix(join(root, 'current.json')))],
    [root, startsWith(tempSiblingPrefix(join(root, TRUST_FILE)))],
    [versions, startsWith(tempSiblingPrefix(join(versions, EXEC_PROBE), 'probe'))],
    [join(root, 'downloads'), isSidecarTempName],
  ] as const;
  for (const [dir, left] of leftovers) {
    for (const name of await readdir(dir).catch(() => [] as string[])) if (left(name)) await rm(join(dir, name), { force: true });
  }
  // Beside the file a linked store points to, which another app folder's store may share: only a dead writer's.
  const trustStore = await trustStoreFile(root);
  if (dirname(trustStore) !== root) removeKilledTempSiblings(trustStore);
}

async function switchCurrent(root: string, name: string): Promise<void> {
  if (process.platform === 'win32') {
    await writeJsonAtomic(join(root, 'current.json'), { version: name });
    return;
  }
  const tmp = tempSibling(join(root, 'current'), CURRENT_LINK_TAG);
  try {
    await symlink(join('versions', name), tmp);
    await renameWithRetry(tmp, join(root, 'current'));
  } catch (err) {
    // A folder in place of `current`, a full disk: the command says so; no stray link is left.
    await rm(tmp, { force: true });
    throw err;
  }
}

/**
 * `current` is ao-app's link to the installed version: anything else there (a user's file or folder, in an AO_APP_DIR
 * or --dir that already held one) is never replaced or removed; the command stops before it changes anything.
 */
async function refuseForeignCurrent(root: string, command: 'install' | 'remove'): Promise<void> {
  if (process.platform === 'win32') return;
  const path = join(root, 'current');
  const info = await lstat(path).catch(() => undefined);
  if (!info || info.isSymbolicLink()) return;
  const kind = info.isDirectory() ? 'a folder' : 'a file';
  throw new UserError({
    what: `cannot ${command} the desktop app ${command === 'install' ? 'into' : 'from'} ${root}`,
    why: `${path} is ${kind} ao-app did not make (it keeps a link to the installed version there); nothing was changed`,
    fix: `${kind} is in the way where ao-app keeps its link: move it away, or set AO_APP_DIR (or pass --dir) to a folder of its own, then run ao-app ${command} again`,
    code: 'EAPPDISK',
  });
}

/** `path`, or the nearest folder above it that exists, when that is a link whose target does not exist. */
async function danglingLinkAt(path: string): Promise<string | undefined> {
  for (let at = path; ; at = dirname(at)) {
    const info = await lstat(at).catch(() => undefined);
    if (info) return info.isSymbolicLink() && !(await stat(at).catch(() => undefined)) ? at : undefined;
    if (dirname(at) === at) return undefined;
  }
}

/**
 * The app folder, or `versions` or `downloads` in it, linked to another disk (a user who moved the app off a half-full
 * laptop disk) that is not there now (unplugged, not mounted): said so, where mkdir's ENOENT had said to check that the
 * folder is writable, and the app folder's own link ENOTDIR, "a file is in the way: move it away".
 */
async function refuseMissingLinkedFolders(root: string): Promise<void> {
  const rootLink = await danglingLinkAt(root);
  const links = rootLink ? [rootLink] : [];
  for (const name of ['versions', 'downloads']) {
    const path = join(root, name);
    if ((await lstat(path).catch(() => undefined))?.isSymbolicLink() && !(await stat(path).catch(() => undefined))) links.push(path);
  }
  const link = links[0];
  if (link === undefined) return;
  const target = resolve(dirname(link), await readlink(link));
  const instead = link === rootLink ? `to install the app afresh in ${link}` : `to keep the app in ${root} itself`;
  throw new UserError({
    what: `cannot install the desktop app into ${root}`,
    why: `${link} is a link to ${target}, which does not exist (a disk not connected or not mounted?)`,
    fix: `connect or mount the disk holding ${target}, or remove the link (${removeCommandFor(process.platform, link, 'link')}) ${instead}, then run ao-app install again`,
    code: 'EAPPDISK',
  });
}

/**
 * A file system mounted noexec (a hardened /home, a USB stick, a /tmp) takes the app's bytes but never runs them: the
 * AppImage, and ao start's launch of it, fail with EACCES. An executable probe file there tells, before any download.
 */
async function refuseNoExec(versions: string): Promise<void> {
  if (process.platform === 'win32') return;
  const probe = tempSibling(join(versions, EXEC_PROBE), 'probe');
  await writeFile(probe, '');
  try {
    // chmod, not writeFile's mode: a umask must not take the probe's x bits and pass for noexec.
    await chmod(probe, 0o755);
    await access(probe, constants.X_OK);
  } catch {
    throw noExecError(versions);
  } finally {
    await rm(probe, { force: true });
  }
}

/** An installed app's first executable file, checked as the kernel will run it: X_OK fails on a noexec mount, for root too. */
async function refuseNoExecApp(versionDir: string, marker: Marker, versions: string): Promise<void> {
  if (process.platform === 'win32') return;
  for (const entry of marker.entries) {
    if (entry.type !== 'file') continue;
    const full = join(versionDir, entry.path);
    // One anyone may run: an admin's 0700 file refuses other users whatever the mount, which is no noexec.
    if (((await stat(full)).mode & 0o001) === 0) continue;
    await access(full, constants.X_OK).catch(() => {
      throw noExecError(versions);
    });
    return;
  }
}

function noExecError(versions: string): UserError {
  return new UserError({
    what: `cannot install the desktop app into ${versions}`,
    why: 'its file system does not let programs run from it (mounted noexec): the app would be installed but could never start',
    fix: 'set AO_APP_DIR (or pass --dir) to a folder on a file system that allows programs to run, like one in your home folder, then run ao-app install again',
    code: 'EAPPDISK',
  });
}

/**
 * Another platform's app (`--target`, fetched for another machine) installed into a folder whose current app is of
 * another target would become `current` there, and the app this machine runs would be deleted with the old versions.
 */
async function refuseReplacingHostApp(root: string, targetId: string, current: string | undefined): Promise<void> {
  if (targetId === hostTargetId() || current === undefined) return;
  const installed = (await readMarker(current))?.target;
  if (installed === undefined || installed === targetId) return;
  throw new UserError({
    what: `cannot install the desktop app for ${targetId} into ${root}`,
    why: `that folder holds the app for ${installed}, which installing another platform's app there would replace and delete; nothing was changed`,
    fix: `to fetch the app for ${targetId} (for another machine), pass --dir with a folder of its own, like --dir ./ao-app-${targetId}`,
    // Not EAPPTARGET: the cutover reads that as "no app for this platform" and skips the step.
    code: 'EAPPDIR',
  });
}

/** Removes half-written versions and staging folders (no marker), never the current one; what cannot go yet stays (removeOrLeave). */
async function sweep(root: string, keep: Set<string>): Promise<void> {
  const versions = join(root, 'versions');
  for (const name of await readdir(versions).catch(() => [] as string[])) {
    const dir = join(versions, name);
    if (keep.has(dir)) continue;
    if (!isVersionFolderName(name)) continue;
    // One Windows still holds (a half-written version's program running) goes on a later install, unreported: it is no app.
    if (name.startsWith('.staging-') || !(await readMarker(dir))) await removeOrLeave(dir);
  }
}

/**
 * Removes a version folder that is not current, or adds it to `leftBehind` with why it cannot go yet: Windows refuses to
 * delete a running program's files (the old app still open during an update). The install had failed after its commit,
 * exit 1 with a fix about permissions and its key rotation unrecorded, and every install after it the same while that app
 * ran. The next install removes what is left. Any other failure (EACCES, EIO on Linux) stays until someone acts, so it is
 * thrown, naming the folder: left behind too, it had been "the next ao-app install removes it", exit 0, for good.
 */
async function removeOrLeave(dir: string, leftBehind: NonNullable<InstallResult['leftBehind']> = []): Promise<void> {
  try {
    await removeTree(dir);
  } catch (err) {
    if (!isFileSystemError(err) || !inUseOnWindows(err)) throw err;
    leftBehind.push({ path: dir, why: err.message });
  }
}

/**
 * versions/ and downloads/, private whatever the umask (000 made them anyone's, and the next install refused its own
 * folders), and checked once they exist: a folder someone else made in between is refused, not used.
 */
async function makeAppFolders(root: string): Promise<void> {
  await makeFolderLevels(join(root, 'versions'));
  await makeFolderLevels(join(root, 'downloads'));
  await refuseFolderOthersCanWrite(root, 'install');
}

/** The installer's lock file in the app folder `root`. */
const lockFile = (root: string) => join(root, '.lock');

/**
 * The lock file could not be made for want of an inode (`df -i` at 100%, bytes maybe free). No other ao-app holds `root`
 * then (its lock file would be there: EEXIST), and none can take it until something frees an inode.
 */
function noRoomForLock(err: unknown, root: string): boolean {
  const { code, syscall, path } = err as NodeJS.ErrnoException;
  return DISK_FULL.has(code ?? '') && syscall === 'open' && path === lockFile(root);
}

/** A lock that could not be taken for want of the right to write the folder, or of an inode for it: what only reads goes on without it. */
function readableWithoutLock(err: unknown, root: string): boolean {
  return CANNOT_WRITE.has((err as NodeJS.ErrnoException).code ?? '') || noRoomForLock(err, root);
}

/**
 * The installer's lock on `root`, waiting up to `waitMs`; `onWait` is told once, in words, when another ao-app holds it.
 * `needsNoSpace`: install (with nothing to do, it writes nothing), verify (it reads) and remove (it frees space) take it
 * on a full disk too, where they had failed writing it, "free some space there", about the command that would have.
 */
function lockAppRoot(
  root: string,
  waitMs: number,
  onWait?: (message: string) => void,
  { signal, needsNoSpace = false }: { signal?: AbortSignal; needsNoSpace?: boolean } = {},
): Promise<Lock> {
  const lockPath = lockFile(root);
  return acquireLock(lockPath, {
    purpose: 'the desktop app installer',
    waitMs,
    signal,
    emptyOnFullDisk: needsNoSpace,
    onWait: (holder) => onWait?.(`waiting for another ao-app (${holder}) to finish: it holds ${lockPath}`),
  });
}

export async function installApp(options: InstallOptions): Promise<InstallResult> {
  const manifest = validateAppManifest(options.manifest);
  const targetId = options.target ?? hostTargetId();
  const target = pickTarget(manifest, targetId);
  const root = resolve(options.root ?? defaultRoot());
  if (target.format === 'exe' && process.platform !== 'win32') await runWindowsInstaller(''); // refuses, before any download
  const versionDir = versionFolder(root, manifest.version, targetId);
  const name = basename(versionDir);
  await refuseRootInOthersFolder([root, options.stateDir], 'install');
  await refuseMissingLinkedFolders(root);
  let lock: Lock;
  try {
    await makeAppFolders(root);
    // Held as an empty file on a disk with no byte left, as verify holds it: an app installed and intact there needs nothing
    // written, and anything else is refused by the disk check below, with the space it needs.
    lock = await lockAppRoot(root, options.lockWaitMs ?? 15 * 60_000, (message) => options.progress?.waiting(message), {
      signal: options.signal,
      needsNoSpace: true,
    });
  } catch (err) {
    // A folder this user may not write (an admin's install, a disk mounted read-only), or a disk with no inode left for the
    // lock file: the release asked for, current there and intact, needs no change and no lock, as verify reads it. It had
    // failed with EACCES (or ENOSPC) on the lock, exit 1, about an app it only had to check (`ao update` runs this for each
    // user). Anything else to do there still needs the folder, and the room.
    if (!readableWithoutLock(err, root)) throw err;
    // Anything but this release, current there, still needs the folder: said at once, before any hashing.
    const done = await readMarker(versionDir);
    if ((await currentVersionDir(root)) !== versionDir || done?.integrity !== target.integrity) throw err;
    // What verify says of it (damaged or not).
    const found = await verifyInstalled(root, target);
    if (found.path !== versionDir || found.otherRelease) throw err;
    checkEntryTrust(manifest, targetId, target, options.trustedKeys ?? pinnedKeys(), await rememberedTrust(root));
    // Said as the damage it is (the file, who can mend it), not only as the lock this user may not take. With no inode left
    // the folder may well be this user's own: what stops the repair is the disk, not whoever installed it.
    if (!found.ok)
      throw new UserError({
        ...(noRoomForLock(err, root)
          ? {
              what: `the desktop app ${manifest.version} in ${root} is damaged, and its disk has no inode left to repair it`,
              fix: `free some inodes on that disk (df -i shows them at 100%: delete some files there), then run ao-app install again`,
            }
          : {
              what: `the desktop app ${manifest.version} in ${root} is damaged, and this user may not write there to repair it`,
              fix: `ask whoever installed it to run ao-app install there (it repairs the app), or set AO_APP_DIR (or pass --dir) to a folder you own and run ao-app install again`,
            }),
        why: `${found.problems.join('; ')}; ${(err as Error).message}`,
        code: 'EAPPDAMAGED',
        cause: err,
      });
    // The probe install makes needs a write; a disk since mounted ro,noexec holds an app that could never start.
    await refuseNoExecApp(versionDir, done, join(root, 'versions'));
    const aoStart = await pointAoStartAt(options, target, root, versionDir, done, manifest.version);
    return { status: 'already-installed', version: manifest.version, target: targetId, path: versionDir, resumedFrom: 0, fetched: 0, ...aoStart };
  }
  try {
    // Again under the lock: a remove that held it while this install waited deleted versions/ and downloads/ at its end.
    await makeAppFolders(root);
    // The signature over this entry, against keys from outside the manifest, before a byte is fetched. Under the
    // lock: the remembered keys are read after any other install wrote its own (two first installs at once would
    // otherwise both trust their key).
    await refuseForeignCurrent(root, 'install');
    await refuseNoExec(join(root, 'versions'));
    const trustChange = checkEntryTrust(manifest, targetId, target, options.trustedKeys ?? pinnedKeys(), await rememberedTrust(root));
    const current = await currentVersionDir(root);
    await refuseReplacingHostApp(root, targetId, current);
    await sweepKilledSteps(root);
    await sweep(root, new Set([current ?? '']));
    const done = await readMarker(versionDir);
    // Installed, and still intact: every file re-hashed (~0.4 s for the real app). A version whose files were deleted or
    // changed since (an antivirus, a disk error) is installed again below, never reported as installed.
    if (done?.integrity === target.integrity && (await entryProblems(versionDir, done)).length === 0) {
      // Committed by a run killed before its pointer switch: finish that run's work.
      if (current !== versionDir) await switchCurrent(root, name);
      const aoStart = await pointAoStartAt(options, target, root, versionDir, done, manifest.version);
      // Any other complete version is a leftover (an upgrade killed after its commit, then this one kept): the
      // whole unpacked app would otherwise stay on the disk for good.
      const leftBehind = await sweepOld(root, versionDir);
      // A run killed after its commit left this artifact's verified download behind: it is not needed any more
      // (a partial of another release's artifact under the same name is left to resume).
      const artifact = join(root, 'downloads', target.file);
      if ((await usablePartialSize(artifact, target.size, target.integrity)) > 0) await discardPartial(artifact);
      // An intact app on a full disk is "already installed" (the lock is held empty there): a pinned key it only remembers
      // waits for a run with room, where it had ended in ENOSPC, exit 1.
      await applyTrustChange(root, trustChange).catch((err: NodeJS.ErrnoException) => {
        if (!trustChange.deferrable || !DISK_FULL.has(err.code ?? '')) throw err;
      });
      return {
        status: 'already-installed',
        version: manifest.version,
        target: targetId,
        path: versionDir,
        resumedFrom: 0,
        fetched: 0,
        ...aoStart,
        ...leftBehind,
      };
    }

    const artifact = join(root, 'downloads', target.file);
    const have = await usablePartialSize(artifact, target.size, target.integrity);
    // An unfinished download of another release, under this name or another, is never resumed: discarded before the
    // disk is measured, so its bytes (most of the app, after an interrupted upgrade) count as free.
    if (have === 0) await discardPartial(artifact);
    await discardOtherDownloads(artifact);
    const becomesApp = downloadBecomesApp(target.format);
    const short = await shortOfSpace(root, target.size - have, target.unpackedSizeLimit, becomesApp, options.freeSpace ?? freeBytes);
    if (short) {
      throw new UserError({
        what: 'not enough disk space for the desktop app',
        why: `${short.dir} has ${short.free} bytes free; ${short.what} ${short.need}`,
        fix: `free at least ${short.need - short.free} bytes there, or set AO_APP_DIR to a folder on a larger disk, then run ao-app install again`,
        code: 'ENOSPC',
      });
    }

    const got = await download({
      urls: target.urls,
      dest: artifact,
      size: target.size,
      integrity: target.integrity,
      progress: options.progress,
      dispatcher: options.dispatcher,
      retries: options.retries,
      stallTimeoutMs: options.stallTimeoutMs,
      deadlineMs: options.deadlineMs,
      backoffBaseMs: options.backoffBaseMs,
      signal: options.signal,
      fromBaseUrl: Boolean(process.env.AO_APP_BASE_URL), // pickTarget made the URLs from it
    });
    await options.checkpoint?.('downloaded');
    // Again now that the download is done: minutes passed and something else may have filled the disk.
    const unpackDir = join(root, 'versions');
    const freeNow = await (options.freeSpace ?? freeBytes)(unpackDir);
    if (freeNow < target.unpackedSizeLimit && !(becomesApp && (await oneDisk(root)))) {
      throw new UserError({
        what: 'not enough disk space to unpack the desktop app',
        why: `${unpackDir} has ${freeNow} bytes free after the download; unpacking needs up to ${target.unpackedSizeLimit} (the verified download is kept)`,
        fix: `free at least ${target.unpackedSizeLimit - freeNow} bytes there, then run ao-app install again: it unpacks without downloading again`,
        code: 'ENOSPC',
      });
    }

    const staging = join(root, 'versions', `.staging-${name}-${process.pid}`);
    await removeTree(staging);
    // Until the commit below starts: a removal racing the rename would delete the new version, not its staging.
    const keepStaging = removeIfInterrupted(staging);
    let marker: Marker;
    try {
      const midway = options.checkpoint && (() => options.checkpoint!('unpacking'));
      const entries = await extractArtifact(
        target.format,
        partialPath(artifact),
        staging,
        target.unpackedSizeLimit,
        target.file,
        target.integrity,
        true,
        midway,
      );
      checkOpenableApp(targetId, target.format, partialPath(artifact), entries);
      marker = {
        version: manifest.version,
        target: targetId,
        integrity: target.integrity,
        installedAt: new Date().toISOString(),
        entries,
      };
      // At the install's peak: the unpack's garbage collected first, no copy of the ~3,000 entries (the
      // key list picks each entry's fields for the marker), and on one line (pretty-printed doubles it).
      settle();
      // Not flushed, like the unpacked files it lists: one a power cut emptied reads as no marker (the version is
      // installed again), and a flush here cost 40 to 80 ms on a journaled ext4 (strace -T: the journal commit of every new file).
      await writeFileAtomic(join(staging, COMPLETION_MARKER), JSON.stringify(marker, MARKER_KEYS), undefined, { durable: false });
      await options.checkpoint?.('extracted');
      keepStaging();
      // A copy of this version in place (a damaged one being repaired, or the same version released again) is moved
      // aside, whole, and deleted only once `current` and app-state.json name the new one (sweepOld). Deleted in place,
      // it had left them naming a half-deleted app for as long as that took (for good after a Ctrl-C or a failed rmdir),
      // which ao start replaces with an unverified download.
      const replaced = await moveAside(versionDir, join(root, 'versions', `.staging-${name}-${process.pid}-replaced`));
      // No fsync per unpacked file (~3,000 for an Electron app): the marker and this rename are the commit
      // point, and a SIGKILL keeps the page cache, so a killed run never commits a version missing bytes.
      // A power cut before the kernel writes them back can (as after unzip); `ao-app verify` names such a file.
      // Nor of the folders, except before app-state.json points at the new version (pointAoStartAt): on one disk a
      // journaling file system commits this rename, `current`'s link and the old versions' removal in order.
      try {
        await renameWithRetry(staging, versionDir);
      } catch (err) {
        if (replaced) await renameWithRetry(replaced, versionDir).catch(() => undefined);
        throw err;
      }
    } catch (err) {
      keepStaging();
      // Whatever failed before the commit (the unpack, the marker on a full disk, the rename), the unpacked
      // tree (254 MB for the real app) does not stay behind on a disk that may be full.
      await removeTree(staging);
      // An unsafe archive is never worth keeping; a full disk keeps the verified download for the next run.
      if (err instanceof UserError && err.code === 'EUNSAFEARCHIVE') await discardPartial(artifact);
      throw err;
    }
    await options.checkpoint?.('committed');
    await switchCurrent(root, name);
    // ao start is told before the old version goes: a run ending during the sweep (Ctrl-C, a full battery, a failed
    // rmdir) must not leave app-state.json naming a deleted app, which ao start replaces with an unverified download.
    const aoStart = await pointAoStartAt(options, target, root, versionDir, marker, manifest.version);
    // The new version is complete and current: only now do older ones go.
    const leftBehind = await sweepOld(root, versionDir);
    await discardPartial(artifact);
    await applyTrustChange(root, trustChange);
    options.progress?.finish(`installed ${manifest.version} for ${targetId}`);
    return {
      status: 'installed',
      version: manifest.version,
      target: targetId,
      path: versionDir,
      resumedFrom: got.resumedFrom,
      fetched: got.fetched,
      ...aoStart,
      ...leftBehind,
    };
  } finally {
    await lock.release();
  }
}

/** The app `ao start` should open, from the installed entries (a top-level .app, the AppImage) or the Windows installer. */
async function pointAoStartAt(
  options: InstallOptions,
  target: AppTarget,
  root: string,
  versionDir: string,
  marker: Marker,
  version: string,
): Promise<Pick<InstallResult, 'appPath' | 'appState'>> {
  let app: string | undefined;
  if (target.format === 'AppImage') app = join(versionDir, target.file);
  else if (target.format === 'exe') app = await runWindowsInstaller(join(versionDir, target.file));
  else {
    const bundle = topLevelBundle(marker.entries);
    if (bundle) app = join(versionDir, bundle);
  }
  if (!app || options.stateDir === undefined) return { appPath: app };
  // app-state.json is flushed (ao start replaces an app it names but cannot find with an unverified download), so
  // the rename that made `app` exist is flushed before it: with `versions` on another disk than ~/.ao, or a file
  // system that flushes only the file asked for (btrfs), a power cut could keep the pointer and lose the folder.
  fsyncDir(join(root, 'versions'));
  try {
    return { appPath: app, appState: await recordAppState(app, version, { dir: options.stateDir, replacing: join(root, 'versions') }) };
  } catch (cause) {
    const what = 'the desktop app is installed, but ao start cannot be told where';
    const again = 'then run ao-app install again (it does not download again)';
    // A full disk (or quota) is the disk's to fix, not the folder's permissions.
    if (DISK_FULL.has((cause as NodeJS.ErrnoException).code ?? ''))
      throw new UserError({
        what,
        why: `${join(options.stateDir, 'app-state.json')}: ${(cause as Error).message}`,
        fix: `free some space on the disk holding ${options.stateDir} (${freeSpaceCheck(options.stateDir)}), ${again}`,
        code: 'ENOSPC',
        cause,
      });
    throw new UserError({
      what,
      why: `writing ${join(options.stateDir, 'app-state.json')} failed: ${(cause as Error).message}`,
      fix: `${stateWriteFix(cause as NodeJS.ErrnoException, options.stateDir)}, ${again}`,
      code: 'EAPPSTATE',
      cause,
    });
  }
}

/**
 * What to do when app-state.json cannot be written in `stateDir` (~/.ao, or the folder of AO_RUN_FILE): move away what is in
 * the way, or make that folder writable. It had said "make ~/.ao writable" whatever the cause and wherever the marker goes.
 * Not common/file-system-error.ts's fixes: those name no path and send the user to AO_APP_DIR or --dir, which do not move
 * app-state.json.
 */
function stateWriteFix(err: NodeJS.ErrnoException, stateDir: string): string {
  const at = err.path ?? stateDir;
  if (err.code === 'EISDIR') return `a folder is in the way at ${join(stateDir, 'app-state.json')}: move it away`;
  if (err.code === 'ENOTDIR' || err.code === 'EEXIST') return `a file is in the way at ${at}, where a folder should be: move it away`;
  return `make ${stateDir} writable for this user`;
}

/** Renames `dir` to `aside` (a name sweep and sweepOld remove); undefined when there was no `dir`. */
async function moveAside(dir: string, aside: string): Promise<string | undefined> {
  await removeTree(aside);
  try {
    await renameWithRetry(dir, aside);
    return aside;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Removes every version but `keep`, and what a repair moved aside (`.staging-*` names). */
async function sweepOld(root: string, keep: string): Promise<Pick<InstallResult, 'leftBehind'>> {
  const versions = join(root, 'versions');
  const leftBehind: NonNullable<InstallResult['leftBehind']> = [];
  for (const name of await readdir(versions)) {
    const dir = join(versions, name);
    if (dir !== keep && isVersionFolderName(name)) await removeOrLeave(dir, leftBehind);
  }
  return leftBehind.length > 0 ? { leftBehind } : {};
}

/** Removes what ao-app made in `dir` (names `ours` accepts), then `dir` itself if nothing else is left in it; whether it removed any. */
async function removeOurs(dir: string, ours: (name: string) => boolean): Promise<boolean> {
  let any = false;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!ours(name)) continue;
    await removeTree(join(dir, name));
    any = true;
  }
  await rmdir(dir).catch((err: NodeJS.ErrnoException) => {
    // Gone, still holding someone else's files, or a link to a folder elsewhere (kept as the user made it).
    if (!['ENOENT', 'ENOTEMPTY', 'EEXIST', 'ENOTDIR'].includes(err.code ?? '')) throw err;
  });
  return any;
}

/** The installed app folder `current` points to, when it is complete. */
export async function appPath(root = defaultRoot()): Promise<string | undefined> {
  root = resolve(root);
  const dir = await currentVersionDir(root);
  return dir && (await readableMarker(root, dir)) ? dir : undefined;
}

/**
 * Files up to this size are read and hashed with synchronous calls into one scratch buffer, as the unpacker
 * writes them (common/zip-small-entries.ts): streamed, each file cost a 1 MiB read buffer and a few trips
 * through libuv's pool, and verify took 8-9 s for 10,000 small files (installer/app/README.md, Steps).
 */
const SMALL_FILE = 256 << 10;

/** Synchronous for the same reason as digestSmallFile: one lstat per installed entry. The error's code when it fails. */
function lstatOrCode(full: string): Stats | string {
  try {
    return lstatSync(full);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? 'EIO';
  }
}

/**
 * An entry this user cannot read (a file of mode 000, a folder it may not list, a disk error) is damage install repairs:
 * as a file-system error it had ended verify and install alike, "make that folder writable", and the app stayed broken.
 */
const unreadable = (path: string, code: string) => `${path} cannot be read (${code})`;

/** A small file's digest; `scratch` holds SMALL_FILE bytes, reused for every file. */
function digestSmallFile(full: string, algorithm: DigestAlgorithm, scratch: Buffer): string {
  const hash = createHash(algorithm);
  const fd = openSync(full, 'r');
  try {
    for (let n = readSync(fd, scratch, 0, scratch.length, null); n > 0; n = readSync(fd, scratch, 0, scratch.length, null)) hash.update(scratch.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return integrityOfHash(hash, algorithm);
}

/** A file whose size matches, re-hashed with the algorithm its recorded digest names (sha256 for unpacked files, sha512 for a single-file app). */
async function fileDigestProblems(full: string, path: string, size: number, integrity: string | undefined, scratch: Buffer): Promise<string[]> {
  const algorithm = integrity === undefined ? undefined : algorithmOf(integrity);
  if (!algorithm) return [`${path} has no recorded digest (installed by an older ao-app)`];
  let actual: string;
  try {
    actual = size <= SMALL_FILE ? digestSmallFile(full, algorithm, scratch) : (await digestFile(full, algorithm)).integrity;
  } catch (err) {
    if (!isFileSystemError(err)) throw err;
    return [unreadable(path, err.code!)];
  }
  if (actual !== integrity) return [`${path} differs from the file installed (${algorithm} mismatch)`];
  return [];
}

export interface AppVerification {
  ok: boolean;
  path?: string;
  /** What is wrong with the installed files themselves (missing, changed, no marker): empty when each is as installed. */
  problems: string[];
  /** The release installed, when it is not the manifest's for this target (intact or not). */
  otherRelease?: { version: string; target: string };
}

/** Checks the current install against the manifest and its own marker: every entry present, every file re-hashed, every link's target. */
export async function verifyApp(options: {
  manifest: AppManifest | unknown;
  target?: string;
  root?: string;
  /** How long to wait for an install or remove in progress. */
  lockWaitMs?: number;
  /** Told once when an install or remove in progress makes verify wait. */
  onLockWait?: (message: string) => void;
}): Promise<AppVerification> {
  const manifest = validateAppManifest(options.manifest);
  const targetId = options.target ?? hostTargetId();
  const target = pickTarget(manifest, targetId);
  const root = resolve(options.root ?? defaultRoot());
  if (!(await stat(root).catch(() => undefined))) return { ok: false, problems: ['the desktop app is not installed'] };
  // Under the installer's lock: a remove or an install's switch and sweep in progress is not damage.
  let lock: Lock | undefined;
  try {
    lock = await lockAppRoot(root, options.lockWaitMs ?? 60_000, options.onLockWait, { needsNoSpace: true });
  } catch (err) {
    // A folder this user may not write (an admin's install, a read-only disk), or no inode left for the lock file: verify
    // only reads, so it reads it as it is.
    if (!readableWithoutLock(err, root)) throw err;
  }
  try {
    return await verifyInstalled(root, target);
  } finally {
    await lock?.release();
  }
}

async function verifyInstalled(root: string, target: AppTarget): Promise<AppVerification> {
  const dir = await currentVersionDir(root);
  if (!dir) return { ok: false, problems: ['the desktop app is not installed'] };
  await refuseFolderOthersCanWrite(root, 'verify', dir);
  const marker = await readableMarker(root, dir);
  if (!marker) return { ok: false, path: dir, problems: [`${dir} has no completion marker (or one that is not a marker)`] };
  const problems = await entryProblems(dir, marker);
  if (marker.integrity === target.integrity) return { ok: problems.length === 0, path: dir, problems };
  return { ok: false, path: dir, problems, otherRelease: { version: marker.version, target: marker.target } };
}

/** Every marker entry checked on disk: present, of its type, each file and hardlink re-hashed, each link's target. */
async function entryProblems(dir: string, marker: Marker): Promise<string[]> {
  const problems: string[] = [];
  const scratch = Buffer.allocUnsafe(SMALL_FILE);
  for (const e of marker.entries) {
    const full = join(dir, e.path);
    const info = lstatOrCode(full);
    if (typeof info === 'string') problems.push(info === 'ENOENT' || info === 'ENOTDIR' ? `${e.path} is missing` : unreadable(e.path, info));
    // What the group or others may rewrite proves nothing once verified (install never makes one: archive-write.ts).
    else if (process.platform !== 'win32' && !info.isSymbolicLink() && (info.mode & OTHERS_WRITE) !== 0)
      problems.push(`${e.path} can be written by other users (mode ${(info.mode & 0o777).toString(8)})`);
    else if (e.type === 'symlink') {
      if (!info.isSymbolicLink()) problems.push(`${e.path} is no longer a symlink`);
      else if (e.link !== undefined && (await readlink(full)) !== e.link) problems.push(`${e.path} now points to ${await readlink(full)}, not ${e.link}`);
    } else if (e.type === 'file' || e.type === 'hardlink') {
      // A hardlink is recorded with its target's size and digest: re-hashed like any file.
      if (!info.isFile()) problems.push(`${e.path} is no longer a file`);
      else if (info.size !== e.size) problems.push(`${e.path} has ${info.size} bytes, expected ${e.size}`);
      else problems.push(...(await fileDigestProblems(full, e.path, e.size, e.integrity, scratch)));
    }
  }
  problems.push(...treeProblems(dir, marker));
  return problems;
}

/**
 * A name as the file system tells it apart: in NFC on macOS, whose file systems fold NFC and NFD into one name (HFS+ stores
 * NFD whatever the archive spelled; the plan refuses two names that differ only so). Elsewhere as stored: on ext4 they are
 * two names, and an NFD twin added beside a release file had been taken for that file.
 */
const asStored = (name: string) => (process.platform === 'darwin' ? name.normalize('NFC') : name);

/** Written by Finder into any folder someone looked at (an app's "Show Package Contents"): no change to the app. */
const FINDER_VIEW_SETTINGS = '.DS_Store';

/**
 * What is in the version folder but not in its marker, each added folder named once (not what it holds), and a folder of
 * the release that is no folder now (a link to a copy elsewhere, whose files hash as installed). Electron loads
 * `Resources/app/` before `app.asar`: a folder added there runs instead of the release, every installed file unchanged.
 */
function treeProblems(dir: string, marker: Marker): string[] {
  // Each entry's path and, as folders, every folder above it (an archive need not list its folders).
  const known = new Map<string, boolean>([[COMPLETION_MARKER, false]]);
  for (const e of marker.entries) {
    const path = asStored(cleanPath(e.path));
    known.set(path, known.get(path) === true || e.type === 'dir');
    for (let cut = path.lastIndexOf('/'); cut > 0; cut = path.lastIndexOf('/', cut - 1)) {
      const above = path.slice(0, cut);
      if (known.get(above) === true) break;
      known.set(above, true);
    }
  }
  const problems: string[] = [];
  const walk = (folder: string, prefix: string) => {
    let names: Dirent[];
    try {
      names = readdirSync(folder, { withFileTypes: true });
    } catch {
      return; // A folder that cannot be read is named by the entries in it (missing, or not readable).
    }
    for (const d of names) {
      if (d.name === FINDER_VIEW_SETTINGS) continue;
      const path = prefix + asStored(d.name);
      const isFolder = known.get(path);
      if (isFolder === undefined) problems.push(`${path} is not part of the release (added after it was installed)`);
      // Links are not followed (an app's own links to its folders lead back inside it). A file or link in place of a
      // release's file or link is named by its entry.
      else if (isFolder && d.isDirectory()) walk(join(folder, d.name), `${path}/`);
      else if (isFolder) problems.push(`${path} is no longer a folder`);
    }
  };
  walk(dir, '');
  return problems.sort();
}

/** A `current` pointer or a version folder in `root` (a half-written one too): something for remove to remove. */
async function holdsAnApp(root: string): Promise<boolean> {
  if (await lstat(join(root, process.platform === 'win32' ? 'current.json' : 'current')).catch(() => undefined)) return true;
  return (await readdir(join(root, 'versions')).catch(() => [] as string[])).some(isVersionFolderName);
}

/**
 * A second install of this machine's app (`--dir` elsewhere) that ao start was pointed at, removed: ao start is pointed
 * back at the install in the default folder when that holds this machine's app. Cleared, the pointer had left ao start
 * to download its own, unverified copy. Under that folder's lock, so no install or remove there is halfway; a lock held
 * longer than a few seconds leaves the pointer cleared, as before.
 */
async function pointBackAtDefault(removed: string, stateDir: string, onLockWait?: (message: string) => void): Promise<void> {
  // An AO_APP_DIR naming no folder (an address, bytes that are not UTF-8) has no install to point at; thrown here, it had
  // ended the remove of another folder after ao start's pointer was cleared, the app itself left in place.
  let main: string;
  try {
    main = resolve(defaultRoot());
  } catch {
    return;
  }
  // A default folder this user may not read (an admin's install under umask 077) is nothing to point at either: its refusal
  // (refuseUnreadable), thrown here, had ended the remove after the pointer was cleared, the app itself left in place.
  const installedIn = (root: string) => currentVersionDir(root).catch(() => undefined);
  // The default folder named another way (a link to it, or from it): the app just removed, whose lock this remove holds.
  if ((await physical(main)) === (await physical(removed)) || !(await installedIn(main))) return;
  // A wait is said (as the remove's own wait is): it had been 5 s of silence.
  const lock = await lockAppRoot(main, 5_000, onLockWait).catch(() => undefined);
  if (!lock) return;
  try {
    const dir = await installedIn(main);
    const marker = dir && (await readMarker(dir));
    if (!dir || !marker || marker.target !== hostTargetId()) return;
    // The marker names no format: a macOS `.app` at the top, or the Linux AppImage, named `.AppImage` as every release
    // names it (common/matrix.ts); a Windows installer is never what ao start opens from here.
    const app = topLevelBundle(marker.entries) ?? marker.entries.find((e) => e.type === 'file' && e.path.endsWith('.AppImage'))?.path;
    if (app) await recordAppState(join(dir, app), marker.version, { dir: stateDir, replacing: join(main, 'versions') });
  } finally {
    await lock.release();
  }
}

/** What a remove found to delete: an app (a version or `current`), and an unfinished download (which goes either way). */
export interface Removed {
  app: boolean;
  download: boolean;
}

/** `onLockWait`: told once when an install in progress makes the remove wait. */
export async function removeApp(root = defaultRoot(), stateDir?: string, onLockWait?: (message: string) => void): Promise<Removed> {
  root = resolve(root);
  await refuseRootInOthersFolder([root, stateDir], 'remove');
  // Nothing installed: nothing to lock either (the lock would make the folder, as root a root-owned one in a user's home).
  if (!(await stat(root).catch(() => undefined))) {
    if (stateDir !== undefined) await clearAppState(root, stateDir);
    return { app: false, download: false };
  }
  const lock = await lockAppRoot(root, 60_000, onLockWait, { needsNoSpace: true }).catch(async (err: unknown) => {
    // No inode left for the lock file, where removing the app (~3,000 files for the real one) is how they come back: the app's
    // own `current` link, which the remove deletes anyway, gives one back. The remove had said to free some space first.
    const current = join(root, 'current');
    if (!noRoomForLock(err, root) || !(await lstat(current).catch(() => undefined))?.isSymbolicLink()) throw err;
    await rm(current, { force: true });
    return lockAppRoot(root, 60_000, onLockWait, { needsNoSpace: true });
  });
  try {
    await refuseForeignCurrent(root, 'remove');
    const installed = await holdsAnApp(root);
    // ao start is told first: a remove ending inside the deletion (Ctrl-C, a failed rmdir) must not leave it naming what
    // is left of the app (a half-deleted .app it would open) or a deleted one (which it replaces with an unverified download).
    let download: boolean;
    const state = stateDir === undefined ? undefined : await clearAppState(root, stateDir, { mayWriteBack: true });
    try {
      if (stateDir !== undefined && state?.cleared) await pointBackAtDefault(root, stateDir, onLockWait);
      download = await deleteOurs(root);
    } catch (err) {
      // Also after a deletion that failed, or what the app recorded is lost; a write-back failing too is told with it.
      await state?.writeBack?.(err as Error);
      throw err;
    }
    await state?.writeBack?.();
    return { app: installed, download };
  } finally {
    await lock.release();
  }
}

/** What ao-app made in `root`, deleted; whether an unfinished download was among it. */
async function deleteOurs(root: string): Promise<boolean> {
  // Only this platform's pointer: a `current.json` on POSIX (or a `current` on Windows) is not ao-app's.
  await rm(join(root, process.platform === 'win32' ? 'current.json' : 'current'), { force: true });
  // Only what ao-app made: AO_APP_DIR (or --dir) may name a folder that already held a `versions` or `downloads` of its own.
  await removeOurs(join(root, 'versions'), isVersionFolderName);
  const download = await removeOurs(join(root, 'downloads'), isDownloadFileName);
  await sweepKilledSteps(root);
  return download;
}
