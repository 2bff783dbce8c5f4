import { absolutePath, homeDir, utf8Path } from '../../common/home.js';
import { open, readFile, realpath, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep, win32 } from 'node:path';
import semver from 'semver';
import { removeKilledTempSiblings, writeJsonAtomic } from '../../common/fs-atomic.js';
import { DISK_FULL, fileSystemFailure } from '../../common/file-system-error.js';
import { UserError } from '../../common/errors.js';
import { shellQuote } from '../../common/shell-quote.js';

/**
 * `~/.ao/app-state.json`, the marker the real `ao start` reads to find the
 * desktop app (before it would download 254 MB again, unverified). The app
 * writes it on every launch; `ao-app` writes it after a verified install so
 * `ao start` opens that app. Shape and place as the rewrite reads them:
 * `{schemaVersion, appPath, version, installedAt, lastReconciledAt, installSource}`,
 * beside running.json (the folder of AO_RUN_FILE when set, else ~/.ao).
 */
export const APP_STATE_FILE = 'app-state.json';
const INSTALL_SOURCE = 'ao-app';

export interface AppState {
  schemaVersion: number;
  appPath: string;
  version: string;
  installedAt: string;
  lastReconciledAt: string;
  installSource: string;
  [more: string]: unknown;
}

/** Where the rewrite keeps running.json, and so the marker. */
export function aoStateDir(env: NodeJS.ProcessEnv = process.env): string {
  // AO_RUN_FILE as the rewrite reads it: no `~` read, relative to the current folder (which may have been deleted).
  return utf8Path(env.AO_RUN_FILE ? dirname(absolutePath(env.AO_RUN_FILE, env.AO_RUN_FILE, 'AO_RUN_FILE')) : join(homeDir(env), '.ao'));
}

async function readAppState(dir = aoStateDir()): Promise<AppState | undefined> {
  try {
    const data = JSON.parse(await readFile(join(dir, APP_STATE_FILE), 'utf8')) as AppState;
    return data && typeof data === 'object' && typeof data.appPath === 'string' ? data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Writes the marker atomically (mode 0600, as the app writes it), first clearing the temp siblings
 * (common/fs-atomic.ts tempSibling, `.app-state.json.tmp-<pid>-…`) that an ao-app killed between write and
 * rename left in ~/.ao: nothing else ever removes them.
 */
async function writeMarker(dir: string, marker: object): Promise<void> {
  // ~/.ao is not ao-app's and no lock of ours covers it; the app's own temp names are its business.
  removeKilledTempSiblings(join(dir, APP_STATE_FILE));
  await writeJsonAtomic(join(dir, APP_STATE_FILE), marker, 0o600);
}

/** What `ao start` itself accepts: a directory on macOS (the .app), a regular file elsewhere. */
async function usable(path: string, platform: NodeJS.Platform): Promise<boolean> {
  const info = await stat(path).catch(() => undefined);
  if (!info) return false;
  return platform === 'darwin' ? info.isDirectory() : info.isFile();
}

export type RecordOutcome = { written: true; path: string } | { written: false; path: string; reason: string };

/**
 * Points the marker at the app just installed, atomically.
 * A marker the app wrote for a newer version that still exists is left alone: the app
 * updated itself and that copy is what the user runs. Fields we do not own (installedAt,
 * installSource, anything the app added) are kept.
 */
export async function recordAppState(
  appPath: string,
  version: string,
  options: { dir?: string; platform?: NodeJS.Platform; now?: Date; replacing?: string } = {},
): Promise<RecordOutcome> {
  const dir = options.dir ?? aoStateDir();
  const platform = options.platform ?? process.platform;
  const path = join(dir, APP_STATE_FILE);
  const existing = await readAppState(dir);
  // `replacing`: the folder of ao-app's own versions, which this install replaces (a newer one there is going back, not the app's self-update).
  const ours =
    options.replacing !== undefined && existing !== undefined && (await physical(existing.appPath)).startsWith((await physical(options.replacing)) + sep);
  if (existing && existing.appPath !== appPath && !ours) {
    const theirs = semver.valid(semver.coerce(existing.version));
    const ours = semver.valid(semver.coerce(version));
    if (theirs && ours && semver.gt(theirs, ours) && (await usable(existing.appPath, platform))) {
      return { written: false, path, reason: `it points at ${existing.appPath}, version ${existing.version}, newer than ${version}` };
    }
  }
  const now = (options.now ?? new Date()).toISOString();
  const marker: AppState = {
    ...existing,
    schemaVersion: existing?.schemaVersion ?? 1,
    appPath,
    version,
    installedAt: existing?.installedAt ?? now,
    lastReconciledAt: now,
    installSource: existing?.installSource ?? INSTALL_SOURCE,
  };
  try {
    await writeMarker(dir, marker);
  } catch (err) {
    // A disk with no byte left, and a marker that already names this app: only its reconcile time is not moved on.
    if (DISK_FULL.has((err as NodeJS.ErrnoException).code ?? '') && existing?.appPath === appPath && existing.version === version)
      return { written: false, path, reason: `the disk is full, and it already points at ${appPath}` };
    throw err;
  }
  return { written: true, path };
}

/** `path` with links resolved as far as it exists (the app it names may be deleted already): one spelling per place. */
export async function physical(path: string): Promise<string> {
  const full = resolve(path);
  const found = await realpath(full).catch(() => undefined);
  if (found !== undefined) return found;
  const parent = dirname(full);
  return parent === full ? full : join(await physical(parent), basename(full));
}

/**
 * Writes back what the app recorded in the marker, deleted while its app was (a copy-on-write disk with no byte left).
 * `deletionFailure`: the deletion's own error, told together with a write-back that fails too (else one of them is lost).
 */
export type WriteBack = (deletionFailure?: Error) => Promise<void>;

/**
 * Removes the marker when it points into `root`'s versions (the app `ao-app remove` just deleted); any other marker stays.
 * Compared with links resolved: installed as AO_APP_DIR=<a link> and removed by the real path (or the other way round),
 * a marker left naming the deleted app makes ao start fetch its own unverified download. `mayWriteBack`: the caller
 * deletes the app next and runs the `writeBack` returned (if any) after, also after a deletion that failed.
 */
export async function clearAppState(root: string, dir = aoStateDir(), { mayWriteBack = false } = {}): Promise<{ cleared: boolean; writeBack?: WriteBack }> {
  const existing = await readAppState(dir);
  if (!existing) return { cleared: false };
  // Inside its `versions`, where ao-app puts every app (and `versions` linked to another disk is followed): an app folder
  // deeper down (`remove --dir /opt` beside `--dir /opt/ao-app`) is another install, which had lost its marker.
  const inside = (await physical(existing.appPath)).startsWith((await physical(join(root, 'versions'))) + sep);
  if (!inside) return { cleared: false };
  // What the app recorded besides where it is (its legacy-import decision, `migration`) outlives this copy of it: an app
  // installed again later reads it. Kept with an appPath naming nothing, as the app itself writes a marker without an app.
  const { appPath, version, installedAt, lastReconciledAt, installSource, schemaVersion, ...theirs } = existing;
  if (Object.keys(theirs).length === 0) {
    // ~/.ao is not ao-app's and no lock of ours covers it; the app's own temp names are its business.
    removeKilledTempSiblings(join(dir, APP_STATE_FILE));
    await rm(join(dir, APP_STATE_FILE), { force: true });
    return { cleared: true };
  }
  const kept = { schemaVersion, appPath: '', version: '', ...theirs };
  try {
    await writeMarker(dir, kept);
    return { cleared: true };
  } catch (error) {
    const err = error as NodeJS.ErrnoException;
    // A full disk, where `ao-app remove` is how the app's space comes back (the remove had failed "free some space",
    // deleting nothing). The shorter record goes into the marker's own blocks, needing none. The rewrite had waited
    // for the app to be gone: with the app on another disk, nothing was freed and what the app recorded was lost.
    if (!mayWriteBack || !DISK_FULL.has(err.code ?? '')) throw err;
    const path = join(dir, APP_STATE_FILE);
    if (await overwriteInPlace(path, kept)) return { cleared: true };
    // Copy-on-write (btrfs, APFS) needs new blocks even so: the marker goes now, so ao start never names what is being
    // deleted, and is written back after, under any marker written meanwhile; only where deleting the app frees space
    // for it, else nothing is deleted.
    if ((await stat(dir)).dev !== (await stat(join(root, 'versions')).catch(() => stat(root))).dev)
      throw stateDiskFull(err, dir, 'then run ao-app remove again');
    await rm(path, { force: true });
    return { cleared: true, writeBack: (deletionFailure) => writeBackKept(dir, kept, deletionFailure) };
  }
}

/** `kept` written back under whatever marker was written meanwhile; a failure says so, with the command that does it. */
async function writeBackKept(dir: string, kept: object, deletionFailure?: Error): Promise<void> {
  const path = join(dir, APP_STATE_FILE);
  const marker = { ...kept, ...(await readAppState(dir)) };
  await writeMarker(dir, marker).catch((cause: NodeJS.ErrnoException) => {
    // printf, not echo: dash's and zsh's echo expand the backslashes of JSON's escapes (\n, \\), writing JSON no reader takes.
    const command = `printf '%s\\n' ${shellQuote(JSON.stringify(marker))} > ${shellQuote(path)}`;
    if (!deletionFailure) throw stateDiskFull(cause, dir, `then write it back: ${command}`);
    // Both told: the deletion's error alone had hidden that what the app recorded was lost.
    const failure = stateDiskFull(cause, dir, `then write it back (${command}) and run ao-app remove again`);
    throw new UserError({
      what: failure.what,
      why: `${failure.why}; and the desktop app was not removed completely: ${deletionFailure.message}`,
      fix: failure.fix,
      code: failure.code,
      cause: deletionFailure,
    });
  });
}

/**
 * Rewrites the marker in its own blocks with `value`, never longer than what it replaces (a subset of its fields): padded
 * with spaces to the old length, so a kill before the truncate leaves valid JSON. False where that write fails; once it
 * is written whole it is the marker (valid JSON, already read by ao start), whatever the truncate or the flush then say.
 */
async function overwriteInPlace(path: string, value: object): Promise<boolean> {
  const text = Buffer.from(JSON.stringify(value));
  const handle = await open(path, 'r+').catch(() => undefined);
  if (!handle) return false;
  try {
    const { size } = await handle.stat();
    if (text.length > size) return false;
    const padded = Buffer.alloc(size, ' ');
    text.copy(padded);
    // A short write is carried on: stopped there, new bytes followed by the old ones are no JSON.
    for (let at = 0; at < size; ) {
      const { bytesWritten } = await handle.write(padded, at, size - at, at);
      if (bytesWritten === 0) return false;
      at += bytesWritten;
    }
    await handle.truncate(text.length).catch(() => undefined);
    await handle.sync().catch(() => undefined);
    return true;
  } catch {
    return false;
  } finally {
    await handle.close();
  }
}

/** The disk holding ~/.ao (not the app's) is full: said so, with what to do then. */
function stateDiskFull(err: NodeJS.ErrnoException, dir: string, again: string): UserError {
  return fileSystemFailure(err, { what: `the disk holding ${dir} is full`, where: join(dir, APP_STATE_FILE), again });
}

/** Where the NSIS installer (`/S`, per-user) puts the app, as the rewrite's `ao start` looks for it. */
export function windowsInstalledApp(localAppData: string): string {
  return win32.join(localAppData, 'Programs', 'Agent Orchestrator', 'agent-orchestrator.exe');
}
